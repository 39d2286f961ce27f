import { app } from './app';
import { consumeDeadJobs, consumeJobs } from './jobs/consumer';
import type { JobMessage, WebhookMessage } from './jobs/messages';
import { consumeDeadWebhooks, consumeWebhooks } from './jobs/webhook-consumer';

export { AccountObject } from './accounts/account-object';
export { BatchObject } from './jobs/batch-object';
export { JobObject } from './jobs/job-object';

/** Queue names, as in wrangler.toml. */
export const QUEUES = {
  jobs: 'compress-jobs',
  deadJobs: 'compress-jobs-dlq',
  webhooks: 'compress-webhooks',
  deadWebhooks: 'compress-webhooks-dlq',
} as const;

export default {
  fetch: app.fetch,
  async queue(batch, env) {
    switch (batch.queue) {
      case QUEUES.jobs:
        return consumeJobs(batch as MessageBatch<JobMessage>, env);
      case QUEUES.deadJobs:
        return consumeDeadJobs(batch as MessageBatch<JobMessage>, env);
      case QUEUES.webhooks:
        return consumeWebhooks(batch as MessageBatch<WebhookMessage>, env);
      case QUEUES.deadWebhooks:
        return consumeDeadWebhooks(batch as MessageBatch<WebhookMessage>, env);
      default:
        console.error(`no consumer for queue ${batch.queue}; its messages are retried`);
        batch.retryAll();
    }
  },
} satisfies ExportedHandler<Env, JobMessage | WebhookMessage>;
