import { IMAGE_FORMATS } from '../pipeline/image-formats';
import { z } from 'zod';
import { ERROR_MEANING, ERROR_STATUS, type ErrorCode } from '../errors';
import { canonicalForm, compressOptionsSchema } from '../schemas/options';
import { RESPONSE_SCHEMAS } from '../schemas/responses';
import { batchRequestDocSchema } from './batches';

/**
 * The OpenAPI document, generated from the zod schemas that validate requests and type the
 * code building answers. Paths, headers and error codes per operation are written here.
 */

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const header = (name: string) => ({ $ref: `#/components/headers/${name}` });

const RATE_LIMIT_HEADERS = {
  'X-RateLimit-Limit': header('X-RateLimit-Limit'),
  'X-RateLimit-Remaining': header('X-RateLimit-Remaining'),
  'X-RateLimit-Reset': header('X-RateLimit-Reset'),
};

interface Access {
  /** Needs a key: rate-limit headers on every answer, 401 and 429 possible. */
  authenticated: boolean;
}

/** Error responses for the given codes, grouped by status, each status's body restricted to its codes. */
function errorResponses(codes: ErrorCode[], { authenticated }: Access) {
  const all = [...new Set<ErrorCode>([...codes, ...(authenticated ? (['unauthorized', 'rate_limit_exceeded'] as const) : [])])];
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of all) byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  return Object.fromEntries(
    [...byStatus].map(([status, statusCodes]) => [
      String(status),
      {
        description: statusCodes.map((code) => `\`${code}\`: ${ERROR_MEANING[code]}`).join('; '),
        headers: {
          'X-Request-Id': header('X-Request-Id'),
          ...(authenticated && status !== 401 ? RATE_LIMIT_HEADERS : {}),
          ...(status === 429 ? { 'Retry-After': header('Retry-After') } : {}),
        },
        content: {
          'application/json': {
            schema: { allOf: [ref('Error'), { type: 'object', properties: { error: { type: 'object', properties: { code: { enum: statusCodes } } } } }] },
          },
        },
      },
    ]),
  );
}

function json(description: string, schema: object, headers: Record<string, object>, access: Access) {
  return {
    description,
    headers: { 'X-Request-Id': header('X-Request-Id'), ...(access.authenticated ? RATE_LIMIT_HEADERS : {}), ...headers },
    content: { 'application/json': { schema } },
  };
}

const AUTHENTICATED: Access = { authenticated: true };
const PUBLIC: Access = { authenticated: false };
/** Every route answers an internal fault this way; compression has its own code. */
const INTERNAL: ErrorCode[] = ['internal_error'];

const jobIdParameter = { name: 'id', in: 'path', required: true, description: 'The job id (a 202 answer, a batch item, or X-Job-Id of a synchronous answer)', schema: { type: 'string', format: 'uuid' } };

const IMAGE_MIME_TYPES = Object.values(IMAGE_FORMATS).map((format) => format.mime);
const binary = { type: 'string', contentMediaType: 'application/octet-stream' };

/** Headers of the synchronous binary answer, the contract's and the ones this API adds. */
const RESULT_HEADERS = {
  'Content-Disposition': { description: 'attachment; filename="<name>.<ext>"', schema: { type: 'string' } },
  'X-Original-Size': { description: 'Input bytes', schema: { type: 'integer' } },
  'X-Compressed-Size': { description: 'Output bytes', schema: { type: 'integer' } },
  'X-Savings-Percent': { description: 'Rounded to hundredths; negative when a format change made the file larger', schema: { type: 'number' } },
  'X-Format': { description: 'Output format', schema: { type: 'string', enum: ['jpeg', 'png', 'webp', 'avif'] } },
  'X-Width': { description: 'Output width, px', schema: { type: 'integer' } },
  'X-Height': { description: 'Output height, px', schema: { type: 'integer' } },
  'X-Job-Id': {
    description:
      'The id of the job recorded for this compression (the request id): GET /v1/jobs/{id} shows it as a succeeded job, /download gives the stored output again until it expires, DELETE removes it at once',
    schema: { type: 'string', format: 'uuid' },
  },
  'X-Compressed': { description: 'false when the input came back unchanged because nothing smaller could be made', schema: { type: 'boolean' } },
  'X-Quality': { description: 'The encoder quality used (output.quality)', schema: { type: 'integer' } },
  'X-Colors': {
    description: 'PNG output below quality 100: the number of colours in the palette the image was reduced to (output.colors); absent for true-colour output',
    schema: { type: 'integer', minimum: 1, maximum: 256 },
  },
  'X-Score': { description: 'Smart quality: the perceptual score reached, as `ssimulacra2=<value>` (output.score)', schema: { type: 'string' } },
  'X-Target-Met': { description: 'Whether smart quality or target_size reached its target (output.target_met)', schema: { type: 'boolean' } },
  Vary: { description: '`Accept` when format=auto or the answer is JSON', schema: { type: 'string' } },
};

