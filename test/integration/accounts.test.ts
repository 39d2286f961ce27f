import { runDurableObjectAlarm } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { keyMetadata, keyRecordName } from '../../src/auth/key-format';
import { monthOf } from '../../src/accounts/usage';
import { accountStub } from '../../src/jobs/access';
import { KvShardedRateLimiter, type RateLimitDecision } from '../../src/limits/rate-limiter';
import { api, createKey, expectError, fixtures, waitFor } from '../helpers';

const usage = async (auth: Record<string, string>) => (await (await api('/v1/usage', { headers: auth })).json()) as Record<string, any>;

describe('API keys', () => {
  it('a created key works with either header, and its plan applies', async () => {
    const { key, auth } = await createKey('pro');
    expect(key).toMatch(/^ck_test_[A-Za-z0-9]{32}$/);
    const viaBearer = await usage(auth);
    expect(viaBearer.plan).toMatchObject({ name: 'pro', requests_per_minute: 600 });
    expect((await api('/v1/usage', { headers: { 'X-API-Key': key } })).status).toBe(200);
  });

  it('only a hash of the key is stored', async () => {
    const { key, record } = await createKey('free');
    const stored = await env.API_KEYS.get(keyRecordName(record.hash));
    expect(stored).not.toContain(key);
    expect(stored).toContain(record.hash);
  });

  it('a revoked key and an unknown key get 401', async () => {
    const { record, auth } = await createKey('free');
    expect((await api('/v1/usage', { headers: auth })).status).toBe(200);
    const revoked = { ...record, revokedAt: new Date().toISOString() };
    await env.API_KEYS.put(keyRecordName(record.hash), JSON.stringify(revoked), { metadata: keyMetadata(revoked) });
    expect((await expectError(await api('/v1/usage', { headers: auth }), 401, 'unauthorized')).error.message).toMatch(/revoked/);
    await expectError(await api('/v1/usage', { headers: { Authorization: `Bearer ck_live_${'x'.repeat(32)}` } }), 401, 'unauthorized');
  });
});

