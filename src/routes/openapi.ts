import { z } from 'zod';
import { ERROR_STATUS } from '../errors';
import { compressOptionsSchema } from '../schemas/options';

/** The OpenAPI document, generated from the same zod schema that validates requests. */
export function openApiDocument() {
  const options = z.toJSONSchema(compressOptionsSchema, { io: 'input', unrepresentable: 'any', target: 'openapi-3.0' }) as {
    properties: Record<string, object>;
  };
  const errorResponse = (codes: string[]) => ({
    description: codes.join(', '),
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  });
  const byStatus = Object.entries(ERROR_STATUS).reduce<Record<string, string[]>>((acc, [code, status]) => {
    (acc[status] ??= []).push(code);
    return acc;
  }, {});
  const errors = Object.fromEntries(Object.entries(byStatus).map(([status, codes]) => [status, errorResponse(codes)]));

  return {
    openapi: '3.0.3',
    info: { title: 'Image compression API', version: '1' },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      },
      schemas: {
        CompressOptions: options,
        Error: {
          type: 'object',
          required: ['success', 'id', 'error'],
          properties: {
            success: { type: 'boolean', enum: [false] },
            id: { type: 'string', format: 'uuid' },
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: { code: { type: 'string', enum: Object.keys(ERROR_STATUS) }, message: { type: 'string' }, param: { type: 'string' } },
            },
            errors: { type: 'array', items: { type: 'object', properties: { param: { type: 'string' }, message: { type: 'string' } } } },
          },
        },
      },
    },
    security: [{ bearer: [] }, { apiKey: [] }],
    paths: {
      '/v1/compress': {
        post: {
          summary: 'Compress an image',
          parameters: Object.entries(options.properties).map(([name, schema]) => ({ name, in: 'query', required: false, schema })),
          requestBody: {
            content: {
              'multipart/form-data': {
                schema: { allOf: [{ $ref: '#/components/schemas/CompressOptions' }, { type: 'object', properties: { file: { type: 'string', format: 'binary' } } }] },
              },
              'application/json': {
                schema: {
                  allOf: [
                    { $ref: '#/components/schemas/CompressOptions' },
                    { type: 'object', properties: { url: { type: 'string', format: 'uri' }, data: { type: 'string', format: 'byte' } } },
                  ],
                },
              },
              'image/*': { schema: { type: 'string', format: 'binary' } },
              'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
            },
          },
          responses: { 200: { description: 'The compressed image, or JSON describing it' }, ...errors },
        },
      },
      '/v1/health': { get: { summary: 'Liveness', security: [], responses: { 200: { description: '{ "status": "ok" }' } } } },
      '/v1/formats': { get: { summary: 'Formats, options and (with a key) plan limits', security: [], responses: { 200: { description: 'Formats' } } } },
      '/v1/files/{job}/{name}': {
        get: {
          summary: 'Download a stored output through a signed link',
          security: [],
          parameters: [
            { name: 'job', in: 'path', required: true, schema: { type: 'string' } },
            { name: 'name', in: 'path', required: true, schema: { type: 'string' } },
            { name: 'expires', in: 'query', required: true, schema: { type: 'integer' } },
            { name: 'signature', in: 'query', required: true, schema: { type: 'string' } },
          ],
          responses: { 200: { description: 'The file' }, 403: errors[403], 410: errors[410] },
        },
      },
    },
  };
}