let cached: object | undefined;

export function openApiDocument(): object {
  return (cached ??= buildDocument());
}

function buildDocument(): object {
  const schemas = componentSchemas();
  const optionProperties = (schemas.CompressOptions as { properties: Record<string, object> }).properties;

  return {
    openapi: '3.1.0',
    info: {
      title: 'compress-worker image compression API',
      version: '1',
      description: [
        'Compresses JPEG, PNG, WebP and AVIF images: synchronously for small inputs, as jobs for large ones, batches and `async=true`.',
        '',
        'Authenticate with `Authorization: Bearer <key>` or, equally, `X-API-Key: <key>` on every `/v1` route except health, formats, this document and signed file links.',
        'Every response carries `X-Request-Id`, a fresh UUID, which JSON bodies about the request repeat as `id`.',
        'Every authenticated response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`; a 429 also carries `Retry-After`.',
        'An unknown path answers 404 `not_found`; a known path with a method it does not answer, 405 `method_not_allowed` with an `Allow` header.',
        '',
        'Every error has the same body: `error.code` (stable; match on it), `error.message` (for people), and, when the error is about fields, `error.param` (the first) and `errors[]` (every one, `{ param, message }`).',
      ].join('\n'),
    },
    tags: [
      { name: 'Compression' },
      { name: 'Jobs', description: 'Asynchronous compressions, and the record of synchronous ones' },
      { name: 'Batches' },
      { name: 'Files', description: 'Signed download links' },
      { name: 'Account' },
      { name: 'Discovery' },
    ],
    security: [{ bearer: [] }, { apiKey: [] }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <key>' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'The same key, in a header of its own' },
      },
      headers: {
        'X-Request-Id': { description: 'A fresh UUID per request', schema: { type: 'string', format: 'uuid' } },
        'X-RateLimit-Limit': { description: "The plan's requests per minute", schema: { type: 'integer' } },
        'X-RateLimit-Remaining': { description: 'Requests left in this window', schema: { type: 'integer' } },
        'X-RateLimit-Reset': { description: 'Seconds until the window resets', schema: { type: 'integer' } },
        'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer' } },
      },
      schemas,
    },
    paths: {
      '/v1/compress': {
        post: {
          tags: ['Compression'],
          operationId: 'compress',
          summary: 'Compress an image',
          description: [
            'Exactly one source: a multipart `file`, a JSON `url` or `data` (base64), or the image itself as a raw `image/*` or `application/octet-stream` body.',
            'Options come as further form or JSON fields, or as query parameters (the only way with a raw body).',
            '',
            'Small inputs are compressed within the request: `200` with the image (`response=binary`, the default) or JSON (`response=json` or `base64`, or `Accept: application/json`).',
            'Either way the compression is recorded as a succeeded job whose id is the request id (`X-Job-Id`, the JSON `id`), and its output is kept for the plan\'s retention.',
            'Inputs over the async threshold, costly ones, `async=true` and `webhook_url` answer `202` with a job to poll.',
            'With `format=auto`, an `Accept` header naming `image/avif` or `image/webp` admits those formats.',
          ].join('\n'),
          parameters: Object.entries(optionProperties).map(([name, schema]) => ({ name, in: 'query', required: false, schema })),
          requestBody: {
            required: true,
            content: {
              'multipart/form-data': { schema: ref('CompressMultipart') },
              'application/json': { schema: ref('CompressJson') },
              'image/*': { schema: binary },
              'application/octet-stream': { schema: binary },
            },
          },
          responses: {
            200: {
              description: 'Compressed within the request: the image itself (response=binary), with the X-… result headers; or JSON describing it (response=json or base64), whose `input` and `output` carry the same facts',
              headers: { 'X-Request-Id': header('X-Request-Id'), ...RATE_LIMIT_HEADERS, ...RESULT_HEADERS },
              content: {
                ...Object.fromEntries(IMAGE_MIME_TYPES.map((mime) => [mime, { schema: { type: 'string', contentMediaType: mime } }])),
                'application/json': { schema: ref('CompressAnswer') },
              },
            },
            202: json('Accepted as a job; poll it at Location', ref('JobAccepted'), { Location: { description: '/v1/jobs/<id>', schema: { type: 'string' } } }, AUTHENTICATED),
            ...errorResponses(
              ['missing_source', 'invalid_param', 'invalid_json', 'invalid_url', 'file_too_large', 'image_too_large', 'unsupported_format', 'fetch_failed', 'invalid_image', 'compression_failed'],
              AUTHENTICATED,
            ),
          },
        },
      },
      '/v1/jobs/{id}': {
        parameters: [jobIdParameter],
        get: {
          tags: ['Jobs'],
          operationId: 'getJob',
          summary: 'A job: status, progress, result, download link',
          description: 'Fields that do not apply yet are absent. A failed job has `success: false` and `error`.',
          responses: { 200: json('The job', ref('Job'), {}, AUTHENTICATED), ...errorResponses(['not_found', 'gone', ...INTERNAL], AUTHENTICATED) },
        },
        delete: {
          tags: ['Jobs'],
          operationId: 'deleteJob',
          summary: 'Cancel a queued or running job, or remove a finished one’s files',
          description: 'Its stored files go at once; afterwards the job, its download and its signed link answer 410.',
          responses: {
            204: { description: 'Canceled or removed', headers: { 'X-Request-Id': header('X-Request-Id'), ...RATE_LIMIT_HEADERS } },
            ...errorResponses(['not_found', 'gone', ...INTERNAL], AUTHENTICATED),
          },
        },
      },
      '/v1/jobs/{id}/download': {
        parameters: [jobIdParameter],
        get: {
          tags: ['Jobs'],
          operationId: 'downloadJob',
          summary: "Redirect to the job's output",
          responses: {
            302: {
              description: 'To the signed link',
              headers: { 'X-Request-Id': header('X-Request-Id'), ...RATE_LIMIT_HEADERS, Location: { description: 'The signed link', schema: { type: 'string', format: 'uri' } } },
            },
            ...errorResponses(['not_found', 'gone', 'not_ready', ...INTERNAL], AUTHENTICATED),
          },
        },
      },
      '/v1/batch': {
        post: {
          tags: ['Batches'],
          operationId: 'createBatch',
          summary: 'Compress up to 100 images as jobs',
          description:
            'Item options override root options. A malformed batch is one 400 that lists every problem, each named by its place (`items.1.data`); nothing is stored unless the whole batch is valid.',
          requestBody: { required: true, content: { 'application/json': { schema: ref('BatchRequest') } } },
          responses: {
            202: json('Accepted; poll it at Location', ref('BatchAccepted'), { Location: { description: '/v1/batches/<id>', schema: { type: 'string' } } }, AUTHENTICATED),
            ...errorResponses(['invalid_param', 'invalid_json', 'invalid_url', 'file_too_large', ...INTERNAL], AUTHENTICATED),
          },
        },
      },
      '/v1/batches/{id}': {
        get: {
          tags: ['Batches'],
          operationId: 'getBatch',
          summary: 'A batch: status, counts, and every item as a job',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
          responses: { 200: json('The batch', ref('Batch'), {}, AUTHENTICATED), ...errorResponses(['not_found', ...INTERNAL], AUTHENTICATED) },
        },
      },
      '/v1/usage': {
        get: {
          tags: ['Account'],
          operationId: 'getUsage',
          summary: "The caller's plan and this month's usage",
          responses: { 200: json('Plan and usage', ref('Usage'), {}, AUTHENTICATED), ...errorResponses(INTERNAL, AUTHENTICATED) },
        },
      },
      '/v1/formats': {
        get: {
          tags: ['Discovery'],
          operationId: 'getFormats',
          summary: 'Formats, options and their ranges; the plan’s limits when a key is sent',
          description: 'Public. A key is optional; an unknown one is refused rather than ignored.',
          security: [{}, { bearer: [] }, { apiKey: [] }],
          responses: { 200: json('Formats', ref('Formats'), {}, PUBLIC), ...errorResponses(['unauthorized', ...INTERNAL], PUBLIC) },
        },
      },
      '/v1/health': {
        get: {
          tags: ['Discovery'],
          operationId: 'getHealth',
          summary: 'Liveness',
          security: [],
          responses: { 200: json('Up', ref('Health'), {}, PUBLIC), ...errorResponses(INTERNAL, PUBLIC) },
        },
      },
      '/v1/openapi.json': {
        get: {
          tags: ['Discovery'],
          operationId: 'getOpenApi',
          summary: 'This document',
          security: [],
          responses: { 200: json('OpenAPI 3.1', { type: 'object' }, {}, PUBLIC), ...errorResponses(INTERNAL, PUBLIC) },
        },
      },
      '/v1/files/{job_id}/{name}': {
        get: {
          tags: ['Files'],
          operationId: 'getFile',
          summary: 'Download a stored output through a signed link',
          description: 'No key: the signature is the credential. These links come in `url` fields and download redirects; they are not built by clients.',
          security: [],
          parameters: [
            { name: 'job_id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
            { name: 'name', in: 'path', required: true, schema: { type: 'string' } },
            { name: 'expires', in: 'query', required: true, description: 'Unix seconds', schema: { type: 'integer' } },
            { name: 'signature', in: 'query', required: true, description: 'Hex HMAC-SHA256', schema: { type: 'string' } },
          ],
          responses: {
            200: {
              description: 'The file, as an attachment',
              headers: { 'X-Request-Id': header('X-Request-Id'), 'Content-Disposition': RESULT_HEADERS['Content-Disposition'] },
              content: Object.fromEntries(IMAGE_MIME_TYPES.map((mime) => [mime, { schema: { type: 'string', contentMediaType: mime } }])),
            },
            ...errorResponses(['forbidden', 'gone', ...INTERNAL], PUBLIC),
          },
        },
      },
      '/docs': {
        get: {
          tags: ['Discovery'],
          operationId: 'getDocs',
          summary: 'This reference, rendered (HTML)',
          security: [],
          responses: { 200: { description: 'HTML page', content: { 'text/html': { schema: { type: 'string' } } } } },
        },
      },
    },
    webhooks: {
      'job.succeeded': webhook('A job succeeded: the job object', 'Job'),
      'job.failed': webhook('A job failed: the job object, with `success: false` and `error`', 'Job'),
      'batch.completed': webhook('Every item of a batch has ended: the batch object', 'Batch'),
    },
  };
}

