import { ApiError } from '../errors';
import { type HostCheck, NO_HOST_CHECK } from '../http/resolve';
import { toHex } from '../hex';
const encoder = new TextEncoder();

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, the contract's signature header. */
export async function webhookSignature(secret: string, body: string, timestamp: number): Promise<string> {
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = await crypto.subtle.sign('HMAC', key, encoder.encode(`${timestamp}.${body}`));
  return `t=${timestamp},v1=${toHex(mac)}`;
}

export const WEBHOOK_TIMEOUT_MS = 10_000;
/** Deliveries per event; the queue allows more retries, so the last one is ours to record, not the dead-letter queue's. */
export const WEBHOOK_MAX_ATTEMPTS = 8;

export interface WebhookOutcome {
  ok: boolean;
  status?: number;
  error?: string;
}

export async function postWebhook(
  url: string,
  event: string,
  deliveryId: string,
  body: string,
  secret: string,
  checkHost: HostCheck = NO_HOST_CHECK,
  fetcher: typeof fetch = fetch,
): Promise<WebhookOutcome> {
  const timestamp = Math.floor(Date.now() / 1000);
  try {
    await checkHost(new URL(url), 'webhook_url');
    const response = await fetcher(url, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      headers: {
        'Content-Type': 'application/json',
        'User-Agent': 'compress-worker-webhooks/1',
        'X-Webhook-Id': deliveryId,
        'X-Webhook-Event': event,
        'X-Webhook-Signature': await webhookSignature(secret, body, timestamp),
      },
      body,
    });
    await response.body?.cancel();
    return response.ok ? { ok: true, status: response.status } : { ok: false, status: response.status, error: `HTTP ${response.status}` };
  } catch (error) {
    if (error instanceof ApiError) return { ok: false, error: error.message };
    const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    return { ok: false, error: timedOut ? `no answer within ${WEBHOOK_TIMEOUT_MS / 1000} s` : String(error) };
  }
}

/** Exponential backoff from a base (seconds), capped at an hour. */
export function backoffSeconds(attempt: number, baseSeconds: number): number {
  return Math.min(3600, Math.round(baseSeconds * 2 ** Math.max(0, attempt - 1)));
}
