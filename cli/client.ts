import type { CompressFields } from './arguments.ts';
import type { ImageFormat } from './walk.ts';

export interface ClientSettings {
  server: string;
  key: string;
  fields: CompressFields;
  asyncAbove: number;
  retries: number;
}

/** What happens to one file, for progress bars and log lines. */
export type FileEvent =
  | { kind: 'upload'; sent: number; total: number }
  | { kind: 'accepted'; jobId: string }
  | { kind: 'job'; status: string; progress: number }
  | { kind: 'download'; received: number; total: number | undefined }
  | { kind: 'retry'; reason: string; waitSeconds: number; retry: number; of: number };

export interface CompressOutcome {
  bytes: Uint8Array;
  format: ImageFormat;
  /** False when the server returned the input unchanged, since nothing smaller was found. */
  compressed: boolean;
  before: number;
  after: number;
  /** Present when the server answered `202` and the result came from a job. */
  job?: { id: string; polls: number };
  /** Requests repeated after a 429, a 5xx or a network error. */
  retries: number;
}

/** A file the server (or the network) refused for good; `code` is the API's error code. */
export class FileFailure extends Error {
  readonly status: number | undefined;
  readonly code: string;
  constructor(code: string, message: string, status?: number) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** Longer waits than this are not waited for: a month's quota would otherwise hold the run for days. */
const MAX_RETRY_AFTER_SECONDS = 300;
/** A job that has not ended by then is reported failed; the server's own job limits end far sooner. */
const JOB_DEADLINE_MS = 30 * 60_000;
const UPLOAD_CHUNK = 64 * 1024;
const FORMATS = new Set<string>(['jpeg', 'png', 'webp', 'avif']);

export interface Clock {
  sleep(ms: number): Promise<void>;
  now(): number;
}
const realClock: Clock = { sleep: (ms) => new Promise((r) => setTimeout(r, ms)), now: () => Date.now() };

/**
 * Compresses one image: uploads it as the raw body (options in the query), and either takes the
 * image from a `200` or follows the job of a `202` to its download. Every request is retried on
 * 429 after `Retry-After` and on network errors or 5xx with backoff; other errors end the file.
 */
export async function compressBytes(
  bytes: Uint8Array,
  settings: ClientSettings,
  onEvent: (event: FileEvent) => void = () => {},
  clock: Clock = realClock,
): Promise<CompressOutcome> {
  let retries = 0;
  const send = async (describe: string, request: () => { url: string; init: RequestInit }): Promise<Response> => {
    for (let attempt = 0; ; attempt++) {
      const { url, init } = request();
      let response: Response | undefined;
      let networkError: string | undefined;
      try {
        response = await fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), Authorization: `Bearer ${settings.key}`, Accept: '*/*' } });
      } catch (error) {
        networkError = describeNetworkError(error);
      }
      const transient = !response || response.status === 429 || response.status >= 500;
      if (!transient) return response!;
      const reason = response ? await errorSummary(response.clone()) : networkError!;
      if (attempt >= settings.retries) {
        if (response) return response;
        throw new FileFailure('network_error', `${describe}: ${networkError} (gave up after ${attempt + 1} tries)`);
      }
      let wait = backoffSeconds(attempt);
      if (response?.status === 429) {
        const after = retryAfterSeconds(response.headers.get('retry-after'), clock.now());
        if (after !== undefined && after > MAX_RETRY_AFTER_SECONDS) return response;
        wait = after ?? wait;
      }
      await response?.body?.cancel();
      retries++;
      onEvent({ kind: 'retry', reason, waitSeconds: wait, retry: attempt + 1, of: settings.retries });
      await clock.sleep(wait * 1000);
    }
  };

  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(settings.fields)) if (value !== undefined) query.set(name, String(value));
  // Above the threshold the server makes a job anyway; saying so up front lets it stream the body into storage.
  if (bytes.byteLength > settings.asyncAbove) query.set('async', 'true');

  const answer = await send('upload', () => ({
    url: `${settings.server}/v1/compress?${query}`,
    init: {
      method: 'POST',
      body: uploadStream(bytes, (sent) => onEvent({ kind: 'upload', sent, total: bytes.byteLength })),
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.byteLength) },
      duplex: 'half',
    } as RequestInit,
  }));
  await failUnlessOk(answer, retries);

  if (answer.status === 200) {
    const format = answer.headers.get('x-format') ?? '';
    if (!FORMATS.has(format)) throw new FileFailure('unexpected_answer', `the server answered 200 without a known X-Format (${format || 'none'})`, 200);
    const output = await readBody(answer, (received, total) => onEvent({ kind: 'download', received, total }));
    return {
      bytes: output,
      format: format as ImageFormat,
      compressed: answer.headers.get('x-compressed') !== 'false',
      before: Number(answer.headers.get('x-original-size') ?? bytes.byteLength),
      after: output.byteLength,
      retries,
    };
  }
  if (answer.status !== 202) throw new FileFailure('unexpected_answer', `the server answered ${answer.status} to the upload`, answer.status);

  const accepted = (await answer.json()) as { id: string; poll_url?: string };
  onEvent({ kind: 'accepted', jobId: accepted.id });
  const pollUrl = new URL(accepted.poll_url ?? answer.headers.get('location') ?? `/v1/jobs/${accepted.id}`, `${settings.server}/`).toString();
  const deadline = clock.now() + JOB_DEADLINE_MS;
  let delay = 250;
  let polls = 0;
  let job: JobView;
  for (;;) {
    await clock.sleep(delay);
    delay = Math.min(delay * 1.5, 3000);
    const response = await send('job status', () => ({ url: pollUrl, init: {} }));
    await failUnlessOk(response, retries);
    job = (await response.json()) as JobView;
    polls++;
    onEvent({ kind: 'job', status: job.status, progress: job.progress ?? 0 });
    if (job.status === 'succeeded') break;
    if (job.status === 'failed' || job.status === 'canceled') {
      throw new FileFailure(job.error?.code ?? job.status, job.error?.message ?? `job ${accepted.id} was ${job.status}`);
    }
    if (clock.now() > deadline) throw new FileFailure('timeout', `job ${accepted.id} was still ${job.status} after ${JOB_DEADLINE_MS / 60_000} minutes`);
  }

  // The download route redirects to the job's signed link, which fetch follows.
  const download = await send('download', () => ({ url: `${pollUrl}/download`, init: {} }));
  await failUnlessOk(download, retries);
  const output = await readBody(download, (received, total) => onEvent({ kind: 'download', received, total }));
  const format = job.output?.format ?? '';
  if (!FORMATS.has(format)) throw new FileFailure('unexpected_answer', `job ${accepted.id} succeeded without an output format`);
  if (job.output?.size !== undefined && job.output.size !== output.byteLength) {
    throw new FileFailure('incomplete_download', `job ${accepted.id}'s output is ${job.output.size} bytes but ${output.byteLength} arrived`);
  }
  return {
    bytes: output,
    format: format as ImageFormat,
    compressed: job.compressed !== false,
    before: job.input?.size ?? bytes.byteLength,
    after: output.byteLength,
    job: { id: accepted.id, polls },
    retries,
  };
}

