import { savingsPercent } from '../pipeline/description';
import { signedFileUrl } from '../storage/files';
import type { BatchState } from './batch-object';
import type { BatchView, JobView } from '../schemas/responses';
import type { JobState } from './state';

function iso(ms: number): string;
function iso(ms: number | undefined): string | undefined;
function iso(ms: number | undefined) {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

/**
 * The contract's job object; fields that do not apply yet are absent. A failed job reads like
 * an error answer, `success: false` beside its `error`, in polls and in its `job.failed` webhook.
 */
export async function jobView(job: JobState, signingSecret: string | undefined): Promise<JobView> {
  const downloadable = job.status === 'succeeded' && !job.removed && job.output;
  return dropUndefined<JobView>({
    success: job.status !== 'failed',
    id: job.id,
    status: job.status,
    progress: job.progress,
    created_at: iso(job.createdAt),
    started_at: iso(job.startedAt),
    completed_at: iso(job.completedAt),
    batch_id: job.batchId,
    client_id: job.clientId,
    attempts: job.attempts,
    estimated_seconds: job.status === 'queued' || job.status === 'processing' ? job.estimatedSeconds : undefined,
    compressed: job.compressed,
    input: job.input,
    output: job.output,
    savings_percent: job.input && job.output ? savingsPercent(job.input.size, job.output.size) : undefined,
    url: downloadable ? await signedFileUrl(signingSecret, job.origin, job.id, job.output!.name, new Date(job.expiresAt)) : undefined,
    expires_at: iso(job.expiresAt),
    error: job.error,
    last_error: job.status === 'queued' ? job.lastError : undefined,
    webhook: job.webhookUrl
      ? { url: job.webhookUrl, deliveries: job.deliveries.map(({ id, event, state, attempts }) => ({ id, event, state, attempts })) }
      : undefined,
  });
}

export function batchStatus(batch: BatchState, jobs: JobState[]): 'queued' | 'processing' | 'completed' {
  if (batch.completedAt !== undefined) return 'completed';
  return jobs.every((job) => job.status === 'queued') ? 'queued' : 'processing';
}

export async function batchView(batch: BatchState, jobs: JobState[], signingSecret: string | undefined): Promise<BatchView> {
  const counts: BatchView['counts'] = { queued: 0, processing: 0, succeeded: 0, failed: 0, canceled: 0 };
  for (const job of jobs) counts[job.status]!++;
  return dropUndefined<BatchView>({
    success: true,
    id: batch.id,
    status: batchStatus(batch, jobs),
    created_at: iso(batch.createdAt),
    completed_at: iso(batch.completedAt),
    total: batch.items.length,
    counts,
    items: await Promise.all(jobs.map((job) => jobView(job, signingSecret))),
    webhook: batch.webhookUrl
      ? { url: batch.webhookUrl, deliveries: batch.deliveries.map(({ id, event, state, attempts }) => ({ id, event, state, attempts })) }
      : undefined,
  });
}

function dropUndefined<T extends Record<string, unknown>>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as T;
}
