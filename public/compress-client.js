/**
 * The API as the page uses it: one file in, its compressed bytes and sizes out, whether the
 * server answers at once (200) or with a job (202) that is polled until it ends.
 */

/** The server's default `ASYNC_THRESHOLD_BYTES`: above it a request becomes a job anyway. */
export const DEFAULT_JOB_THRESHOLD_BYTES = 4 * 1024 * 1024;

/** Each error code's status, from the contract, so a failed job's error reads like a failed request's. */
const STATUS_OF_CODE = {
  missing_source: 400,
  invalid_param: 400,
  invalid_json: 400,
  invalid_url: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  gone: 410,
  file_too_large: 413,
  image_too_large: 413,
  unsupported_format: 415,
  fetch_failed: 422,
  invalid_image: 422,
  not_ready: 422,
  rate_limit_exceeded: 429,
  compression_failed: 500,
  internal_error: 500,
};

/** A request that did not give an image, in words: the server's message, its status and code. */
export class ApiFailure extends Error {
  constructor(message, { status, code, retryAfterSeconds } = {}) {
    super(message);
    this.name = 'ApiFailure';
    this.status = status;
    this.code = code;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  /** "415 unsupported_format: The file is not …", or the message alone for network failures. */
  describe() {
    const prefix = [this.status, this.code].filter(Boolean).join(' ');
    return prefix ? `${prefix}: ${this.message}` : this.message;
  }
}

/**
 * The form's choices as the contract's option fields. "original" and "auto" are both
 * `format=auto`; they differ in the Accept header (see acceptHeader).
 */
export function optionFields({ format, mode, quality, maxWidth }) {
  const fields = { format: format === 'original' ? 'auto' : format };
  if (mode === 'fixed') fields.quality = String(quality);
  else if (mode === 'lossless') fields.lossless = 'true';
  else fields.mode = mode;
  if (maxWidth) fields.max_width = String(maxWidth);
  return fields;
}

/** `format=auto` lets WebP and AVIF compete with the input's format only when Accept lists them. */
export const acceptHeader = ({ format }) => (format === 'auto' ? 'image/avif,image/webp,*/*;q=0.8' : '*/*');

/** The name the server gives an output: the input's base name, the output format as extension. */
export function outputName(inputName, format) {
  const base = inputName
    .split(/[\\/]/)
    .pop()
    .replace(/\.[^.]*$/, '')
    .trim();
  return `${base || 'image'}.${format}`;
}

/**
 * Compresses one file. `onStage` hears { stage: 'uploading', percent } while the body is sent,
 * then 'compressing' (a sync answer is being made), or 'submitting' then 'queued' / 'processing'
 * with the job's percent, then 'downloading'. Files over `jobThresholdBytes` are sent raw with `async=true`:
 * the server streams raw bodies into storage, while multipart bodies are read whole.
 */
export async function compressFile(file, settings, { key, jobThresholdBytes, onStage, signal }) {
  const fields = optionFields(settings);
  const asJob = file.size > jobThresholdBytes;
  const headers = { Authorization: `Bearer ${key}`, Accept: acceptHeader(settings) };
  let url = '/v1/compress';
  let body;
  if (asJob) {
    url += `?${new URLSearchParams({ ...fields, async: 'true' })}`;
    headers['Content-Type'] = file.type.startsWith('image/') ? file.type : 'application/octet-stream';
    body = file;
  } else {
    body = new FormData();
    body.append('file', file, file.name);
    for (const [name, value] of Object.entries(fields)) body.append(name, value);
  }

  onStage({ stage: 'uploading', percent: 0 });
  const answer = await upload(url, body, headers, signal, (fraction) => {
    if (fraction < 1) onStage({ stage: 'uploading', percent: Math.floor(fraction * 100) });
    else onStage({ stage: asJob ? 'submitting' : 'compressing' });
  });
  if (answer.status === 200) {
    const format = answer.header('X-Format');
    return {
      blob: answer.body,
      name: outputName(file.name, format),
      format,
      inputSize: Number(answer.header('X-Original-Size')),
      outputSize: Number(answer.header('X-Compressed-Size')),
      savingsPercent: Number(answer.header('X-Savings-Percent')),
      width: Number(answer.header('X-Width')),
      height: Number(answer.header('X-Height')),
      compressed: answer.header('X-Compressed') !== 'false',
      jobId: undefined,
    };
  }
  if (answer.status === 202) {
    const accepted = await readJson(answer.body);
    if (!accepted?.id) throw new ApiFailure('The server accepted the file as a job but gave no job id', { status: 202 });
    onStage({ stage: 'queued', jobId: accepted.id });
    return followJob(accepted.id, file.name, { key, onStage, signal });
  }
  throw await failureOf(answer.status, answer.body, answer.header('Retry-After'));
}

/** Polls a job until it ends, then fetches its output through `/v1/jobs/:id/download`. */
async function followJob(id, inputName, { key, onStage, signal }) {
  const headers = { Authorization: `Bearer ${key}` };
  let delayMs = 400;
  let job;
  for (;;) {
    const response = await request(`/v1/jobs/${encodeURIComponent(id)}`, { headers, signal });
    if (response.status === 429) {
      // Polling is cheap to postpone: wait as asked rather than fail the file.
      await sleep(Number(response.headers.get('Retry-After') || 1) * 1000, signal);
      continue;
    }
    if (!response.ok) throw await failureOf(response.status, await response.blob(), response.headers.get('Retry-After'));
    job = await response.json();
    if (job.status === 'succeeded') break;
    if (job.status === 'failed' || job.status === 'canceled') {
      const code = job.error?.code;
      const message =
        job.error?.message ?? (job.status === 'canceled' ? 'The job was canceled' : 'The job failed without an error message');
      throw new ApiFailure(message, { status: STATUS_OF_CODE[code], code });
    }
    onStage({ stage: job.status, percent: job.progress ?? 0, jobId: id });
    await sleep(delayMs, signal);
    delayMs = Math.min(delayMs * 1.5, 2000);
  }
  onStage({ stage: 'downloading', jobId: id });
  const download = await request(`/v1/jobs/${encodeURIComponent(id)}/download`, { headers, signal });
  if (!download.ok) throw await failureOf(download.status, await download.blob(), download.headers.get('Retry-After'));
  return {
    blob: await download.blob(),
    name: outputName(inputName, job.output.format),
    format: job.output.format,
    inputSize: job.input.size,
    outputSize: job.output.size,
    savingsPercent: job.savings_percent,
    width: job.output.width,
    height: job.output.height,
    compressed: job.compressed !== false,
    jobId: id,
  };
}

/** A POST through XMLHttpRequest, because fetch cannot report upload progress. */
function upload(url, body, headers, signal, onUploadProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.responseType = 'blob';
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onUploadProgress(Math.min(event.loaded / event.total, 0.999));
    };
    xhr.upload.onload = () => onUploadProgress(1);
    xhr.onload = () => resolve({ status: xhr.status, header: (name) => xhr.getResponseHeader(name), body: xhr.response });
    xhr.onerror = () => reject(networkFailure());
    xhr.onabort = () => reject(new DOMException('Canceled', 'AbortError'));
    if (signal?.aborted) return reject(new DOMException('Canceled', 'AbortError'));
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(body);
  });
}

async function request(url, init) {
  try {
    return await fetch(url, init);
  } catch (error) {
    if (error?.name === 'AbortError') throw error;
    throw networkFailure();
  }
}

const networkFailure = () =>
  new ApiFailure(
    'Network error: the server could not be reached, or the connection broke before its answer arrived. Check the connection and retry.',
  );

/** The contract's JSON error as an ApiFailure; any other body still gives a sentence. */
async function failureOf(status, blob, retryAfter) {
  const body = await readJson(blob);
  const error = body?.error;
  const retryAfterSeconds = retryAfter ? Number(retryAfter) : undefined;
  if (!error?.message) {
    return new ApiFailure(`The server answered with status ${status} and no error message`, { status, retryAfterSeconds });
  }
  // A validation error's message names the fields; the list says what is wrong with each.
  const details = body.errors?.length > 1 ? ` (${body.errors.map((e) => `${e.param}: ${e.message}`).join('; ')})` : '';
  return new ApiFailure(`${error.message}${details}`, { status, code: error.code, retryAfterSeconds });
}

async function readJson(blob) {
  try {
    return JSON.parse(await blob.text());
  } catch {
    return undefined;
  }
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new DOMException('Canceled', 'AbortError'));
      },
      { once: true },
    );
  });
}
