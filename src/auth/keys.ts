import { ApiError } from '../errors';
import { type KeyRecord, hashKey, keyRecordName } from './key-format';
import { PLANS, type Plan } from './plans';

export interface Account {
  /** Stable id that owns jobs, files and usage; one per key. */
  id: string;
  plan: Plan;
  webhookSecret: string;
}

/** Exists only where ENVIRONMENT is "development" (`npm run dev`, tests); see README. */
export const DEV_API_KEY = 'ck_dev_local';
export const DEV_WEBHOOK_SECRET = 'whsec_dev_local';

interface KeyEnv {
  ENVIRONMENT: string;
  API_KEYS: KVNamespace;
}

/** Loopback names and addresses, and `.test` names (reserved, never on the internet: the test suite's host). */
export const isLocalHost = (host: string) =>
  ['localhost', '127.0.0.1', '[::1]'].includes(host) || host.endsWith('.localhost') || host.endsWith('.test');

/** Reads the key from `Authorization: Bearer` or `X-API-Key`. */
export function presentedKey(headers: Headers): string | undefined {
  const bearer = headers.get('authorization')?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  return bearer ?? headers.get('x-api-key')?.trim() ?? undefined;
}

/**
 * The single place that turns a presented key into an account. Keys are looked up by their
 * SHA-256 (only hashes are stored), and the stored hash is compared in constant time.
 * A revocation is seen at once where it was written and elsewhere within KV's propagation
 * time (README, "API keys").
 */
export async function authenticate(env: KeyEnv, key: string | undefined, host: string): Promise<Account> {
  if (!key) throw new ApiError('unauthorized', 'Send your API key as "Authorization: Bearer <key>" or "X-API-Key: <key>"');
  const hash = await hashKey(key);
  if (env.ENVIRONMENT === 'development' && equalHashes(hash, await hashKey(DEV_API_KEY))) {
    // A development configuration deployed by mistake must not open the public key to the internet.
    if (!isLocalHost(host)) throw new ApiError('unauthorized', `The development key answers only on localhost, not on ${host}`);
    return { id: 'acct_dev_local', plan: PLANS.dev, webhookSecret: DEV_WEBHOOK_SECRET };
  }
  const record = /^ck_(live|test)_[A-Za-z0-9]{32}$/.test(key) ? await env.API_KEYS.get<KeyRecord>(keyRecordName(hash), 'json') : null;
  if (!record || !equalHashes(record.hash, hash) || !(record.plan in PLANS)) throw new ApiError('unauthorized', 'Unknown API key');
  if (record.revokedAt) throw new ApiError('unauthorized', `This API key was revoked on ${record.revokedAt}`);
  return { id: record.accountId, plan: PLANS[record.plan], webhookSecret: record.webhookSecret };
}

function equalHashes(a: string, b: string): boolean {
  const encoder = new TextEncoder();
  const [x, y] = [encoder.encode(a), encoder.encode(b)];
  return x.byteLength === y.byteLength && crypto.subtle.timingSafeEqual(x, y);
}
