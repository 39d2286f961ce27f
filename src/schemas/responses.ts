import { z } from 'zod';
import { ERRORS, type ErrorCode } from '../errors';
import { OUTPUT_FORMATS } from './options';

/**
 * The bodies the API answers with, defined once. The code that builds each body is typed by
 * its schema, and the OpenAPI document is generated from the same schemas (`RESPONSE_SCHEMAS`
 * names its components), so neither can drift from the other.
 */

const timestamp = z.iso.datetime({ offset: true }).describe('ISO 8601, UTC');
const bytes = z.int().nonnegative();
const requestId = z.uuid().describe('The request id, as in the X-Request-Id header');

export const paramErrorSchema = z.object({
  param: z.string().describe('The field, with its path in the body where it is nested (`items.1.data`)'),
  message: z.string(),
});

export const errorCodeSchema = z.enum(Object.keys(ERRORS) as [ErrorCode, ...ErrorCode[]]);

export const errorBodySchema = z
  .object({
    success: z.literal(false),
    id: requestId,
    error: z.object({
      code: errorCodeSchema,
      message: z.string().describe('A sentence for people; match on `code`'),
      param: z.string().optional().describe('The first field at fault, when the error is about a field'),
    }),
    errors: z
      .array(paramErrorSchema)
      .min(1)
      .optional()
      .describe('Present exactly when `error.param` is: every field at fault, `error.param` first'),
  })
  .describe('The body of every error, on every route');

export type ErrorBody = z.infer<typeof errorBodySchema>;

export const imageDescriptionSchema = z
  .object({
    name: z.string().describe('File name; the output takes the input base name and the output format as extension'),
    format: z.enum(OUTPUT_FORMATS),
    mime: z.string(),
    size: bytes.describe('Bytes'),
    width: z.int().positive(),
    height: z.int().positive(),
    sha1: z.string().regex(/^[0-9a-f]{40}$/),
    quality: z.int().min(1).max(100).optional().describe('Output only: the encoder quality used'),
    colors: z
      .int()
      .min(1)
      .max(256)
      .optional()
      .describe(
        'Output only, PNG below quality 100: the number of colours in the palette the image was reduced to (also the X-Colors header)',
      ),
    score: z
      .object({ metric: z.literal('ssimulacra2'), value: z.number() })
      .optional()
      .describe('Output only, with smart quality: the perceptual score against the oriented, resized input (100 is identical)'),
    target_met: z
      .boolean()
      .optional()
      .describe('Output only: whether smart quality or target_size reached its target; false returns the nearest result'),
  })
  .describe('An input or output image');
export type ImageDescription = z.infer<typeof imageDescriptionSchema>;

export const jobStatusSchema = z.enum(['queued', 'processing', 'succeeded', 'failed', 'canceled']);

const webhookDeliveriesSchema = z
  .object({
    url: z.string(),
    deliveries: z.array(
      z.object({
        id: z.string().describe('X-Webhook-Id: unique per event, stable across retries'),
        event: z.enum(['job.succeeded', 'job.failed', 'batch.completed']),
        state: z.enum(['pending', 'delivered', 'failed']),
        attempts: z.array(z.object({ at: timestamp, status: z.int().optional(), error: z.string().optional() })),
      }),
    ),
  })
  .describe('Where the webhook goes, and every delivery attempt');

export const jobViewSchema = z
  .object({
    success: z
      .boolean()
      .describe('false exactly when the job failed (`status` failed, with `error`); a webhook for `job.failed` says false'),
    id: z.uuid().describe('The job id'),
    status: jobStatusSchema,
    progress: z.int().min(0).max(100),
    created_at: timestamp,
    started_at: timestamp.optional(),
    completed_at: timestamp.optional(),
    batch_id: z.uuid().optional(),
    client_id: z.string().optional().describe("The batch item's own id"),
    attempts: z.int().nonnegative().describe('Runs started (a compression done within its request counts one)'),
    estimated_seconds: z.number().optional().describe('While queued or processing'),
    compressed: z.boolean().optional().describe('false when the input came back unchanged because nothing smaller could be made'),
    input: imageDescriptionSchema.optional(),
    output: imageDescriptionSchema.optional(),
    savings_percent: z.number().optional(),
    url: z.url().optional().describe('Signed download link, once succeeded and until expiry or deletion'),
    expires_at: timestamp.describe('When the stored files go; provisional until the job ends'),
    error: z.object({ code: errorCodeSchema, message: z.string() }).optional().describe('Why the job failed'),
    last_error: z.string().optional().describe('While queued for a retry: what the last run ran into'),
    webhook: webhookDeliveriesSchema.optional(),
  })
  .describe('A job; fields that do not apply yet are absent');
export type JobView = z.infer<typeof jobViewSchema>;

/** The start of a 202 answer: what was queued, and where to poll it. */
const accepted = (what: 'job' | 'batch', path: string) =>
  z.object({
    success: z.literal(true),
    id: z.uuid().describe(`The ${what} id`),
    status: z.literal('queued'),
    poll_url: z.string().describe(`${path}/<id>, also the Location header`),
  });

