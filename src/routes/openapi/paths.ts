// The document's paths: every route's operations, with their parameters, bodies, headers and
// error codes.

import { IMAGE_FORMATS } from '../../pipeline/image-formats';
import { AUTHENTICATED, INTERNAL, PUBLIC, RATE_LIMIT_HEADERS, errorResponses, header, json, ref } from './components';

const jobIdParameter = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'The job id (a 202 answer, a batch item, or X-Job-Id of a synchronous answer)',
  schema: { type: 'string', format: 'uuid' },
};

const IMAGE_MIME_TYPES = Object.values(IMAGE_FORMATS).map((format) => format.mime);
const binary = { type: 'string', contentMediaType: 'application/octet-stream' };

/** Headers of the synchronous binary answer, the contract's and the ones this API adds. */
const RESULT_HEADERS = {
  'Content-Disposition': { description: 'attachment; filename="<name>.<ext>"', schema: { type: 'string' } },
  'X-Original-Size': { description: 'Input bytes', schema: { type: 'integer' } },
  'X-Compressed-Size': { description: 'Output bytes', schema: { type: 'integer' } },
  'X-Savings-Percent': {
    description: 'Rounded to hundredths; negative when a format change made the file larger',
    schema: { type: 'number' },
  },
  'X-Format': { description: 'Output format', schema: { type: 'string', enum: ['jpeg', 'png', 'webp', 'avif'] } },
  'X-Width': { description: 'Output width, px', schema: { type: 'integer' } },
  'X-Height': { description: 'Output height, px', schema: { type: 'integer' } },
  'X-Job-Id': {
    description:
      'The id of the job recorded for this compression (the request id): GET /v1/jobs/{id} shows it as a succeeded job, /download gives the stored output again until it expires, DELETE removes it at once',
    schema: { type: 'string', format: 'uuid' },
  },
  'X-Compressed': {
    description: 'false when the input came back unchanged because nothing smaller could be made',
    schema: { type: 'boolean' },
  },
  'X-Quality': { description: 'The encoder quality used (output.quality)', schema: { type: 'integer' } },
  'X-Colors': {
    description:
      'PNG output below quality 100: the number of colours in the palette the image was reduced to (output.colors); absent for true-colour output',
    schema: { type: 'integer', minimum: 1, maximum: 256 },
  },
  'X-Score': {
    description: 'Smart quality: the perceptual score reached, as `ssimulacra2=<value>` (output.score)',
    schema: { type: 'string' },
  },
  'X-Target-Met': {
    description: 'Whether smart quality or target_size reached its target (output.target_met)',
    schema: { type: 'boolean' },
  },
  Vary: { description: '`Accept` when format=auto or the answer is JSON', schema: { type: 'string' } },
};

/** Every route's operations; the compress operation takes the options as query parameters too. */
export function documentPaths(optionProperties: Record<string, object>) {
  return {
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
          "Either way the compression is recorded as a succeeded job whose id is the request id (`X-Job-Id`, the JSON `id`), and its output is kept for the plan's retention.",
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
            description:
              'Compressed within the request: the image itself (response=binary), with the X-… result headers; or JSON describing it (response=json or base64), whose `input` and `output` carry the same facts',
            headers: { 'X-Request-Id': header('X-Request-Id'), ...RATE_LIMIT_HEADERS, ...RESULT_HEADERS },
            content: {
              ...Object.fromEntries(IMAGE_MIME_TYPES.map((mime) => [mime, { schema: { type: 'string', contentMediaType: mime } }])),
              'application/json': { schema: ref('CompressAnswer') },
            },
          },
          202: json(
            'Accepted as a job; poll it at Location',
            ref('JobAccepted'),
            { Location: { description: '/v1/jobs/<id>', schema: { type: 'string' } } },
            AUTHENTICATED,
          ),
          ...errorResponses(
            [
              'missing_source',
              'invalid_param',
              'invalid_json',
              'invalid_url',
              'file_too_large',
              'image_too_large',
              'unsupported_format',
              'fetch_failed',
              'invalid_image',
              'compression_failed',
            ],
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
        responses: {
          200: json('The job', ref('Job'), {}, AUTHENTICATED),
          ...errorResponses(['not_found', 'gone', ...INTERNAL], AUTHENTICATED),
        },
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
            headers: {
              'X-Request-Id': header('X-Request-Id'),
              ...RATE_LIMIT_HEADERS,
              Location: { description: 'The signed link', schema: { type: 'string', format: 'uri' } },
            },
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
          202: json(
            'Accepted; poll it at Location',
            ref('BatchAccepted'),
            { Location: { description: '/v1/batches/<id>', schema: { type: 'string' } } },
            AUTHENTICATED,
          ),
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
        responses: {
          200: json('The batch', ref('Batch'), {}, AUTHENTICATED),
          ...errorResponses(['not_found', ...INTERNAL], AUTHENTICATED),
        },
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
        description:
          'No key: the signature is the credential. These links come in `url` fields and download redirects; they are not built by clients.',
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
  };
}
