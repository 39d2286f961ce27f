import { ApiError } from '../errors';
import { toHex } from '../hex';

/**
 * Links to stored files are signed by the Worker itself: HMAC-SHA256 over the path and the
 * expiry, with a server secret. Unlike R2's presigned URLs they need no R2 API token and do
 * not sign the host, so they keep working behind a custom domain.
 */

const encoder = new TextEncoder();

async function hmacKey(secret: string | undefined): Promise<CryptoKey> {
  if (!secret) throw new Error('SIGNING_SECRET is not configured; set it with `wrangler secret put SIGNING_SECRET`');
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

const signedText = (path: string, expires: number) => `${path}\n${expires}`;

export async function signPath(secret: string | undefined, path: string, expiresAt: Date): Promise<string> {
  const expires = Math.floor(expiresAt.getTime() / 1000);
  const signature = await crypto.subtle.sign('HMAC', await hmacKey(secret), encoder.encode(signedText(path, expires)));
  return `${path}?expires=${expires}&signature=${toHex(signature)}`;
}

/**
 * Checks a link: any change to the path, the expiry or the signature gives 403; a genuine
 * link past its expiry gives 410.
 */
export async function verifySignedPath(secret: string | undefined, url: URL, now = Date.now()): Promise<void> {
  const expiresText = url.searchParams.get('expires') ?? '';
  const signature = fromHex(url.searchParams.get('signature') ?? '');
  const extraParams = [...url.searchParams.keys()].some((k) => k !== 'expires' && k !== 'signature');
  const valid =
    // Only the form that was signed: `expires=0<value>` names the same second but is another link.
    /^(0|[1-9]\d{0,11})$/.test(expiresText) &&
    signature !== undefined &&
    !extraParams &&
    (await crypto.subtle.verify('HMAC', await hmacKey(secret), signature, encoder.encode(signedText(url.pathname, Number(expiresText)))));
  if (!valid) throw new ApiError('forbidden', 'The link signature does not verify');
  if (Number(expiresText) * 1000 <= now) throw new ApiError('gone', 'The link has expired');
}

function fromHex(hex: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^(?:[0-9a-f]{2})+$/.test(hex)) return undefined;
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}