export const jobAcceptedSchema = accepted('job', '/v1/jobs').extend({
  estimated_seconds: z.number(),
  expires_at: timestamp.describe('Provisional: outputs are kept for the retention period after the job ends'),
});
export type JobAccepted = z.infer<typeof jobAcceptedSchema>;

export const compressAnswerSchema = z
  .object({
    success: z.literal(true),
    id: requestId.describe('The request id, which is also the id of the job recorded for it (GET and DELETE /v1/jobs/{id})'),
    status: z.literal('succeeded'),
    compressed: z.boolean().describe('false: the input came back unchanged because nothing smaller could be made'),
    url: z.url().optional().describe('response=json: signed download link, no key needed'),
    data: z.string().optional().describe('response=base64: the output, base64'),
    expires_at: timestamp.describe('When the stored output goes'),
    input: imageDescriptionSchema,
    output: imageDescriptionSchema,
    savings_percent: z.number().describe('Rounded to hundredths; negative when a format change made the file larger'),
    target: z
      .object({ size: bytes, met: z.boolean() })
      .optional()
      .describe('With target_size: the size asked for and whether the output fits'),
  })
  .describe('A synchronous compression, answered as JSON (response=json or base64, or Accept: application/json)');
export type CompressAnswer = z.infer<typeof compressAnswerSchema>;

export const batchAcceptedSchema = accepted('batch', '/v1/batches').extend({
  items: z.array(z.object({ id: z.uuid().describe('The job id'), client_id: z.string().optional(), status: jobStatusSchema })),
});
export type BatchAccepted = z.infer<typeof batchAcceptedSchema>;

export const batchViewSchema = z.object({
  success: z.literal(true),
  id: z.uuid(),
  status: z.enum(['queued', 'processing', 'completed']),
  created_at: timestamp,
  completed_at: timestamp.optional(),
  total: z.int().min(1),
  counts: z.record(jobStatusSchema, z.int().nonnegative()).describe('Items per job status'),
  items: z.array(jobViewSchema),
  webhook: webhookDeliveriesSchema.optional(),
});
export type BatchView = z.infer<typeof batchViewSchema>;

export const planLimitsSchema = z.object({
  name: z.string(),
  requests_per_minute: z.int(),
  max_file_size: bytes,
  max_pixels: z.int(),
  max_concurrent_jobs: z.int(),
  monthly_compressions: z.int(),
  output_retention_seconds: z.int().describe('How long outputs are kept after their compression ends'),
});
export type PlanLimits = z.infer<typeof planLimitsSchema>;

export const usageSchema = z.object({
  success: z.literal(true),
  plan: planLimitsSchema,
  period: z.object({ start: timestamp, end: timestamp }).describe('This calendar month, UTC'),
  usage: z.object({
    compressions: z.int().nonnegative(),
    compressions_remaining: z.int().nonnegative(),
    bytes_in: bytes,
    bytes_out: bytes,
    bytes_saved: z.int().describe('bytes_in − bytes_out'),
  }),
  concurrent_jobs: z.object({ active: z.int().nonnegative(), limit: z.int() }),
});
export type Usage = z.infer<typeof usageSchema>;

const pixelLimit = z.int().positive();

export const formatsSchema = z.object({
  success: z.literal(true),
  input: z.array(
    z.object({
      format: z.enum(OUTPUT_FORMATS),
      mime: z.string(),
      max_pixels: pixelLimit.optional(),
      max_pixels_with_alpha_plane: pixelLimit.optional(),
      max_pixels_lossless: pixelLimit.optional(),
      max_pixels_with_alpha: pixelLimit.optional(),
    }),
  ),
  output: z.array(
    z.object({
      format: z.enum(OUTPUT_FORMATS),
      mime: z.string(),
      quality: z.object({
        min: z.int(),
        max: z.int(),
        smart: z.object({
          metric: z.string(),
          targets: z.record(z.string(), z.number()).describe('Score target per mode'),
          banding: z.object({ metric: z.string(), limit: z.number() }),
          colour_shift: z.object({ metric: z.string(), limits: z.record(z.string(), z.number()) }).optional(),
        }),
        note: z.string().optional(),
      }),
      lossless: z.boolean(),
      max_dimension: z.int(),
      max_output_side: z.int(),
      max_pixels: pixelLimit,
      max_pixels_lossless: pixelLimit.optional(),
      max_pixels_from_avif_input: pixelLimit.optional(),
    }),
  ),
  options: z.record(z.string(), z.unknown()).describe('JSON Schema of the compression options'),
  limits: planLimitsSchema.optional().describe("The caller's plan, when a key is sent"),
});
export type Formats = z.infer<typeof formatsSchema>;

export const healthSchema = z.object({ status: z.literal('ok') });
export type Health = z.infer<typeof healthSchema>;

/** Every response schema, by the name it has among the OpenAPI document's components. */
export const RESPONSE_SCHEMAS = {
  Error: errorBodySchema,
  ParamError: paramErrorSchema,
  Image: imageDescriptionSchema,
  Job: jobViewSchema,
  JobAccepted: jobAcceptedSchema,
  CompressAnswer: compressAnswerSchema,
  BatchAccepted: batchAcceptedSchema,
  Batch: batchViewSchema,
  PlanLimits: planLimitsSchema,
  Usage: usageSchema,
  Formats: formatsSchema,
  Health: healthSchema,
};
