import type { Account } from '../auth/keys';
import { ApiError } from '../errors';
import { UNKNOWN_WORK, computeSeconds, estimateSeconds } from '../pipeline/cost';
import { inspectImage } from '../pipeline/compress';
import { predictedSeconds } from '../pipeline/admission';
import type { CompressOptions, ImageFormat } from '../schemas/options';
import { accountStub, jobStub } from './access';
import { monthOf } from '../accounts/usage';
import type { JobMessage } from './messages';
import type { JobAccepted } from '../schemas/responses';
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
  /** For `format=auto`: the modern formats the client accepts. */
  accept?: ImageFormat[];
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

interface StagedJob {
  id: string;
  request: JobRequest;
  source: JobState['source'];
  estimatedSeconds: number;
}

/**
 * Stages each input in R2 (checking headers where asked), admits the jobs against the
 * account's concurrency limit and monthly quota (all or none), and creates each job's
 * Durable Object. The caller enqueues the returned messages, once everything it needs
 * (a batch object) exists.
 */
export async function submitJobs(
  env: Env,
  account: Account,
  requests: JobRequest[],
): Promise<{ jobs: JobState[]; messages: JobMessage[] }> {
  const staged: StagedJob[] = [];
  try {
    for (const request of requests) staged.push(await stage(env, request));
  } catch (error) {
    await discard(env, staged);
    throw error;
  }

  const admission = await accountStub(env, account.id).admitJobs(
    staged.map(({ id, estimatedSeconds }) => ({ id, estimatedSeconds })),
    monthOf(Date.now()),
    { concurrent: account.plan.maxConcurrentJobs, monthly: account.plan.monthlyCompressions },
  );
  if (!admission.ok) {
    await discard(env, staged);
    throw new ApiError('rate_limit_exceeded', admission.message, { headers: { 'Retry-After': String(admission.retryAfterSeconds) } });
  }

  const jobs = await Promise.all(
    staged.map(({ id, request, source, estimatedSeconds }) =>
      jobStub(env, id).create({
        id,
        accountId: account.id,
        origin: request.origin,
        source,
        options: request.options,
        accept: request.accept,
        limits: { maxPixels: account.plan.maxPixels, maxFileBytes: account.plan.maxFileBytes },
        ttlSeconds: account.plan.outputTtlSeconds,
        estimatedSeconds,
        batchId: request.batchId,
        clientId: request.clientId,
        webhookUrl: request.webhookUrl,
        webhookSecret: request.webhookUrl ? account.webhookSecret : undefined,
      }),
    ),
  );
  return { jobs, messages: jobs.map((job) => ({ jobId: job.id })) };
}

async function stage(env: Env, request: JobRequest): Promise<StagedJob> {
  const id = crypto.randomUUID();
  const { input } = request;
  const unknown = estimateSeconds(computeSeconds(UNKNOWN_WORK));
  if (input.kind === 'url') return { id, request, source: { kind: 'url', url: input.url }, estimatedSeconds: unknown };

  const key = stagedInputKey(id);
  let seconds: number | undefined;
  if (input.kind === 'bytes') {
    if (request.checkHeader) seconds = await headerSeconds(input.bytes, request);
    await env.FILES.put(key, input.bytes);
  } else {
    await env.FILES.put(key, input.stream);
    if (request.checkHeader) seconds = await stagedHeaderSeconds(env, key, request, input.length);
  }
  return {
    id,
    request,
    source: { kind: 'staged', key, name: input.name },
    estimatedSeconds: seconds === undefined ? unknown : estimateSeconds(seconds),
  };
}

async function discard(env: Env, staged: StagedJob[]): Promise<void> {
  const keys = staged.flatMap(({ source }) => (source.kind === 'staged' ? [source.key] : []));
  if (keys.length) await env.FILES.delete(keys);
}

/** Predicted compute from the image's header, which also refuses what no plan or isolate admits. */
async function headerSeconds(bytes: Uint8Array, { options, accept, account }: JobRequest): Promise<number> {
  const pipelineOptions = { ...options, accept };
  return predictedSeconds(await inspectImage(bytes, pipelineOptions, account.plan), pipelineOptions);
}

async function stagedHeaderSeconds(env: Env, key: string, request: JobRequest, length: number): Promise<number | undefined> {
  const head = await env.FILES.get(key, { range: { offset: 0, length: Math.min(HEADER_BYTES, length) } });
  const bytes = new Uint8Array(await head!.arrayBuffer());
  try {
    return await headerSeconds(bytes, request);
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
      status: 'queued',
      poll_url: poll,
      estimated_seconds: job.estimatedSeconds,
      // Provisional until the job ends: outputs live for the plan's retention after that.
      expires_at: new Date(job.expiresAt).toISOString(),
    } satisfies JobAccepted,
    { status: 202, headers: { Location: poll } },
  );
}