describe('rate limits', () => {
  it('over the per-minute limit: 429 with the headers and Retry-After; every answer carries the headers', async () => {
    const { auth } = await createKey('free'); // 30 a minute
    const answers = [];
    for (let i = 0; i < 31; i++) answers.push(await api('/v1/usage', { headers: auth }));
    answers.slice(0, 30).forEach((response, i) => {
      expect(response.status).toBe(200);
      expect(response.headers.get('X-RateLimit-Limit')).toBe('30');
      expect(response.headers.get('X-RateLimit-Remaining')).toBe(String(29 - i));
    });
    const over = answers[30]!;
    const reset = Number(over.headers.get('X-RateLimit-Reset'));
    expect(reset).toBeGreaterThan(0);
    expect(reset).toBeLessThanOrEqual(60);
    expect(over.headers.get('Retry-After')).toBe(String(reset));
    expect(over.headers.get('X-RateLimit-Remaining')).toBe('0');
    await expectError(over, 429, 'rate_limit_exceeded');
  });

  it('error answers carry the rate-limit headers too', async () => {
    const { auth } = await createKey('pro');
    const response = await api(`/v1/jobs/${crypto.randomUUID()}`, { headers: auth });
    expect(response.status).toBe(404);
    expect(response.headers.get('X-RateLimit-Limit')).toBe('600');
  });

  it('two keys do not share counters', async () => {
    const first = await createKey('free');
    const second = await createKey('free');
    for (let i = 0; i < 30; i++) await api('/v1/usage', { headers: first.auth });
    expect((await api('/v1/usage', { headers: first.auth })).status).toBe(429);
    const other = await api('/v1/usage', { headers: second.auth });
    expect(other.status).toBe(200);
    expect(other.headers.get('X-RateLimit-Remaining')).toBe('29');
  });

  describe('the limiter itself', () => {
    const background: Promise<unknown>[] = [];
    const waitUntil = (p: Promise<unknown>) => void background.push(p);
    const settle = () => Promise.all(background.splice(0));
    const allowed = (decisions: RateLimitDecision[]) => decisions.filter((d) => d.allowed).length;

    it('the window resets at the minute', async () => {
      let now = Date.UTC(2030, 0, 1, 12, 0, 30);
      const limiter = new KvShardedRateLimiter(env.RATE_LIMITS, 'isolate-a', () => now);
      for (let i = 0; i < 5; i++) await limiter.hit('acct_reset', 5, waitUntil);
      const over = await limiter.hit('acct_reset', 5, waitUntil);
      expect(over).toMatchObject({ allowed: false, remaining: 0, resetSeconds: 30 });
      now += 30_000;
      expect(await limiter.hit('acct_reset', 5, waitUntil)).toMatchObject({ allowed: true, remaining: 4, resetSeconds: 60 });
      await settle();
    });

    it('a burst within one isolate is held exactly at the limit', async () => {
      const limiter = new KvShardedRateLimiter(env.RATE_LIMITS, 'isolate-a');
      const decisions = await Promise.all(Array.from({ length: 200 }, () => limiter.hit('acct_burst', 30, waitUntil)));
      expect(allowed(decisions)).toBe(30);
      await settle();
    });

    it('across isolates: others are counted once their shard is written; a simultaneous cold burst is the worst case', async () => {
      const now = () => Date.UTC(2030, 0, 1, 12, 5, 10);
      const [a, b, c] = ['a', 'b', 'c'].map((id) => new KvShardedRateLimiter(env.RATE_LIMITS, `isolate-${id}`, now)) as [
        KvShardedRateLimiter,
        KvShardedRateLimiter,
        KvShardedRateLimiter,
      ];
      // Staggered: each isolate's burst is flushed before the next begins; later ones admit only what is left.
      const admitted = [];
      for (const limiter of [a, b, c]) {
        admitted.push(allowed(await Promise.all(Array.from({ length: 20 }, () => limiter.hit('acct_staggered', 30, waitUntil)))));
        await settle();
      }
      expect(admitted).toEqual([20, 10, 0]);

      // Two isolates that start together each see the first one's flushed count, not each other's.
      await Promise.all(Array.from({ length: 20 }, () => a.hit('acct_pair', 30, waitUntil)));
      await settle();
      const pair = await Promise.all(
        [b, c].flatMap((limiter) => Array.from({ length: 20 }, () => limiter.hit('acct_pair', 30, waitUntil))),
      );
      expect(allowed(pair)).toBe(20); // 10 each: 10 over the limit
      await settle();

      // Simultaneous: three isolates that have never seen this account, one burst each, at once.
      const cold = await Promise.all(
        [a, b, c].flatMap((limiter) => Array.from({ length: 40 }, () => limiter.hit('acct_cold', 30, waitUntil))),
      );
      console.log(`simultaneous cold burst over 3 isolates, limit 30: ${allowed(cold)} admitted`);
      expect(allowed(cold)).toBe(3 * 30); // each admits the whole limit: the figure the README gives
      await settle();
    });
  });
});

