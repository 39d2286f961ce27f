// The document's named schemas, converted from the zod schemas that validate requests and
// type answers.

import { z } from 'zod';
import { canonicalForm, compressOptionsSchema } from '../../schemas/options';
import { RESPONSE_SCHEMAS } from '../../schemas/responses';
import { batchRequestDocSchema } from '../batches';

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
export function componentSchemas(): Record<string, object> {
  const registry = z.registry<{ id: string }>();
  const named: Record<string, z.ZodType> = {
    ...RESPONSE_SCHEMAS,
    CompressOptions: compressOptionsSchema,
    CompressJson: compressJsonSchema,
    CompressMultipart: compressMultipartSchema,
    BatchRequest: batchRequestDocSchema,
  };
  for (const [id, schema] of Object.entries(named)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    io: 'input',
    unrepresentable: 'any',
    override: canonicalForm,
    uri: (id) => `#/components/schemas/${id}`,
  });
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
