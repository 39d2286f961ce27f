import { Hono } from 'hono';
import { z } from 'zod';
import type { Plan } from '../auth/plans';
import { ApiError } from '../errors';
import { formatBytes } from '../http/body';
import { parsePublicUrl, parseWebhookUrl } from '../http/public-url';
import { decodeBase64, parseOptions, readJson } from '../http/submission';
import { batchJobs, batchStub, ownedBatch } from '../jobs/access';
import { type JobInput, submitJobs } from '../jobs/submit';
import { batchView } from '../jobs/views';
import type { CompressOptions } from '../schemas/options';
import type { BatchAccepted } from '../schemas/responses';
import type { AppEnv } from '../types';

export const MAX_BATCH_ITEMS = 100;
/** Base64 items travel inside one JSON body; large files belong in `url` items. */
const MAX_BATCH_BODY_BYTES = 32 * 1024 * 1024;

const batchItemSchema = z.strictObject({
  url: z.string({ error: 'must be a string' }).optional().describe('A public http(s) image URL'),
  data: z.string({ error: 'must be a string' }).optional().describe('A base64 image'),
  id: z
    .string({ error: 'must be a string' })
    .max(200, 'must be at most 200 characters')
    .optional()
    .describe('Your own id for the item, echoed as client_id'),
  options: z
    .record(z.string(), z.unknown(), { error: 'must be an object of compression options' })
    .optional()
    .describe('Overrides the root options'),
});

/** Items are checked one by one (`planBatch`), so that every item's problems are listed. */
export const batchRequestSchema = z.strictObject({
  items: z
    .array(z.unknown(), { error: 'must be an array of items' })
    .min(1, 'must hold at least one item')
    .max(MAX_BATCH_ITEMS, `must hold at most ${MAX_BATCH_ITEMS} items`),
  options: z
    .record(z.string(), z.unknown(), { error: 'must be an object of compression options' })
    .optional()
    .describe('Options for every item'),
  webhook_url: z.string({ error: 'must be a string' }).optional().describe('https URL, POSTed batch.completed when every item has ended'),
});

/** The OpenAPI form of a batch request: `items` as what each item must be. */
export const batchRequestDocSchema = batchRequestSchema.extend({ items: z.array(batchItemSchema).min(1).max(MAX_BATCH_ITEMS) });

/** The fields of a root that failed its schema which can still be checked: items within bounds, an object of options, a string URL. */
function usableFields(raw: Record<string, unknown>): Partial<z.infer<typeof batchRequestSchema>> & { items: unknown[] } {
  const { items, options, webhook_url } = raw;
  const isObject = (value: unknown): value is Record<string, unknown> =>
    typeof value === 'object' && value !== null && !Array.isArray(value);
  return {
    items: Array.isArray(items) && items.length <= MAX_BATCH_ITEMS ? items : [],
    options: isObject(options) ? options : undefined,
    webhook_url: typeof webhook_url === 'string' ? webhook_url : undefined,
  };
}

interface PlannedBatch {
  items: { clientId?: string; options: CompressOptions; input: JobInput }[];
  webhookUrl?: string;
}

/**
 * Checks a whole batch before anything is stored: a malformed batch is one 400 listing every
 * problem, each named by its place in the body (`items.1.data`). Its code is the problems'
 * own when they share one (`invalid_url`), `invalid_param` otherwise.
 */
