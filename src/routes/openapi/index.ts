/**
 * The OpenAPI document, generated from the zod schemas that validate requests and type the
 * code building answers (schemas.ts). Paths, headers and error codes per operation are written
 * in paths.ts, the builders they share in components.ts.
 */

import { ref } from './components';
import { documentPaths } from './paths';
import { componentSchemas } from './schemas';

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
    paths: documentPaths(optionProperties),
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
        {
          name: 'X-Webhook-Event',
          in: 'header',
          required: true,
          schema: { type: 'string', enum: ['job.succeeded', 'job.failed', 'batch.completed'] },
        },
        { name: 'X-Webhook-Signature', in: 'header', required: true, schema: { type: 'string' } },
      ],
      requestBody: { required: true, content: { 'application/json': { schema: ref(schema) } } },
      responses: { '2XX': { description: 'Received; anything else is retried' } },
    },
  };
}
