import type { Account } from '../auth/keys';
import { describeImage, outputName } from '../pipeline/description';
import type { CompressResult } from '../pipeline/compress';
import { mimeType } from '../pipeline/image-formats';
import type { CompressOptions } from '../schemas/options';
import { outputKey, putOutput } from '../storage/files';
import { jobStub } from './access';
import { type JobState, finishedInRequest } from './state';

export interface SyncCompression {
  /** The request id, which becomes the job id. */
  id: string;
  account: Account;
  origin: string;
  options: CompressOptions;
  inputBytes: Uint8Array;
  inputName: string;
  result: CompressResult;
  startedAt: number;
}

/**
 * Stores a synchronous answer's output and records it as a succeeded job under the request's
 * id, whatever form the answer takes: `X-Job-Id` then resolves at /v1/jobs/:id, downloads,
 * and is deleted by DELETE like any job; the job's alarm deletes the output at expiry.
 */
export async function recordSyncCompression(env: Env, sync: SyncCompression): Promise<JobState> {
  const { id, account, result } = sync;
  const name = outputName(sync.inputName, result.output.format);
  const now = Date.now();
  const job = finishedInRequest(
    {
      id,
      accountId: account.id,
      origin: sync.origin,
      options: sync.options,
      limits: { maxPixels: account.plan.maxPixels, maxFileBytes: account.plan.maxFileBytes },
      ttlSeconds: account.plan.outputTtlSeconds,
    },
    {
      input: await describeImage(result.input, sync.inputName.split(/[\\/]/).pop() || `image.${result.input.format}`, sync.inputBytes),
      output: await describeImage(result.output, name, result.bytes),
      outputKey: outputKey(id, name),
      compressed: result.compressed,
    },
    sync.startedAt,
    now,
  );
  await Promise.all([
    putOutput(env.FILES, {
      jobId: id,
      accountId: account.id,
      name,
      mime: mimeType(result.output.format),
      bytes: result.bytes,
      expiresAt: new Date(job.expiresAt),
    }),
    jobStub(env, id).createFinished(job),
  ]);
  return job;
}