export function planBatch(raw: Record<string, unknown>, plan: Plan, allowLocalWebhooks: boolean): PlannedBatch {
  const problems: ApiError[] = [];
  const attempt = <T>(check: () => T): T | undefined => {
    try {
      return check();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      problems.push(error);
      return undefined;
    }
  };

  // A malformed root is listed too, and whatever of it is usable is still checked.
  const root = batchRequestSchema.safeParse(raw);
  if (!root.success) problems.push(ApiError.fromZod(root.error));
  const fields = root.success ? root.data : usableFields(raw);
  const { items, webhook_url } = fields;
  // Root options at fault are listed once, as `options.…`; items are then checked on their own options.
  const rootOptions = fields.options && attempt(() => parseOptions(fields.options!, 'options.')) ? fields.options : undefined;

  // Every item takes a job slot at once: a batch larger than the plan's slots could never start.
  if (items.length > plan.maxConcurrentJobs) {
    problems.push(
      new ApiError(
        'invalid_param',
        `This plan runs at most ${plan.maxConcurrentJobs} jobs at once, so a batch may have at most ${plan.maxConcurrentJobs} items; this one has ${items.length}`,
        { param: 'items' },
      ),
    );
  }
  const planned = items.map((rawItem, index) => {
    const at = `items.${index}`;
    const item = batchItemSchema.safeParse(rawItem);
    if (!item.success) {
      problems.push(ApiError.fromZod(item.error, `${at}.`));
      return undefined;
    }
    const options = attempt(() => parseOptions({ ...rootOptions, ...item.data.options }, `${at}.options.`));
    const { url, data } = item.data;
    if ((url === undefined) === (data === undefined)) {
      problems.push(new ApiError('invalid_param', `${at} needs exactly one of url or data`, { param: at }));
      return undefined;
    }
    const input = attempt((): JobInput => {
      if (url !== undefined) return { kind: 'url', url: parsePublicUrl(url, `${at}.url`).toString() };
      const bytes = decodeBase64(data!, `${at}.data`);
      if (bytes.byteLength > plan.maxFileBytes)
        throw new ApiError('file_too_large', `${at}.data is larger than this plan's limit of ${formatBytes(plan.maxFileBytes)}`, {
          param: `${at}.data`,
        });
      return { kind: 'bytes', bytes, name: '' };
    });
    return options && input ? { clientId: item.data.id, options, input } : undefined;
  });

  const webhookUrl = webhook_url === undefined ? undefined : attempt(() => parseWebhookUrl(webhook_url, allowLocalWebhooks).toString());

  if (problems.length === 1) throw problems[0]!;
  if (problems.length > 1) {
    const errors = problems.flatMap((problem) => problem.errors ?? []);
    const codes = new Set(problems.map((problem) => problem.code));
    const code = codes.size === 1 ? problems[0]!.code : 'invalid_param';
    throw new ApiError(code, `${errors.length} problems in the batch: ${errors.map((e) => e.param).join(', ')}`, {
      param: errors[0]!.param,
      errors,
    });
  }
  return { items: planned.map((item) => item!), webhookUrl };
}

export const batchRoutes = new Hono<AppEnv>()
  .post('/batch', async (c) => {
    const account = c.get('account');
    const body = await readJson(c.req.raw, MAX_BATCH_BODY_BYTES, MAX_BATCH_BODY_BYTES);
    const { items, webhookUrl } = planBatch(body, account.plan, c.env.ENVIRONMENT === 'development');

    const batchId = crypto.randomUUID();
    const origin = new URL(c.req.url).origin;
    // Items report to their batch when they end, so the batch must exist first.
    const { jobs, messages } = await submitJobs(
      c.env,
      account,
      items.map(({ clientId, options, input }) => ({ account, origin, options, input, batchId, clientId, checkHeader: false })),
    );
    await batchStub(c.env, batchId).create({
      id: batchId,
      accountId: account.id,
      origin,
      items: jobs.map((job) => ({ jobId: job.id, clientId: job.clientId })),
      webhookUrl,
      webhookSecret: webhookUrl ? account.webhookSecret : undefined,
    });
    await c.env.JOB_QUEUE.sendBatch(messages.map((body) => ({ body })));

    return c.json(
      {
        success: true,
        id: batchId,
        status: 'queued',
        poll_url: `/v1/batches/${batchId}`,
        items: jobs.map((job) => ({ id: job.id, client_id: job.clientId, status: job.status })),
      } satisfies BatchAccepted,
      202,
      { Location: `/v1/batches/${batchId}` },
    );
  })
  .get('/batches/:id', async (c) => {
    const id = c.req.param('id');
    const batch = await ownedBatch(c.env, id, c.get('account').id);
    return c.json(await batchView(batch, await batchJobs(c.env, batch), c.env.SIGNING_SECRET));
  });
