import { Hono } from 'hono';
import { ApiError } from '../errors';
import { keyFromFilesPath } from '../storage/files';
import { verifySignedPath } from '../storage/signed-links';
import type { AppEnv } from '../types';

/** Signed download links: no API key, the signature is the credential. */
export const fileRoutes = new Hono<AppEnv>().get('/:job_id/:name', async (c) => {
  const url = new URL(c.req.url);
  await verifySignedPath(c.env.SIGNING_SECRET, url);
  const object = await c.env.FILES.get(keyFromFilesPath(decodeURIComponent(url.pathname)));
  const expiresAt = object?.customMetadata?.expires_at;
  if (!object || (expiresAt && Date.parse(expiresAt) <= Date.now())) {
    await object?.body.cancel();
    throw new ApiError('gone', 'The file has expired or was deleted');
  }
  const headers = new Headers();
  object.writeHttpMetadata(headers);
  headers.set('ETag', object.httpEtag);
  headers.set('Content-Length', String(object.size));
  headers.set('Cache-Control', 'private, max-age=60');
  return new Response(object.body, { headers });
});
