/**
 * API keys and how they are stored. Shared by the Worker and the `npm run keys` CLI, so
 * both hash and name keys the same way.
 */
import type { PlanName } from './plans';

export type KeyKind = 'live' | 'test';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** 32 characters of base62: about 190 bits, drawn without modulo bias. */
export function randomToken(length = 32): string {
  let out = '';
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62];
    }
  }
  return out;
}

export const newApiKey = (kind: KeyKind) => `ck_${kind}_${randomToken()}`;
export const newWebhookSecret = () => `whsec_${randomToken()}`;

/** What identifies a key in listings and `revoke`: its kind and first characters, never the whole key. */
export const keyPrefix = (key: string) => key.slice(0, 16);

/** Self-contained (no runtime imports): the key CLI runs this file directly under Node. */
export async function hashKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** KV key of a key's record: only the hash is stored. */
export const keyRecordName = (hash: string) => `key:${hash}`;

export interface KeyRecord {
  hash: string;
  prefix: string;
  accountId: string;
  plan: PlanName;
  label: string;
  createdAt: string;
  webhookSecret: string;
  revokedAt?: string;
}

/** Stored as KV metadata too, so listing needs no reads. */
export type KeyMetadata = Pick<KeyRecord, 'prefix' | 'accountId' | 'plan' | 'label' | 'createdAt' | 'revokedAt'>;

export function keyMetadata(record: KeyRecord): KeyMetadata {
  const { prefix, accountId, plan, label, createdAt, revokedAt } = record;
  return { prefix, accountId, plan, label, createdAt, ...(revokedAt ? { revokedAt } : {}) };
}

export async function newKeyRecord(
  kind: KeyKind,
  plan: PlanName,
  label: string,
  now = new Date(),
): Promise<{ key: string; record: KeyRecord }> {
  const key = newApiKey(kind);
  const hash = await hashKey(key);
  return {
    key,
    record: {
      hash,
      prefix: keyPrefix(key),
      accountId: `acct_${hash.slice(0, 20)}`,
      plan,
      label,
      createdAt: now.toISOString(),
      webhookSecret: newWebhookSecret(),
    },
  };
}
