import { concat } from '../src/formats/bytes.ts';
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
  job?: { id: string };
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Compresses one image: uploads it as the raw body (options in the query), and either takes the
 * image from a `200` or follows the job of a `202` to its download. Every request is retried on
 * 429 after `Retry-After` and on network errors or 5xx with backoff; other errors end the file.
 */
export async function compressBytes(
  bytes: Uint8Array,
  settings: ClientSettings,
  onEvent: (event: FileEvent) => void = () => {},
): Promise<CompressOutcome> {
  let retries = 0;
  /**
   * One request and the reading of its answer, retried as a whole: a connection cut while the
   * body arrives is as transient as one refused. `read` sees only final answers (not 429/5xx,
   * unless the tries are spent) and throws FileFailure for the ones that end the file.
   */
  const exchange = async <T>(
    describe: string,
    request: () => { url: string; init: RequestInit },
    read: (response: Response) => Promise<T>,
  ): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      const { url, init } = request();
      let response: Response | undefined;
      let reason: string;
      try {
        // Accept steers format=auto and the answer's form: */* asks for neither a newer format nor JSON.
        response = await fetch(url, {
          ...init,
          headers: { ...(init.headers as Record<string, string>), Authorization: `Bearer ${settings.key}`, Accept: '*/*' },
        });
        const transient = response.status === 429 || response.status >= 500;
        const tooLong =
          response.status === 429 && (retryAfterSeconds(response.headers.get('retry-after'), Date.now()) ?? 0) > MAX_RETRY_AFTER_SECONDS;
        if (!transient || tooLong || attempt >= settings.retries) return await read(response);
        reason = await errorSummary(response);
      } catch (error) {
        if (error instanceof FileFailure) throw error;
        reason = describeNetworkError(error);
        response = undefined;
        if (attempt >= settings.retries)
          throw new FileFailure('network_error', `${describe}: ${reason} (gave up after ${attempt + 1} tries)`);
      }
      const wait =
        (response?.status === 429 && retryAfterSeconds(response.headers.get('retry-after'), Date.now())) || backoffSeconds(attempt);
      retries++;
      onEvent({ kind: 'retry', reason, waitSeconds: wait, retry: attempt + 1, of: settings.retries });
      await sleep(wait * 1000);
    }
  };
  const failUnlessOk = async (response: Response) => {
    if (!response.ok) throw await failureOf(response, retries);
  };

  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(settings.fields)) if (value !== undefined) query.set(name, String(value));
  // Above the threshold the server makes a job anyway; saying so up front lets it stream the body into storage.
  if (bytes.byteLength > settings.asyncAbove) query.set('async', 'true');

  type Answer = { kind: 'image'; outcome: CompressOutcome } | { kind: 'job'; id: string; pollUrl: string };
  const answer = await exchange<Answer>(
    'upload',
    () => ({
      url: `${settings.server}/v1/compress?${query}`,
      init: {
        method: 'POST',
        body: uploadStream(bytes, (sent) => onEvent({ kind: 'upload', sent, total: bytes.byteLength })),
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.byteLength) },
        duplex: 'half',
      } as RequestInit,
    }),
    async (response) => {
      await failUnlessOk(response);
      if (response.status === 202) return { kind: 'job', ...(await acceptedJob(response, settings.server)) };
      if (response.status !== 200)
        throw new FileFailure('unexpected_answer', `the server answered ${response.status} to the upload`, response.status);
      const format = response.headers.get('x-format') ?? '';
      if (!FORMATS.has(format))
        throw new FileFailure('unexpected_answer', `the server answered 200 without a known X-Format (${format || 'none'})`, 200);
      const output = await readBody(response, (received, total) => onEvent({ kind: 'download', received, total }));
      const before = Number(response.headers.get('x-original-size'));
      return {
        kind: 'image',
        outcome: {
          bytes: output,
          format: format as ImageFormat,
          compressed: response.headers.get('x-compressed') !== 'false',
          before: before > 0 ? before : bytes.byteLength,
          after: output.byteLength,
          retries,
        },
      };
    },
  );
  if (answer.kind === 'image') return { ...answer.outcome, retries };

  const { id, pollUrl } = answer;
  onEvent({ kind: 'accepted', jobId: id });
  const deadline = Date.now() + JOB_DEADLINE_MS;
  let delay = 250;
  let job: JobView;
  for (;;) {
    await sleep(delay);
    delay = Math.min(delay * 1.5, 3000);
    job = await exchange(
      'job status',
      () => ({ url: pollUrl, init: {} }),
      async (response) => {
        await failUnlessOk(response);
        return (await response.json()) as JobView;
      },
    );
    onEvent({ kind: 'job', status: job.status, progress: job.progress ?? 0 });
    if (job.status === 'succeeded') break;
    if (job.status === 'failed' || job.status === 'canceled') {
      throw new FileFailure(job.error?.code ?? job.status, job.error?.message ?? `job ${id} was ${job.status}`);
    }
    if (Date.now() > deadline)
      throw new FileFailure('timeout', `job ${id} was still ${job.status} after ${JOB_DEADLINE_MS / 60_000} minutes`);
  }

  const format = job.output?.format ?? '';
  if (!FORMATS.has(format)) throw new FileFailure('unexpected_answer', `job ${id} succeeded without an output format`);
  // The download route redirects to the job's signed link, which fetch follows.
  const output = await exchange(
    'download',
    () => ({ url: `${pollUrl}/download`, init: {} }),
    async (response) => {
      await failUnlessOk(response);
      const received = await readBody(response, (got, total) => onEvent({ kind: 'download', received: got, total }));
      // A short body is a cut connection: thrown as a plain error, so the download is tried again.
      if (job.output?.size !== undefined && job.output.size !== received.byteLength) {
        throw new Error(`job ${id}'s output is ${job.output.size} bytes but ${received.byteLength} arrived`);
      }
      return received;
    },
  );
  return {
    bytes: output,
    format: format as ImageFormat,
    compressed: job.compressed !== false,
    before: job.input?.size ?? bytes.byteLength,
    after: output.byteLength,
    job: { id },
    retries,
  };
}

/**
 * The job of a `202`, from its `Location` header when there is one: the body is not waited
 * for, since a server busy with the job may hold it back.
 */
async function acceptedJob(response: Response, server: string): Promise<{ id: string; pollUrl: string }> {
  const location = response.headers.get('location');
  const id = location?.match(/\/v1\/jobs\/([^/?#]+)$/)?.[1];
  if (location && id) {
    await response.body?.cancel().catch(() => {});
    return { id: decodeURIComponent(id), pollUrl: new URL(location, `${server}/`).toString() };
  }
  const body = (await response.json()) as { id?: string; poll_url?: string };
  if (!body.id) throw new FileFailure('unexpected_answer', 'the server answered 202 without a job id', 202);
  return { id: body.id, pollUrl: new URL(body.poll_url ?? `/v1/jobs/${body.id}`, `${server}/`).toString() };
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
  return concat(chunks);
}

/** A final error answer as a failure: the API's code and message, and how many retries came before. */
async function failureOf(response: Response, retries: number): Promise<FileFailure> {
  const { code, message } = await errorBody(response);
  const retryAfter = response.status === 429 ? response.headers.get('retry-after') : null;
  const gaveUp =
    response.status === 429 || response.status >= 500
      ? ` (after ${retries} ${retries === 1 ? 'retry' : 'retries'}${retryAfter ? `; the server asks to wait ${retryAfter} s` : ''})`
      : '';
  return new FileFailure(code, `${message}${gaveUp}`, response.status);
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