describe('concurrent jobs', () => {
  it('holds exactly under parallel submissions', async () => {
    const { auth } = await createKey('free'); // 5 concurrent jobs
    const submit = () =>
      api('/v1/compress?async=true', { method: 'POST', headers: { ...auth, 'Content-Type': 'image/jpeg' }, body: fixtures.photoJpeg });
    const answers = await Promise.all(Array.from({ length: 12 }, submit));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 202)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(7);
    const refused = answers.find((r) => r.status === 429)!;
    expect(Number(refused.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect((await expectError(refused, 429, 'rate_limit_exceeded')).error.message).toMatch(/concurrent jobs/);
  });

  it('a batch needs a slot per item, and slots come back when jobs end', async () => {
    const { auth, record } = await createKey('free');
    const items = Array.from({ length: 6 }, () => ({ data: btoa(String.fromCharCode(...fixtures.alphaPng)) }));
    const post = (n: number) =>
      api('/v1/batch', {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/json' },
        body: JSON.stringify({ items: items.slice(0, n) }),
      });
    // More items than the plan has slots could never start: a 400 that says why, not a 429 forever.
    const tooMany = await expectError(await post(6), 400, 'invalid_param');
    expect(tooMany.error).toMatchObject({ param: 'items', message: expect.stringMatching(/at most 5 items/) });
    const accepted = await post(5);
    expect(accepted.status).toBe(202);
    const { id } = (await accepted.json()) as { id: string };
    await waitFor(
      async () => (await api(`/v1/batches/${id}`, { headers: auth })).json() as Promise<{ status: string }>,
      (b) => b.status === 'completed',
    );
    await waitFor(
      () => accountStub(env, record.accountId).report(monthOf(Date.now())),
      (r) => r.activeJobs === 0,
    );
    expect((await post(5)).status).toBe(202);
  });
});

describe('monthly quota and usage', () => {
  it('usage adds up after a series of compressions; failures are not counted', async () => {
    const { auth } = await createKey('pro');
    let bytesIn = 0;
    let bytesOut = 0;
    for (const [file, format] of [
      [fixtures.photoJpeg, 'jpeg'],
      [fixtures.goldfishPng, 'webp'],
      [fixtures.cityPng, 'png'],
    ] as const) {
      const form = new FormData();
      form.append('file', new File([file], 'x'));
      form.append('format', format);
      const response = await api('/v1/compress', { method: 'POST', headers: auth, body: form });
      expect(response.status).toBe(200);
      bytesIn += Number(response.headers.get('X-Original-Size'));
      bytesOut += Number(response.headers.get('X-Compressed-Size'));
    }
    const failed = await api('/v1/compress', {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'image/jpeg' },
      body: fixtures.photoJpeg.slice(0, 5000),
    });
    expect(failed.status).toBe(422);
    const job = (await (
      await api('/v1/compress?async=true', { method: 'POST', headers: { ...auth, 'Content-Type': 'image/png' }, body: fixtures.alphaPng })
    ).json()) as {
      id: string;
    };
    const done = await waitFor(
      async () => (await api(`/v1/jobs/${job.id}`, { headers: auth })).json() as Promise<any>,
      (j) => j.status === 'succeeded',
    );
    bytesIn += done.input.size;
    bytesOut += done.output.size;

    const report = await waitFor(
      () => usage(auth),
      (u) => u.usage.bytes_in === bytesIn && u.concurrent_jobs.active === 0,
    );
    expect(report.usage).toEqual({
      compressions: 4,
      compressions_remaining: 50_000 - 4,
      bytes_in: bytesIn,
      bytes_out: bytesOut,
      bytes_saved: bytesIn - bytesOut,
    });
    expect(report.period.start).toBe(`${monthOf(Date.now())}-01T00:00:00.000Z`);
  });

  it('a sync compression that dies with its isolate is given back when its lease lapses, once', async () => {
    const { auth, record } = await createKey('free');
    const account = accountStub(env, record.accountId);
    const month = monthOf(Date.now());
    const lapsed = await account.admitCompression(month, 500, 0); // admitted, then the isolate died: no ended call
    const live = await account.admitCompression(month, 500);
    expect([lapsed.ok, live.ok]).toEqual([true, true]);
    expect(await runDurableObjectAlarm(account)).toBe(true);
    expect((await usage(auth)).usage.compressions).toBe(1); // only the live one still counts
    await account.compressionEnded(lapsed.reservation!, { succeeded: true, bytesIn: 10, bytesOut: 5 }); // too late: ignored
    await account.compressionEnded(live.reservation!, { succeeded: true, bytesIn: 10, bytesOut: 5 });
    await account.compressionEnded(live.reservation!, { succeeded: true, bytesIn: 10, bytesOut: 5 }); // twice counts once
    expect((await usage(auth)).usage).toMatchObject({ compressions: 1, bytes_in: 10, bytes_out: 5 });
  });

  it('an exhausted monthly quota gives 429 with Retry-After until the month ends', async () => {
    const { auth, record } = await createKey('free'); // 500 a month
    const account = accountStub(env, record.accountId);
    const month = monthOf(Date.now());
    for (let i = 0; i < 499; i++) await account.admitCompression(month, 500);
    expect(
      (await api('/v1/compress', { method: 'POST', headers: { ...auth, 'Content-Type': 'image/png' }, body: fixtures.alphaPng })).status,
    ).toBe(200);
    const over = await api('/v1/compress', { method: 'POST', headers: { ...auth, 'Content-Type': 'image/png' }, body: fixtures.alphaPng });
    const untilMonthEnd = (Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() + 1, 1) - Date.now()) / 1000;
    expect(Math.abs(Number(over.headers.get('Retry-After')) - untilMonthEnd)).toBeLessThan(5);
    expect((await expectError(over, 429, 'rate_limit_exceeded')).error.message).toMatch(/500 compressions/);
    expect((await usage(auth)).usage.compressions_remaining).toBe(0);
  });
});
