import { Hono } from 'hono';
import { wasmCodecs } from '../codecs/wasm';
import { compressAnswer } from '../http/answer';
import { fetchImage } from '../http/fetch-image';
import { readSubmission } from '../http/submission';
import { compressImage } from '../pipeline/compress';
import type { AppEnv } from '../types';

export const compressRoutes = new Hono<AppEnv>().post('/', async (c) => {
  const { plan, id: accountId } = c.get('account');
  const { source, options } = await readSubmission(c.req.raw, plan.maxFileBytes);
  const { bytes, name } = source.kind === 'url' ? await fetchImage(source.url, plan.maxFileBytes) : source;

  const result = await compressImage(bytes, options, wasmCodecs, { maxPixels: plan.maxPixels });

  return compressAnswer(
    {
      requestId: c.get('requestId'),
      accountId,
      origin: new URL(c.req.url).origin,
      accept: c.req.header('accept'),
      files: c.env.FILES,
      signingSecret: c.env.SIGNING_SECRET,
      ttlSeconds: plan.outputTtlSeconds,
    },
    bytes,
    name,
    options,
    result,
  );
});
