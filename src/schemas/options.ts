import { z } from 'zod';

/**
 * The compression options, defined once. Multipart fields and query parameters arrive as
 * strings and JSON bodies as typed values, so every scalar accepts both spellings.
 * The same schema validates requests, types the pipeline and feeds the OpenAPI document.
 */

export const OUTPUT_FORMATS = ['jpeg', 'png', 'webp', 'avif'] as const;
export type ImageFormat = (typeof OUTPUT_FORMATS)[number];

/** WebP's hard limit, the smallest of our encoders'. */
export const MAX_DIMENSION = 16383;

/**
 * Form fields and query parameters arrive as strings, so integers and booleans also accept
 * their spellings as text; documents show each in its own type (`canonicalForm`).
 */
const DOCUMENTED_AS = new WeakMap<z.ZodType, Record<string, unknown>>();
const documentedAs = <T extends z.ZodType>(schema: T, jsonSchema: Record<string, unknown>): T => {
  DOCUMENTED_AS.set(schema, jsonSchema);
  return schema;
};

/** A `z.toJSONSchema` override that documents the lenient schemas above in their canonical form. */
export const canonicalForm = (ctx: { zodSchema: unknown; jsonSchema: Record<string, unknown> }): void => {
  const documented = DOCUMENTED_AS.get(ctx.zodSchema as z.ZodType);
  if (!documented) return;
  delete ctx.jsonSchema.anyOf;
  Object.assign(ctx.jsonSchema, documented);
};

// Each union carries its own message: without one, zod reports a value that fits no branch as "Invalid input".
const integer = (min: number, max: number, what: string) =>
  documentedAs(
    z
      .union(
        [
          z.number(),
          z
            .string()
            .trim()
            .regex(/^-?\d+$/)
            .transform(Number),
        ],
        { error: `must be a whole number of ${what}` },
      )
      .pipe(z.number().int(`must be a whole number of ${what}`).min(min, `must be at least ${min}`).max(max, `must be at most ${max}`)),
    { type: 'integer', minimum: min, maximum: max },
  );

const boolean = documentedAs(
  z
    .union(
      [z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off']).transform((v) => ['true', '1', 'yes', 'on'].includes(v))],
      {
        error: 'must be true or false',
      },
    )
    .describe('true or false (as text also 1/0, yes/no, on/off)'),
  { type: 'boolean' },
);

// Options that transform take `prefault`, not `default`: the same value when absent, and
// unlike a default it is shown in the documents (zod omits defaults of transforming schemas).
const choice = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `must be one of ${values.join(', ')}` });

export const compressOptionsSchema = z
  .strictObject({
    format: choice([...OUTPUT_FORMATS, 'auto'])
      .default('auto')
      .describe('Output format; auto keeps the input format'),
    quality: z
      .union([z.literal('smart'), integer(1, 100, 'quality points')], {
        error: 'must be an integer from 1 to 100, or smart',
      })
      .prefault('smart')
      .describe('Encoder quality 1..100, or smart'),
    mode: choice(['size', 'balanced', 'quality']).default('balanced').describe('How far smart quality may go'),
    target_size: integer(1, 1 << 30, 'bytes')
      .optional()
      .describe('Largest acceptable output, in bytes: the best quality that fits (not with quality)'),
    max_width: integer(1, MAX_DIMENSION, 'pixels')
      .optional()
      .describe('Shrink to fit inside this width, keeping the aspect ratio; never enlarges'),
    max_height: integer(1, MAX_DIMENSION, 'pixels')
      .optional()
      .describe('Shrink to fit inside this height, keeping the aspect ratio; never enlarges'),
    width: integer(1, MAX_DIMENSION, 'pixels').optional().describe('Exact output width; alone, the height keeps the aspect ratio'),
    height: integer(1, MAX_DIMENSION, 'pixels').optional().describe('Exact output height; alone, the width keeps the aspect ratio'),
    fit: choice(['cover', 'contain', 'fill']).default('cover').describe('With width and height: crop, fit inside, or stretch'),
    strip_metadata: boolean.prefault(true).describe('Drop EXIF and other metadata (orientation is applied to the pixels first)'),
    keep_icc: boolean.prefault(true).describe('Keep the ICC colour profile in JPEG, PNG and WebP outputs, even when stripping metadata'),
    lossless: boolean.prefault(false).describe('png, webp and avif only'),
    response: choice(['binary', 'json', 'base64']).optional().describe('binary unless Accept asks for JSON'),
    async: boolean.prefault(false).describe('Always answer with a job'),
    webhook_url: z
      .url({ protocol: /^https?$/, error: 'must be an https URL' })
      .optional()
      .describe('https URL POSTed job.succeeded or job.failed when the job ends; implies async'),
  })
  .superRefine((o, ctx) => {
    if (o.target_size !== undefined && o.quality !== 'smart') {
      ctx.addIssue({ code: 'custom', path: ['target_size'], message: 'cannot be combined with quality' });
    }
  });

export type CompressOptionsInput = z.input<typeof compressOptionsSchema>;
export type CompressOptions = z.output<typeof compressOptionsSchema>;
/** How far smart quality may go. */
export type Mode = CompressOptions['mode'];
