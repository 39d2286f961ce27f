import { describe, expect, it } from 'vitest';
import { compressOptionsSchema } from '../../../src/schemas/options';
import { type JobState, cancel, claim, createJob, fail, nextAlarm, release, reportProgress, succeed } from '../../../src/jobs/state';

const T0 = 1_800_000_000_000;
const LEASE = 60_000;
const result = {
  input: { name: 'a.png', format: 'png' as const, mime: 'image/png', size: 10, width: 1, height: 1, sha1: 'x' },
  output: { name: 'a.webp', format: 'webp' as const, mime: 'image/webp', size: 5, width: 1, height: 1, sha1: 'y' },
  outputKey: 'outputs/j/a.webp',
  compressed: true,
};

function newJob(overrides: Partial<Parameters<typeof createJob>[0]> = {}): JobState {
  return createJob(
    {
      id: 'j',
      accountId: 'a',
      origin: 'https://api.test',
      source: { kind: 'staged', key: 'inputs/j', name: 'a.png' },
      options: compressOptionsSchema.parse({}),
      limits: { maxPixels: 1e6, maxFileBytes: 1e6 },
      ttlSeconds: 3600,
      estimatedSeconds: 2,
      ...overrides,
    },
    T0,
  );
}

function ok<T>(transition: { ok: true; state: T } | { ok: false; reason: string }): T {
  if (!transition.ok) throw new Error(`transition refused: ${transition.reason}`);
  return transition.state;
}

describe('job state machine', () => {
  it('queued → processing → succeeded, with timestamps, progress and a real expiry', () => {
    const claimed = ok(claim(newJob(), T0 + 10, LEASE, 'run1'));
    expect(claimed).toMatchObject({
      status: 'processing',
      startedAt: T0 + 10,
      attempts: 1,
      lease: { token: 'run1', until: T0 + 10 + LEASE },
    });
    const done = ok(succeed(claimed, 'run1', result, T0 + 500));
    expect(done).toMatchObject({ status: 'succeeded', progress: 100, completedAt: T0 + 500, expiresAt: T0 + 500 + 3600_000 });
    expect(done.lease).toBeUndefined();
  });

  it('cannot succeed twice, nor fail after succeeding', () => {
    const done = ok(succeed(ok(claim(newJob(), T0, LEASE, 'run1')), 'run1', result, T0));
    expect(succeed(done, 'run1', result, T0)).toMatchObject({ ok: false, reason: 'succeeded' });
    expect(fail(done, undefined, { code: 'compression_failed', message: '' }, T0)).toMatchObject({ ok: false });
    expect(claim(done, T0, LEASE, 'run2')).toMatchObject({ ok: false, reason: 'succeeded' });
  });

  it('a second run is refused while the first holds a live lease, and takes over when it lapses', () => {
    const first = ok(claim(newJob(), T0, LEASE, 'run1'));
    expect(claim(first, T0 + LEASE - 1, LEASE, 'run2')).toMatchObject({ ok: false, reason: 'leased' });
    const second = ok(claim(first, T0 + LEASE, LEASE, 'run2'));
    expect(second).toMatchObject({ attempts: 2, lease: { token: 'run2' }, startedAt: T0 });
    // The first run, back from the dead, can no longer finish the job.
    expect(succeed(second, 'run1', result, T0 + LEASE + 1)).toMatchObject({ ok: false, reason: 'lease lost' });
  });

  it('progress is a heartbeat that extends the lease, capped below 100 until success', () => {
    const claimed = ok(claim(newJob(), T0, LEASE, 'run1'));
    const later = ok(reportProgress(claimed, 'run1', 120, T0 + 50_000, LEASE));
    expect(later).toMatchObject({ progress: 99, lease: { until: T0 + 50_000 + LEASE } });
    expect(reportProgress(later, 'intruder', 50, T0, LEASE)).toMatchObject({ ok: false });
  });

  it('a canceled job is never processed', () => {
    const canceled = ok(cancel(newJob(), T0));
    expect(canceled.status).toBe('canceled');
    expect(claim(canceled, T0, LEASE, 'run1')).toMatchObject({ ok: false, reason: 'canceled' });
    const running = ok(claim(newJob(), T0, LEASE, 'run1'));
    const canceledWhileRunning = ok(cancel(running, T0 + 1));
    expect(succeed(canceledWhileRunning, 'run1', result, T0 + 2)).toMatchObject({ ok: false, reason: 'canceled' });
  });

  it('a transient failure hands the job back with its error; a permanent one ends it', () => {
    const claimed = ok(claim(newJob(), T0, LEASE, 'run1'));
    expect(ok(release(claimed, 'run1', 'R2 timed out'))).toMatchObject({ status: 'queued', lastError: 'R2 timed out', lease: undefined });
    const failed = ok(fail(claimed, 'run1', { code: 'invalid_image', message: 'corrupt' }, T0 + 1));
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'invalid_image' } });
  });

  it('the dead-letter queue may fail a job that no run holds, once', () => {
    const failed = ok(fail(newJob(), undefined, { code: 'compression_failed', message: 'gave up' }, T0));
    expect(failed.status).toBe('failed');
    expect(fail(failed, undefined, { code: 'compression_failed', message: 'again' }, T0)).toMatchObject({ ok: false });
  });

  it('owes one webhook event per outcome, only when a webhook was asked for', () => {
    const withHook = newJob({ webhookUrl: 'https://hooks.example.com/x', webhookSecret: 's' });
    const done = ok(succeed(ok(claim(withHook, T0, LEASE, 'r')), 'r', result, T0));
    expect(done.deliveries).toEqual([{ id: 'j.job.succeeded', event: 'job.succeeded', state: 'pending', enqueued: false, attempts: [] }]);
    const failed = ok(fail(withHook, undefined, { code: 'invalid_image', message: 'y' }, T0));
    expect(failed.deliveries.map((d) => d.event)).toEqual(['job.failed']);
    expect(ok(succeed(ok(claim(newJob(), T0, LEASE, 'r')), 'r', result, T0)).deliveries).toEqual([]);
  });

  it('schedules one alarm for the earliest thing due', () => {
    const claimed = ok(claim(newJob(), T0, LEASE, 'r'));
    expect(nextAlarm(newJob(), T0)).toBeUndefined();
    expect(nextAlarm(claimed, T0)).toBe(T0 + LEASE);
    const done = ok(succeed(claimed, 'r', result, T0 + 5));
    expect(nextAlarm(done, T0 + 5)).toBe(T0 + 5 + 5_000); // the account is still to be told
    expect(nextAlarm({ ...done, accountNotified: true }, T0 + 5)).toBe(done.expiresAt);
    const owing = ok(
      succeed(ok(claim(newJob({ webhookUrl: 'https://h.example.com', webhookSecret: 's' }), T0, LEASE, 'r')), 'r', result, T0),
    );
    expect(nextAlarm({ ...owing, accountNotified: true }, T0)).toBe(T0 + 5_000);
  });
});
