import { Hono } from 'hono';
import { z } from 'zod';
import { ApiError, type ParamError } from '../errors';
import { fileTooLarge } from '../http/body';
import { parsePublicUrl, parseWebhookUrl } from '../http/public-url';
import { decodeBase64, readJson } from '../http/submission';
import { batchJobs, batchStub, ownedBatch } from '../jobs/access';
import { type JobInput, submitJobs } from '../jobs/submit';
import { batchView } from '../jobs/views';
import { compressOptionsSchema } from '../schemas/options';
import type { AppEnv } from '../types';

export const MAX_BATCH_ITEMS = 100;
/** Base64 items travel inside one JSON body; large files belong in `url` items. */
const MAX_BATCH_BODY_BYTES = 32 * 1024 * 1024;

const batchSchema = z.strictObject({
  items: z
    .array(
      z.strictObject({
        url: z.string().optional(),
        data: z.string().optional(),
        id: z.string().max(200).optional().describe('your own id for the item, echoed as client_id'),
        options: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .min(1, 'must hold at least one item')
    .max(MAX_BATCH_ITEMS, `must hold at most ${MAX_BATCH_ITEMS} items`),
  options: z.record(z.string(), z.unknown()).optional(),
  webhook_url: z.string().optional(),
});

export const batchRoutes = new Hono<AppEnv>()
  .post('/batch', async (c) => {
    const account = c.get('account');
    const body = batchSchema.safeParse(await readJson(c.req.raw, MAX_BATCH_BODY_BYTES, MAX_BATCH_BODY_BYTES));
    if (!body.success) throw ApiError.fromZod(body.error);
    const { items, webhook_url } = body.data;
    // Every item takes a job slot at once: a batch larger than the plan's slots could never start.
    const slots = account.plan.maxConcurrentJobs;
    if (items.length > slots) {
      throw new ApiError('invalid_param', `This plan runs at most ${slots} jobs at once, so a batch may have at most ${slots} items; this one has ${items.length}`, 'items');
    }

    // Validate everything before anything is stored: a malformed batch is one 400 listing every problem.
    const errors: ParamError[] = [];
    const planned = items.map((item, index) => {
      const options = compressOptionsSchema.safeParse({ ...body.data.options, ...item.options });
      if (!options.success) errors.push(...ApiError.fromZod(options.error, `items.${index}.options.`).errors!);
      const sources = [item.url, item.data].filter((s) => s !== undefined);
      if (sources.length !== 1) errors.push({ param: `items.${index}`, message: 'needs exactly one of url or data' });
      return { item, index, options: options.data };
    });
    if (errors.length) throw new ApiError('invalid_param', `${errors.length} problem(s) in the batch: ${errors.map((e) => e.param).join(', ')}`, errors[0]!.param, errors);

    const inputs = planned.map(({ item, index }): JobInput => {
      if (item.url !== undefined) return { kind: 'url', url: parsePublicUrl(item.url, `items.${index}.url`).toString() };
      const bytes = decodeBase64(item.data!);
      if (bytes.byteLength > account.plan.maxFileBytes) throw fileTooLarge(account.plan.maxFileBytes)();
      return { kind: 'bytes', bytes, name: '' };
    });
    const webhookUrl = webhook_url && parseWebhookUrl(webhook_url, c.env.ENVIRONMENT === 'development').toString();

    const batchId = crypto.randomUUID();
    const origin = new URL(c.req.url).origin;
    // Items report to their batch when they end, so the batch must exist first.
    const { jobs, messages } = await submitJobs(
      c.env,
      account,
      planned.map(({ item, index, options }) => ({ account, origin, options: options!, input: inputs[index]!, batchId, clientId: item.id, checkHeader: false })),
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
      },
      202,
      { Location: `/v1/batches/${batchId}` },
    );
  })
  .get('/batches/:id', async (c) => {
    const id = c.req.param('id');
    const batch = await ownedBatch(c.env, id, c.get('account').id);
    return c.json(await batchView(batch, await batchJobs(c.env, batch), c.env.SIGNING_SECRET));
  });
