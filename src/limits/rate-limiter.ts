/**
 * Per-key request limits over fixed one-minute windows. Anything that can answer `hit` can
 * stand in (Cloudflare's Rate Limiting binding, a Durable Object), so callers only see this.
 */
export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window resets. */
  resetSeconds: number;
}

export interface RateLimiter {
  hit(accountId: string, limit: number, waitUntil: (promise: Promise<unknown>) => void): Promise<RateLimitDecision>;
}

export const WINDOW_MS = 60_000;
/** KV allows about one write per second to a key; each shard key is written at most this often. */
const FLUSH_INTERVAL_MS = 1_000;
/** How stale this isolate's view of the other isolates' counts may get. */
const REFRESH_INTERVAL_MS = 1_000;

interface WindowCount {
  window: number;
  /** Requests this isolate admitted in the window: exact. */
  local: number;
  /** Sum of the other isolates' shards, as last read. */
  others: number;
  othersReadAt: number;
  refreshing?: Promise<void>;
  flushedAt: number;
  flushPending: boolean;
}

/**
 * KV-backed counters, sharded by isolate. Each isolate counts its own admissions in memory
 * (exact, no KV round trip per request) and writes them to its own shard key
 * `rl:<account>:<window>:<isolate>`, at most once a second, with the count in the key's
 * metadata; it learns the other isolates' counts by listing the window's shards (metadata
 * comes with the listing, so no reads), at most once a second. No two isolates write the same
 * key, so no update is lost. How far over the limit this can go is in the README.
 */
export class KvShardedRateLimiter implements RateLimiter {
  private readonly counts = new Map<string, WindowCount>();

  constructor(
    private readonly kv: KVNamespace,
    private readonly isolateId: string = crypto.randomUUID(),
    private readonly now: () => number = Date.now,
  ) {}

  async hit(accountId: string, limit: number, waitUntil: (promise: Promise<unknown>) => void): Promise<RateLimitDecision> {
    const now = this.now();
    const window = Math.floor(now / WINDOW_MS);
    const resetSeconds = Math.max(1, Math.ceil(((window + 1) * WINDOW_MS - now) / 1000));
    let count = this.counts.get(accountId);
    if (!count || count.window !== window) {
      count = { window, local: 0, others: 0, othersReadAt: 0, flushedAt: 0, flushPending: false };
      this.counts.set(accountId, count);
      this.forgetOldWindows(window);
    }
    if (count.othersReadAt === 0) await this.refresh(accountId, count);
    else if (now - count.othersReadAt >= REFRESH_INTERVAL_MS) waitUntil(this.refresh(accountId, count));

    if (count.local + count.others >= limit) return { allowed: false, limit, remaining: 0, resetSeconds };
    count.local++;
    this.scheduleFlush(accountId, count, waitUntil);
    return { allowed: true, limit, remaining: Math.max(0, limit - count.local - count.others), resetSeconds };
  }

  private refresh(accountId: string, count: WindowCount): Promise<void> {
    count.refreshing ??= (async () => {
      const prefix = `rl:${accountId}:${count.window}:`;
      let others = 0;
      let cursor: string | undefined;
      do {
        const page: KVNamespaceListResult<{ count: number }> = await this.kv.list({ prefix, cursor });
        for (const key of page.keys) if (key.name !== prefix + this.isolateId) others += key.metadata?.count ?? 0;
        cursor = page.list_complete ? undefined : page.cursor;
      } while (cursor);
      count.others = others;
      count.othersReadAt = this.now();
    })().finally(() => {
      count.refreshing = undefined;
    });
    return count.refreshing;
  }

  private scheduleFlush(accountId: string, count: WindowCount, waitUntil: (promise: Promise<unknown>) => void): void {
    if (count.flushPending) return;
    count.flushPending = true;
    const wait = Math.max(0, count.flushedAt + FLUSH_INTERVAL_MS - this.now());
    waitUntil(
      (async () => {
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        count.flushPending = false;
        count.flushedAt = this.now();
        await this.kv.put(`rl:${accountId}:${count.window}:${this.isolateId}`, String(count.local), {
          metadata: { count: count.local },
          expirationTtl: 180, // KV's minimum is 60 s; the window plus slack
        });
      })(),
    );
  }

  private forgetOldWindows(current: number): void {
    for (const [account, count] of this.counts) if (count.window < current) this.counts.delete(account);
  }
}
