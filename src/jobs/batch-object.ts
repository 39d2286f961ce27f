import { DurableObject } from 'cloudflare:workers';
import type { WebhookMessage } from './messages';
import { type JobStatus, type WebhookAttempt, type WebhookDelivery, recordDelivery } from './state';
import { StoredRecord } from './stored-record';

export interface BatchState {
  id: string;
  accountId: string;
  origin: string;
  createdAt: number;
  completedAt?: number;
  items: { jobId: string; clientId?: string }[];
  /** Final status of each item that has ended. */
  ended: Record<string, JobStatus>;
  webhookUrl?: string;
  webhookSecret?: string;
  deliveries: WebhookDelivery[];
}

export type NewBatch = Omit<BatchState, 'createdAt' | 'ended' | 'deliveries' | 'completedAt'>;

/** One Durable Object per batch: counts its items as they end, and sends one `batch.completed`. */
export class BatchObject extends DurableObject<Env> {
  private readonly batch = new StoredRecord<BatchState>(this.ctx, 'batch');

  async create(init: NewBatch): Promise<BatchState> {
    if (this.batch.value) return this.batch.value;
    return this.batch.put({ ...init, createdAt: Date.now(), ended: {}, deliveries: [] });
  }

  async get(): Promise<BatchState | null> {
    return this.batch.value ?? null;
  }

  /** Idempotent: a job that reports twice counts once. */
  async itemEnded(jobId: string, status: JobStatus): Promise<void> {
    const batch = this.batch.value;
    if (!batch || batch.ended[jobId] || !batch.items.some((item) => item.jobId === jobId)) return;
    let next: BatchState = { ...batch, ended: { ...batch.ended, [jobId]: status } };
    if (Object.keys(next.ended).length === next.items.length) {
      next = { ...next, completedAt: Date.now() };
      if (next.webhookUrl) {
        next.deliveries = [{ id: `${next.id}.batch.completed`, event: 'batch.completed', state: 'pending', enqueued: false, attempts: [] }];
      }
    }
    await this.batch.put(next);
    await this.sendPending();
  }

  async recordDelivery(deliveryId: string, attempt: WebhookAttempt, outcome: WebhookDelivery['state']): Promise<void> {
    const batch = this.batch.value;
    if (!batch) return;
    await this.batch.put(recordDelivery(batch, deliveryId, attempt, outcome));
  }

  async alarm(): Promise<void> {
    await this.sendPending();
  }

  private async sendPending(): Promise<void> {
    const batch = this.batch.value!;
    const unsent = batch.deliveries.filter((d) => !d.enqueued);
    if (!unsent.length) return;
    await this.ctx.storage.setAlarm(Date.now() + 5_000); // re-sent by the alarm if the send below fails
    try {
      await this.env.WEBHOOK_QUEUE.sendBatch(
        unsent.map((d) => ({ body: { kind: 'batch', id: batch.id, deliveryId: d.id } satisfies WebhookMessage })),
      );
    } catch (error) {
      // The item's job that ended the batch is not at fault: the alarm above sends again.
      console.error(`batch ${batch.id}: enqueueing its webhook failed; the alarm retries`, error);
      return;
    }
    await this.batch.put({ ...batch, deliveries: batch.deliveries.map((d) => ({ ...d, enqueued: true })) });
    await this.ctx.storage.deleteAlarm();
  }
}
