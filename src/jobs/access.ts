import { ApiError } from '../errors';
import type { BatchState } from './batch-object';
import type { JobState } from './state';

export const jobStub = (env: Env, jobId: string) => env.JOBS.get(env.JOBS.idFromName(jobId));
export const accountStub = (env: Env, accountId: string) => env.ACCOUNTS.get(env.ACCOUNTS.idFromName(accountId));
export const batchStub = (env: Env, batchId: string) => env.BATCHES.get(env.BATCHES.idFromName(batchId));

/** Job and batch ids are UUIDs; anything else is not looked up. */
export const isId = (id: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id);

/**
 * A job as its owner may see it: unknown ids and other accounts' jobs are the same 404, so
 * ids cannot be probed; removed ones are 410.
 */
export async function ownedJob(env: Env, jobId: string, accountId: string): Promise<JobState> {
  const job = isId(jobId) ? await jobStub(env, jobId).get() : null;
  if (!job || job.accountId !== accountId) throw new ApiError('not_found', `No job ${jobId}`);
  if (job.removed)
    throw new ApiError('gone', `Job ${jobId} ${job.removed === 'expired' ? 'has expired' : 'was deleted'}; its files are gone`);
  return job;
}

/** A batch as its owner may see it; unknown ids and other accounts' batches are the same 404. */
export async function ownedBatch(env: Env, batchId: string, accountId: string): Promise<BatchState> {
  const batch = isId(batchId) ? await batchStub(env, batchId).get() : null;
  if (!batch || batch.accountId !== accountId) throw new ApiError('not_found', `No batch ${batchId}`);
  return batch;
}

/** The batch's jobs, in its order (a job removed meanwhile is left out). */
export async function batchJobs(env: Env, batch: BatchState): Promise<JobState[]> {
  const jobs: (JobState | null)[] = await Promise.all(batch.items.map((item) => jobStub(env, item.jobId).get()));
  return jobs.filter((job) => job !== null);
}
