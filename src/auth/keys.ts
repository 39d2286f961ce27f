import { ApiError } from '../errors';
import { PLANS, type Plan } from './plans';

export interface Account {
  /** Stable id that owns jobs and files. */
  id: string;
  plan: Plan;
  webhookSecret: string;
}

/** Exists only where ENVIRONMENT is "development" (`npm run dev`, tests); see README. */
export const DEV_API_KEY = 'ck_dev_local';
export const DEV_WEBHOOK_SECRET = 'whsec_dev_local';

interface KeyEnv {
  ENVIRONMENT: string;
}

/** Reads the key from `Authorization: Bearer` or `X-API-Key`. */
export function presentedKey(headers: Headers): string | undefined {
  const bearer = headers.get('authorization')?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  return bearer ?? headers.get('x-api-key')?.trim() ?? undefined;
}

/** The single place that turns a presented key into an account. */
export async function authenticate(env: KeyEnv, key: string | undefined): Promise<Account> {
  if (!key) throw new ApiError('unauthorized', 'Send your API key as "Authorization: Bearer <key>" or "X-API-Key: <key>"');
  if (env.ENVIRONMENT === 'development' && (await equalInConstantTime(key, DEV_API_KEY))) {
    return { id: 'acct_dev_local', plan: PLANS.dev, webhookSecret: DEV_WEBHOOK_SECRET };
  }
  throw new ApiError('unauthorized', 'Unknown API key');
}

/** Compares digests so that neither length nor content leaks through timing. */
async function equalInConstantTime(a: string, b: string): Promise<boolean> {
  const encoder = new TextEncoder();
  const [da, db] = await Promise.all([crypto.subtle.digest('SHA-256', encoder.encode(a)), crypto.subtle.digest('SHA-256', encoder.encode(b))]);
  return crypto.subtle.timingSafeEqual(da, db);
}
