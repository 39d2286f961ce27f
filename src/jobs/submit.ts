import type { Account } from '../auth/keys';
import { ApiError } from '../errors';
import { estimateSeconds } from '../pipeline/cost';
import { inspectImage } from '../pipeline/compress';
import type { CompressOptions } from '../schemas/options';
import { jobStub } from './access';
import type { JobMessage } from './messages';
import type { JobState } from './state';

export type JobInput =
  | { kind: 'bytes'; bytes: Uint8Array; name: string }
  /** A raw request body of known length, streamed into R2 without being held in memory. */
  | { kind: 'stream'; stream: ReadableStream; length: number; name: string }
  | { kind: 'url'; url: string };

export interface JobRequest {
  account: Account;
  origin: string;
  options: CompressOptions;
  input: JobInput;
  webhookUrl?: string;
  batchId?: string;
  clientId?: string;
  /** Check the image's header now, so a wrong file is a 4xx answer rather than a failed job. */
  checkHeader: boolean;
}

/** Enough of a file's start to hold any header we read (JPEG can carry large EXIF/ICC segments first). */
const HEADER_BYTES = 256 * 1024;

export const stagedInputKey = (jobId: string) => `inputs/${jobId}`;

/**
 * Stages the input in R2 and creates the job's Durable Object; the caller enqueues the
 * returned message (one at a time, or a whole batch in one send).
 */
export async function prepareJob(env: Env, request: JobRequest): Promise<{ job: JobState; message: JobMessage }> {
  const id = crypto.randomUUID();
  const { input, options } = request;
  let pixels: number | undefined;
  let source: JobState['source'];

  if (input.kind === 'url') {
    source = { kind: 'url', url: input.url };
  } else {
    const key = stagedInputKey(id);
    if (input.kind === 'bytes') {
      if (request.checkHeader) pixels = headerPixels(input.bytes, options, request.account);
      await env.FILES.put(key, input.bytes);
    } else {
      await env.FILES.put(key, input.stream);
      if (request.checkHeader) pixels = await stagedHeaderPixels(env, key, options, request.account, input.length);
    }
    source = { kind: 'staged', key, name: input.name };
  }

  const format = options.format === 'auto' ? 'jpeg' : options.format;
  const job = await jobStub(env, id).create({
    id,
    accountId: request.account.id,
    origin: request.origin,
    source,
    options,
    limits: { maxPixels: request.account.plan.maxPixels, maxFileBytes: request.account.plan.maxFileBytes },
    ttlSeconds: request.account.plan.outputTtlSeconds,
    estimatedSeconds: estimateSeconds(format, pixels),
    batchId: request.batchId,
    clientId: request.clientId,
    webhookUrl: request.webhookUrl,
    webhookSecret: request.webhookUrl ? request.account.webhookSecret : undefined,
  });
  return { job, message: { jobId: id } };
}

function headerPixels(bytes: Uint8Array, options: CompressOptions, account: Account): number {
  const { outputSize, input } = inspectImage(bytes, options, account.plan);
  return Math.max(input.width * input.height, outputSize.width * outputSize.height);
}

async function stagedHeaderPixels(env: Env, key: string, options: CompressOptions, account: Account, length: number): Promise<number | undefined> {
  const head = await env.FILES.get(key, { range: { offset: 0, length: Math.min(HEADER_BYTES, length) } });
  const bytes = new Uint8Array(await head!.arrayBuffer());
  try {
    return headerPixels(bytes, options, account);
  } catch (error) {
    // A header that lies beyond the first bytes is left for the job to judge; anything
    // else is a definite answer now, and the staged file goes.
    if (error instanceof ApiError && error.code === 'invalid_image' && length > bytes.byteLength) return undefined;
    await env.FILES.delete(key);
    throw error;
  }
}

export function acceptedAnswer(job: JobState): Response {
  const poll = `/v1/jobs/${job.id}`;
  return Response.json(
    {
      success: true,
      id: job.id,
      status: job.status,
      poll_url: poll,
      estimated_seconds: job.estimatedSeconds,
      // Provisional until the job ends: outputs live for the plan's retention after that.
      expires_at: new Date(job.expiresAt).toISOString(),
    },
    { status: 202, headers: { Location: poll } },
  );
}
