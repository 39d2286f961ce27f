import { ApiError } from '../errors';
import type { JobState } from './state';

export const jobStub = (env: Env, jobId: string) => env.JOBS.get(env.JOBS.idFromName(jobId));
export const accountStub = (env: Env, accountId: string) => env.ACCOUNTS.get(env.ACCOUNTS.idFromName(accountId));
export const batchStub = (env: Env, batchId: string) => env.BATCHES.get(env.BATCHES.idFromName(batchId));

const ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A job as its owner may see it: unknown ids and other accounts' jobs are the same 404, so
 * ids cannot be probed; removed ones are 410.
 */
export async function ownedJob(env: Env, jobId: string, accountId: string): Promise<JobState> {
  const job = ID_PATTERN.test(jobId) ? await jobStub(env, jobId).get() : null;
  if (!job || job.accountId !== accountId) throw new ApiError('not_found', `No job ${jobId}`);
  if (job.removed) throw new ApiError('gone', `Job ${jobId} ${job.removed === 'expired' ? 'has expired' : 'was deleted'}; its files are gone`);
  return job;
}