function webhook(summary: string, schema: string) {
  return {
    post: {
      summary,
      description:
        'Headers: `X-Webhook-Id` (unique per event, stable across retries), `X-Webhook-Event`, `X-Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` with the key\'s webhook secret. A non-2xx answer or a timeout (10 s) is retried with backoff.',
      security: [],
      parameters: [
        { name: 'X-Webhook-Id', in: 'header', required: true, schema: { type: 'string' } },
        { name: 'X-Webhook-Event', in: 'header', required: true, schema: { type: 'string', enum: ['job.succeeded', 'job.failed', 'batch.completed'] } },
        { name: 'X-Webhook-Signature', in: 'header', required: true, schema: { type: 'string' } },
      ],
      requestBody: { required: true, content: { 'application/json': { schema: ref(schema) } } },
      responses: { '2XX': { description: 'Received; anything else is retried' } },
    },
  };
}

/** Request bodies, as documents: the options schema plus each form's source field. */
const compressJsonSchema = z.strictObject({
  url: z.url().optional().describe('A public http(s) image; exactly one of url or data'),
  data: z.string().optional().describe('The image, base64 (plain or URL-safe, a data: URI prefix allowed); exactly one of url or data'),
  ...compressOptionsSchema.shape,
});
const compressMultipartSchema = z.strictObject({ file: z.file().describe('The image'), ...compressOptionsSchema.shape });

