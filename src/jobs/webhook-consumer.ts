import { hostCheckFor } from '../http/resolve';
import { batchJobs, batchStub, jobStub } from './access';
import type { BatchState } from './batch-object';
import type { WebhookMessage } from './messages';
import type { WebhookDelivery } from './state';
import { batchView, jobView } from './views';
import { WEBHOOK_MAX_ATTEMPTS, backoffSeconds, postWebhook } from './webhooks';

/**
 * The compress-webhooks queue consumer. The event's Durable Object is the record: a
 * delivery already settled is not sent again, and every attempt is written to it.
 */
export async function consumeWebhooks(batch: MessageBatch<WebhookMessage>, env: Env): Promise<void> {
  // All at once, each with its own timeout: one slow receiver must not hold up the others.
  const outcomes = await Promise.allSettled(batch.messages.map((message) => deliver(message, env)));
  outcomes.forEach((outcome, i) => {
    if (outcome.status === 'rejected') {
      console.error('webhook delivery failed; it is retried', outcome.reason);
      batch.messages[i]!.retry({ delaySeconds: backoffSeconds(batch.messages[i]!.attempts, Number(env.RETRY_BASE_SECONDS)) });
    }
  });
}

async function deliver(message: Message<WebhookMessage>, env: Env): Promise<void> {
  const { deliveryId } = message.body ?? {};
  const target = await loadTarget(env, message.body);
  const delivery = target?.deliveries.find((d) => d.id === deliveryId);
  if (!target || !delivery || delivery.state !== 'pending' || !target.webhookUrl || !target.webhookSecret) {
    message.ack();
    return;
  }

  const outcome = await postWebhook(
    target.webhookUrl,
    delivery.event,
    delivery.id,
    JSON.stringify(await target.body()),
    target.webhookSecret,
    hostCheckFor(env),
  );
  const settled: WebhookDelivery['state'] = outcome.ok ? 'delivered' : message.attempts >= WEBHOOK_MAX_ATTEMPTS ? 'failed' : 'pending';
  await target.record(delivery.id, { at: new Date().toISOString(), status: outcome.status, error: outcome.error }, settled);
  if (settled === 'pending') message.retry({ delaySeconds: backoffSeconds(message.attempts, Number(env.RETRY_BASE_SECONDS)) });
  else message.ack();
}

/** Should the queue itself give up (a consumer crash loop), the delivery is recorded as failed. */
export async function consumeDeadWebhooks(batch: MessageBatch<WebhookMessage>, env: Env): Promise<void> {
  for (const message of batch.messages) {
    const { deliveryId } = message.body ?? {};
    const target = await loadTarget(env, message.body);
    if (target?.deliveries.some((d) => d.id === deliveryId && d.state === 'pending')) {
      await target.record(
        deliveryId,
        { at: new Date().toISOString(), error: 'gave up: the delivery queue exhausted its retries' },
        'failed',
      );
    }
    message.ack();
  }
}

interface Target {
  webhookUrl?: string;
  webhookSecret?: string;
  deliveries: WebhookDelivery[];
  body(): Promise<Record<string, unknown>>;
  record(deliveryId: string, attempt: { at: string; status?: number; error?: string }, state: WebhookDelivery['state']): Promise<unknown>;
}

function loadTarget(env: Env, body: WebhookMessage | undefined): Promise<Target | undefined> {
  if (body?.kind === 'batch') return loadBatch(env, body.id);
  if (body?.kind === 'job') return loadJob(env, body.id);
  return Promise.resolve(undefined);
}

async function loadJob(env: Env, id: string): Promise<Target | undefined> {
  const stub = jobStub(env, id);
  const job = await stub.get();
  if (!job) return undefined;
  return {
    ...job,
    body: () => jobView(job, env.SIGNING_SECRET),
    record: (deliveryId, attempt, state) => stub.recordDelivery(deliveryId, attempt, state),
  };
}

async function loadBatch(env: Env, id: string): Promise<Target | undefined> {
  const stub = batchStub(env, id);
  const batch: BatchState | null = await stub.get();
  if (!batch) return undefined;
  return {
    ...batch,
    body: async () => batchView(batch, await batchJobs(env, batch), env.SIGNING_SECRET),
    record: (deliveryId, attempt, state) => stub.recordDelivery(deliveryId, attempt, state),
  };
}