interface JobView {
  status: string;
  progress?: number;
  compressed?: boolean;
  input?: { size: number };
  output?: { size: number; format: string };
  error?: { code: string; message: string };
}

/** The body as a stream of chunks, so the upload can be followed and the same bytes sent again on a retry. */
function uploadStream(bytes: Uint8Array, onSent: (sent: number) => void): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.byteLength) {
        controller.close();
        return;
      }
      const chunk = bytes.subarray(offset, offset + UPLOAD_CHUNK);
      offset += chunk.byteLength;
      controller.enqueue(chunk);
      onSent(offset);
    },
  });
}

async function readBody(response: Response, onReceived: (received: number, total: number | undefined) => void): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length'));
  const total = Number.isFinite(declared) && declared > 0 && !response.headers.get('content-encoding') ? declared : undefined;
  const chunks: Uint8Array[] = [];
  let received = 0;
  if (response.body) {
    for await (const chunk of response.body) {
      chunks.push(chunk);
      received += chunk.byteLength;
      onReceived(received, total);
    }
  }
  const bytes = new Uint8Array(received);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

async function failUnlessOk(response: Response, retries: number): Promise<void> {
  if (response.ok) return;
  const { code, message } = await errorBody(response);
  const retryAfter = response.status === 429 ? response.headers.get('retry-after') : null;
  const gaveUp =
    response.status === 429 || response.status >= 500
      ? ` (after ${retries} ${retries === 1 ? 'retry' : 'retries'}${retryAfter ? `; the server asks to wait ${retryAfter} s` : ''})`
      : '';
  throw new FileFailure(code, `${message}${gaveUp}`, response.status);
}

/** The contract's error JSON, or what can be said of a body that is not (a proxy's page, say). */
async function errorBody(response: Response): Promise<{ code: string; message: string }> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (body.error?.code) return { code: body.error.code, message: body.error.message ?? body.error.code };
  } catch {
    /* not JSON */
  }
  return { code: `http_${response.status}`, message: `HTTP ${response.status} ${response.statusText}`.trim() };
}

async function errorSummary(response: Response): Promise<string> {
  const { code } = await errorBody(response);
  return `${response.status} ${code}`;
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message ?? String(error);
}

/** 0.5 s, 1 s, 2 s, … up to 8 s, each with up to a quarter more at random so parallel files do not retry in step. */
export const backoffSeconds = (attempt: number) => Math.min(0.5 * 2 ** attempt, 8) * (1 + Math.random() / 4);

/** `Retry-After` as seconds or as an HTTP date; undefined when absent or unreadable. */
export function retryAfterSeconds(header: string | null, now: number): number | undefined {
  if (!header) return undefined;
  if (/^\s*\d+\s*$/.test(header)) return Number(header);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now) / 1000);
}