/**
 * Every named schema, converted together so that shared ones are references. `io: 'input'`
 * documents what clients send for requests and, for responses (which have no defaults or
 * transforms), leaves objects open to fields added later.
 */
function componentSchemas(): Record<string, object> {
  const registry = z.registry<{ id: string }>();
  const named: Record<string, z.ZodType> = {
    ...RESPONSE_SCHEMAS,
    CompressOptions: compressOptionsSchema,
    CompressJson: compressJsonSchema,
    CompressMultipart: compressMultipartSchema,
    BatchRequest: batchRequestDocSchema,
  };
  for (const [id, schema] of Object.entries(named)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { io: 'input', unrepresentable: 'any', override: canonicalForm, uri: (id) => `#/components/schemas/${id}` });
  return Object.fromEntries(Object.entries(schemas).map(([id, schema]) => [id, tidy(schema)]));
}

/**
 * Drops what means nothing to a reader: per-schema `$schema`/`$id`, the safe-integer bounds
 * zod gives every integer, and the regular expressions it spells a `format` out with.
 */
function tidy(value: unknown): object {
  return JSON.parse(JSON.stringify(value), (key, v) => {
    if (key === '$schema' || key === '$id') return undefined;
    if ((key === 'minimum' && v === Number.MIN_SAFE_INTEGER) || (key === 'maximum' && v === Number.MAX_SAFE_INTEGER)) return undefined;
    if (v && typeof v === 'object' && typeof v.format === 'string' && typeof v.pattern === 'string') {
      const { pattern: _, ...rest } = v;
      return rest;
    }
    return v;
  });
}
