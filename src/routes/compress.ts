import { Hono } from 'hono';
import { compressWithinMemory } from '../compression';
import { acceptedFormats, compressAnswer } from '../http/answer';
import { fileTooLarge } from '../http/body';
import { fetchImage } from '../http/fetch-image';
import { hostCheckFor } from '../http/resolve';
import { parseWebhookUrl } from '../http/public-url';
import { isRawBody, parseOptions, readSubmission } from '../http/submission';
import { type JobInput, acceptedAnswer, submitJobs } from '../jobs/submit';
import { type CompressResult, inspectImage } from '../pipeline/compress';
import { predictedSeconds } from '../pipeline/admission';
import { DEFAULT_SYNC_COMPUTE_SECONDS } from '../pipeline/cost';
import { ApiError } from '../errors';
import { accountStub } from '../jobs/access';
import { recordSyncCompression } from '../jobs/record-sync';
import { monthOf } from '../accounts/usage';
import type { CompressOptions } from '../schemas/options';
import type { AppEnv } from '../types';
import type { Context } from 'hono';

/**
 * Small inputs are compressed inside the request. Inputs over the async threshold or whose
 * predicted compute (`src/pipeline/cost.ts`) is over `SYNC_COMPUTE_SECONDS` (a client
 * waiting on an open connection is better served polling), and
 * requests with `async=true` or a `webhook_url`, become jobs: a raw body of known length is
 * streamed straight into R2, and a `url` is fetched by the job, not by the request.
 */
export const compressRoutes = new Hono<AppEnv>().post('/', async (c) => {
  const { plan } = c.get('account');
  const threshold = Number(c.env.ASYNC_THRESHOLD_BYTES);
  const request = c.req.raw;
  const declaredLength = Number(request.headers.get('content-length') ?? 0);

  if (isRawBody(request.headers.get('content-type') ?? '') && declaredLength > 0 && request.body) {
    const options = parseOptions(Object.fromEntries(new URL(request.url).searchParams));
    if (declaredLength > threshold || wantsJob(options)) {
      if (declaredLength > plan.maxFileBytes) throw fileTooLarge(plan.maxFileBytes)();
      return startJob(c, options, { kind: 'stream', stream: request.body, length: declaredLength, name: '' });
    }
  }

  const { source, options } = await readSubmission(request, plan.maxFileBytes);
  if (source.kind === 'url' && wantsJob(options)) return startJob(c, options, source);
  const startedAt = Date.now();
  const { bytes, name } = source.kind === 'url' ? await fetchImage(source.url, plan.maxFileBytes, hostCheckFor(c.env)) : source;
  if (bytes.byteLength > threshold || wantsJob(options)) return startJob(c, options, { kind: 'bytes', bytes, name });
  const accept = acceptedFormats(c.req.header('accept'));
  const limits = { maxPixels: plan.maxPixels };
  // Small in bytes is not always cheap (AVIF encoding, large dimensions): the cost model decides.
  const inspection = await inspectImage(bytes, { ...options, accept }, limits);
  if (predictedSeconds(inspection, { ...options, accept }) > (Number(c.env.SYNC_COMPUTE_SECONDS) || DEFAULT_SYNC_COMPUTE_SECONDS)) {
    return startJob(c, options, { kind: 'bytes', bytes, name });
  }

  const account = accountStub(c.env, c.get('account').id);
  const month = monthOf(Date.now());
  const admission = await account.admitCompression(month, plan.monthlyCompressions);
  if (!admission.ok)
    throw new ApiError('rate_limit_exceeded', admission.message, { headers: { 'Retry-After': String(admission.retryAfterSeconds) } });
  let result: CompressResult;
  try {
    result = await compressWithinMemory(bytes, { ...options, accept }, limits, undefined, inspection);
  } catch (error) {
    c.executionCtx.waitUntil(account.compressionEnded(admission.reservation!, { succeeded: false, bytesIn: 0, bytesOut: 0 }));
    throw error;
  }
  c.executionCtx.waitUntil(
    account.compressionEnded(admission.reservation!, { succeeded: true, bytesIn: result.input.size, bytesOut: result.output.size }),
  );
  const job = await recordSyncCompression(c.env, {
    id: c.get('requestId'),
    account: c.get('account'),
    origin: new URL(c.req.url).origin,
    options,
    inputBytes: bytes,
    inputName: name,
    result,
    startedAt,
  });
  return compressAnswer(job, result, options, c.req.header('accept'), c.env.SIGNING_SECRET);
});

/** A webhook only makes sense for a job, so asking for one implies `async`. */
const wantsJob = (options: CompressOptions) => options.async || options.webhook_url !== undefined;

async function startJob(c: Context<AppEnv>, options: CompressOptions, input: JobInput): Promise<Response> {
  const webhookUrl = options.webhook_url && parseWebhookUrl(options.webhook_url, c.env.ENVIRONMENT === 'development').toString();
  const account = c.get('account');
  const { jobs, messages } = await submitJobs(c.env, account, [
    {
      account,
      origin: new URL(c.req.url).origin,
      options,
      accept: acceptedFormats(c.req.header('accept')),
      input,
      webhookUrl,
      checkHeader: true,
    },
  ]);
  await c.env.JOB_QUEUE.send(messages[0]!);
  return acceptedAnswer(jobs[0]!);
}
