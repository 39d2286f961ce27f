import { createExecutionContext, createMessageBatch, getQueueResult, runDurableObjectAlarm } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEV_API_KEY, DEV_WEBHOOK_SECRET, authenticate } from '../../src/auth/keys';
import { codecSource, wasmCodecs } from '../../src/codecs/wasm';
import worker from '../../src/index';
import { batchStub, jobStub } from '../../src/jobs/access';
import { stagedInputKey, submitJobs } from '../../src/jobs/submit';
import { webhookSignature } from '../../src/jobs/webhooks';
import { compressOptionsSchema } from '../../src/schemas/options';
import { batchAcceptedSchema, batchViewSchema, jobAcceptedSchema, jobViewSchema } from '../../src/schemas/responses';
import { AUTH, api, createKey, expectError, expectShape, fixtures, waitFor } from '../helpers';

afterEach(() => vi.restoreAllMocks());

type Job = Record<string, any>;

const getJob = async (id: string): Promise<Job> => (await api(`/v1/jobs/${id}`, { headers: AUTH })).json();

const settled = (job: Job) => ['succeeded', 'failed', 'canceled'].includes(job.status);

/** A real JPEG with 4.2 MB of padding after its end marker: over the async threshold, still a valid image. */
function largeJpeg(): Uint8Array {
  const out = new Uint8Array(fixtures.photoJpeg.length + 4_200_000);
  out.set(fixtures.photoJpeg);
  return out;
}

/** Records outbound webhook POSTs; answers them with the given statuses in turn (then 200). */
function interceptWebhooks(statuses: number[] = []) {
  const calls: { url: string; headers: Headers; body: string }[] = [];
  const spy = vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const request = new Request(input as RequestInfo, init);
    calls.push({ url: request.url, headers: request.headers, body: await request.text() });
    return new Response(null, { status: statuses.shift() ?? 200 });
  });
  return { calls, spy };
}

async function verifySignature(headers: Headers, body: string): Promise<boolean> {
  const timestamp = Number(headers.get('X-Webhook-Signature')!.match(/^t=(\d+),/)![1]);
  return (await webhookSignature(DEV_WEBHOOK_SECRET, body, timestamp)) === headers.get('X-Webhook-Signature');
}

/** A job whose message is not on the queue, so a test can deliver it by hand. */
async function unqueuedJob(accountOverride?: string) {
  const account = await authenticate(env, DEV_API_KEY, 'api.test');
  const owner = accountOverride ? { ...account, id: accountOverride } : account;
  const { jobs, messages } = await submitJobs(env, owner, [
    {
      account: owner,
      origin: 'https://api.test',
      options: compressOptionsSchema.parse({ format: 'webp' }),
      input: { kind: 'bytes', bytes: fixtures.goldfishPng, name: 'fish.png' },
      checkHeader: true,
    },
  ]);
  return { job: jobs[0]!, message: messages[0]! };
}

async function deliverByHand(body: { jobId: string }, attempts = 1) {
  const batch = createMessageBatch('compress-jobs', [{ id: crypto.randomUUID(), timestamp: new Date(), attempts, body }]);
  // getQueueResult does not report retry delays, so the calls themselves are recorded.
  const retryOptions = vi.spyOn(batch.messages[0]!, 'retry');
  const ctx = createExecutionContext();
  await worker.queue(batch as MessageBatch<any>, env);
  return { ...(await getQueueResult(batch, ctx)), retryCalls: retryOptions.mock.calls };
}

describe('the async path of a large upload', () => {
  it('202, queued → processing → succeeded, a smaller image to download, a signed webhook, and a link that dies at expiry', async () => {
    const hooks = interceptWebhooks();
    const response = await api('/v1/compress?webhook_url=https://hooks.example.com/compress', {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'image/jpeg' },
      body: largeJpeg(),
    });
    expect(response.status).toBe(202);
    const accepted = (await response.json()) as Job;
    expectShape(jobAcceptedSchema, accepted);
    expect(accepted).toMatchObject({ success: true, status: 'queued', poll_url: `/v1/jobs/${accepted.id}` });
    expect(accepted.estimated_seconds).toBeGreaterThan(0);
    expect(Date.parse(accepted.expires_at)).toBeGreaterThan(Date.now());
    expect(response.headers.get('Location')).toBe(`/v1/jobs/${accepted.id}`);

    const seen = new Set<string>();
    const job = await waitFor(
      () => getJob(accepted.id),
      (j) => (seen.add(j.status), settled(j)),
    );
    expectShape(jobViewSchema, job);
    expect(job).toMatchObject({ success: true, status: 'succeeded', progress: 100, attempts: 1, compressed: true });
    expect(job.input).toMatchObject({ format: 'jpeg', size: 4_200_000 + fixtures.photoJpeg.length, width: 480, height: 316 });
    expect(job.output.size).toBeLessThan(fixtures.photoJpeg.length);
    for (const field of ['created_at', 'started_at', 'completed_at', 'expires_at', 'url']) expect(job[field]).toBeTruthy();
    expect(job.error).toBeUndefined();
    expect([...seen].every((s) => ['queued', 'processing', 'succeeded'].includes(s))).toBe(true);

    const download = await api(`/v1/jobs/${job.id}/download`, { headers: AUTH, redirect: 'manual' });
    expect(download.status).toBe(302);
    expect(download.headers.get('Location')).toBe(job.url);
    const file = await api(new URL(job.url).pathname + new URL(job.url).search);
    const bytes = new Uint8Array(await file.arrayBuffer());
    const image = await wasmCodecs.decode('jpeg', bytes);
    expect([image.width, image.height]).toEqual([480, 316]);
    expect(bytes.byteLength).toBe(job.output.size);

    const [call] = await waitFor(
      async () => hooks.calls.filter((c) => c.url === 'https://hooks.example.com/compress'),
      (calls) => calls.length > 0,
    );
    expect(call!.headers.get('X-Webhook-Event')).toBe('job.succeeded');
    expect(call!.headers.get('X-Webhook-Id')).toBe(`${job.id}.job.succeeded`);
    expect(await verifySignature(call!.headers, call!.body)).toBe(true);
    expect(JSON.parse(call!.body)).toMatchObject({ id: job.id, status: 'succeeded' });
    const recorded = await waitFor(
      () => getJob(job.id),
      (j) => j.webhook?.deliveries[0]?.state === 'delivered',
    );
    expect(recorded.webhook.deliveries[0].attempts).toHaveLength(1);

    // Time is driven through the job's alarm: it fires at expiry and takes the files with it.
    await runDurableObjectAlarm(jobStub(env, job.id));
    await expectError(await api(`/v1/jobs/${job.id}`, { headers: AUTH }), 410, 'gone');
    await expectError(await api(`/v1/jobs/${job.id}/download`, { headers: AUTH }), 410, 'gone');
    await expectError(await api(new URL(job.url).pathname + new URL(job.url).search), 410, 'gone');
    expect((await env.FILES.list({ prefix: `outputs/${job.id}/` })).objects).toHaveLength(0);
  });

  it('async=true makes a job of a small file; a url source is fetched by the job, not the request', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch').mockImplementation(async () => new Response(fixtures.photoJpeg));
    const response = await api('/v1/compress', {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify({ url: 'https://images.example.com/cat.jpg', async: true }),
    });
    expect(response.status).toBe(202);
    expect(fetchSpy).not.toHaveBeenCalled();
    const { id } = (await response.json()) as Job;
    const job = await waitFor(() => getJob(id), settled);
    expect(job).toMatchObject({ status: 'succeeded', input: { name: 'cat.jpg' } });
    expect(fetchSpy).toHaveBeenCalledOnce();
  });

  it('a small file whose predicted compute is high (smart AVIF at 2.6 MP) becomes a job by the cost model; a cheap one stays sync', async () => {
    const side = 1600;
    const pixels = new Uint8Array(side * side * 4).map((_, i) => (i % 4 === 3 ? 255 : ((i >> 2) % side) ^ (i >> 14)));
    const jpeg = await wasmCodecs.encode('jpeg', { data: pixels, width: side, height: side }, { quality: 80, lossless: false });
    expect(jpeg.byteLength).toBeLessThan(Number(env.ASYNC_THRESHOLD_BYTES));

    const post = (query: string) =>
      api(`/v1/compress?${query}`, { method: 'POST', headers: { ...AUTH, 'Content-Type': 'image/jpeg' }, body: jpeg });
    expect((await post('format=jpeg&quality=60')).status).toBe(200);
    const response = await post('format=avif');
    expect(response.status).toBe(202);
    const accepted = (await response.json()) as Job & { estimated_seconds: number };
    expect(accepted.estimated_seconds).toBeGreaterThan(Number(env.SYNC_COMPUTE_SECONDS));
    const job = await waitFor(() => getJob(accepted.id), settled, 120_000);
    expect(job).toMatchObject({ status: 'succeeded', output: { format: 'avif', width: side, height: side } });
  });

  it('header problems of a staged upload are answered at once, not as a failed job', async () => {
    const padded = new Uint8Array(4_300_000);
    padded.set(new TextEncoder().encode('GIF89a'));
    await expectError(
      await api('/v1/compress', { method: 'POST', headers: { ...AUTH, 'Content-Type': 'image/gif' }, body: padded }),
      415,
      'unsupported_format',
    );
  });

  it('webhook_url must be https (http://localhost only in development)', async () => {
    const form = new FormData();
    form.append('file', new File([fixtures.photoJpeg], 'a.jpg'));
    form.append('webhook_url', 'http://hooks.example.com/x');
    await expectError(await api('/v1/compress', { method: 'POST', headers: AUTH, body: form }), 400, 'invalid_param');
  });
});

describe('at-least-once delivery', () => {
  it('the consumer run twice on one message makes one output and one attempt', async () => {
    const { job, message } = await unqueuedJob();
    expect((await deliverByHand(message)).explicitAcks).toHaveLength(1);
    const second = await deliverByHand(message);
    expect(second.explicitAcks).toHaveLength(1);
    expect(second.retryMessages).toHaveLength(0);
    const state = await getJob(job.id);
    expect(state).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect((await env.FILES.list({ prefix: `outputs/${job.id}/` })).objects).toHaveLength(1);
    expect(await env.FILES.head(stagedInputKey(job.id))).toBeNull();
  });

  it('a run that dies mid-job: its lease blocks others until it lapses, then the job is retried and succeeds', async () => {
    const { job, message } = await unqueuedJob();
    const stub = jobStub(env, job.id);
    expect((await stub.claim()).ok).toBe(true); // a run takes the job and then dies
    const meanwhile = await deliverByHand(message);
    expect(meanwhile.retryMessages).toHaveLength(1);
    expect(meanwhile.retryCalls[0]![0]!.delaySeconds).toBeGreaterThan(60); // until the lease would lapse
    expect((await getJob(job.id)).status).toBe('processing');

    await runDurableObjectAlarm(stub); // the lease's alarm: nobody reported, the job goes back on the queue
    const done = await waitFor(() => getJob(job.id), settled);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 2 });
  });

  it('a fault that may pass is retried; one that never passes ends in the dead-letter queue as compression_failed', async () => {
    vi.spyOn(codecSource, 'create').mockReturnValue({ ...wasmCodecs, decode: () => Promise.reject(new Error('Network connection lost')) });
    const response = await api('/v1/compress?async=true', {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'image/png' },
      body: fixtures.goldfishPng,
    });
    const { id } = (await response.json()) as Job;
    const job = await waitFor(() => getJob(id), settled, 60_000);
    expect(job).toMatchObject({ status: 'failed', error: { code: 'compression_failed' } });
    expect(job.attempts).toBe(6); // the first delivery and the queue's 5 retries
    expect(job.error.message).toMatch(/Network connection lost/);
  });

  it('a codec that fails on the image fails the job at once, with what it threw in words', async () => {
    // Emscripten's programs end with an ExitStatus object, not an Error.
    vi.spyOn(codecSource, 'create').mockReturnValue({
      ...wasmCodecs,
      encode: () => Promise.reject({ name: 'ExitStatus', message: 'Program terminated with exit(1)', status: 1 }),
    });
    const response = await api('/v1/compress?async=true', {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'image/jpeg' },
      body: fixtures.photoJpeg,
    });
    const { id } = (await response.json()) as Job;
    const job = await waitFor(() => getJob(id), settled, 60_000);
    expect(job).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'compression_failed' } });
    expect(job.error.message).toMatch(/Program terminated with exit\(1\).*will fail the same way/);
  });

  it('an image that will not get better fails at once, with its own code', async () => {
    const broken = new Uint8Array(4_300_000);
    broken.set(fixtures.goldfishPng.slice(0, 2000));
    const response = await api('/v1/compress', { method: 'POST', headers: { ...AUTH, 'Content-Type': 'image/png' }, body: broken });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as Job;
    const job = await waitFor(() => getJob(id), settled);
    expect(job).toMatchObject({ success: false, status: 'failed', attempts: 1, error: { code: 'invalid_image' } });
    expectShape(jobViewSchema, job);
  });

  it('a failed job says success: false, in its job.failed webhook as when polled', async () => {
    const hooks = interceptWebhooks();
    hooks.spy.mockImplementation(async (input, init) => {
      const request = new Request(input as RequestInfo, init);
      if (request.url === 'https://images.example.com/notes.txt') return new Response('not an image');
      hooks.calls.push({ url: request.url, headers: request.headers, body: await request.text() });
      return new Response(null, { status: 204 });
    });
    const response = await api('/v1/compress', {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify({ url: 'https://images.example.com/notes.txt', webhook_url: 'https://hooks.example.com/failed' }),
    });
    const { id } = (await response.json()) as Job;
    const [call] = await waitFor(
      async () => hooks.calls,
      (calls) => calls.length > 0,
    );
    expect(call!.headers.get('X-Webhook-Event')).toBe('job.failed');
    const body = JSON.parse(call!.body);
    expectShape(jobViewSchema, body);
    expect(body).toMatchObject({ success: false, id, status: 'failed', error: { code: 'unsupported_format' } });
    expect(await getJob(id)).toMatchObject({ success: false, status: 'failed' });
  });
});

describe('cancel, delete, ownership', () => {
  it('DELETE of a queued job cancels it and removes its input at once; it is then never processed', async () => {
    const { job, message } = await unqueuedJob();
    expect(await env.FILES.head(stagedInputKey(job.id))).not.toBeNull();
    expect((await api(`/v1/jobs/${job.id}`, { method: 'DELETE', headers: AUTH })).status).toBe(204);
    expect(await env.FILES.head(stagedInputKey(job.id))).toBeNull();
    expect((await getJob(job.id)).status).toBe('canceled');
    expect((await deliverByHand(message)).explicitAcks).toHaveLength(1);
    expect((await getJob(job.id)).status).toBe('canceled');
    expect((await env.FILES.list({ prefix: `outputs/${job.id}/` })).objects).toHaveLength(0);
    await expectError(await api(`/v1/jobs/${job.id}/download`, { headers: AUTH }), 422, 'not_ready');
  });

  it('DELETE after success removes the output: 410 everywhere after', async () => {
    const { job, message } = await unqueuedJob();
    await deliverByHand(message);
    const done = await getJob(job.id);
    expect(done.status).toBe('succeeded');
    expect((await api(`/v1/jobs/${job.id}`, { method: 'DELETE', headers: AUTH })).status).toBe(204);
    await expectError(await api(`/v1/jobs/${job.id}`, { headers: AUTH }), 410, 'gone');
    await expectError(await api(`/v1/jobs/${job.id}/download`, { headers: AUTH }), 410, 'gone');
    await expectError(await api(new URL(done.url).pathname + new URL(done.url).search), 410, 'gone');
  });

  it('download before success is 422 not_ready', async () => {
    const { job } = await unqueuedJob();
    await expectError(await api(`/v1/jobs/${job.id}/download`, { headers: AUTH }), 422, 'not_ready');
  });

  it('another key asking for the job gets 404', async () => {
    const { job } = await unqueuedJob();
    const other = await createKey('pro');
    await expectError(await api(`/v1/jobs/${job.id}`, { headers: other.auth }), 404, 'not_found');
    await expectError(await api(`/v1/jobs/${job.id}/download`, { headers: other.auth }), 404, 'not_found');
    await expectError(await api(`/v1/jobs/${job.id}`, { method: 'DELETE', headers: other.auth }), 404, 'not_found');
    expect((await getJob(job.id)).status).toBe('queued');
  });

  it("another account's job is 404, exactly like an unknown one", async () => {
    const { job } = await unqueuedJob('acct_someone_else');
    await expectError(await api(`/v1/jobs/${job.id}`, { headers: AUTH }), 404, 'not_found');
    await expectError(await api(`/v1/jobs/${job.id}/download`, { headers: AUTH }), 404, 'not_found');
    await expectError(await api(`/v1/jobs/${job.id}`, { method: 'DELETE', headers: AUTH }), 404, 'not_found');
    await expectError(await api(`/v1/jobs/${crypto.randomUUID()}`, { headers: AUTH }), 404, 'not_found');
    await expectError(await api('/v1/jobs/not-a-job', { headers: AUTH }), 404, 'not_found');
  });
});

describe('webhooks', () => {
  it('a failed delivery is retried with backoff and every attempt is recorded on the job', async () => {
    const hooks = interceptWebhooks([500, 503]);
    const response = await api('/v1/compress?async=true&webhook_url=https://hooks.example.com/flaky', {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'image/png' },
      body: fixtures.goldfishPng,
    });
    const { id } = (await response.json()) as Job;
    const job = await waitFor(
      () => getJob(id),
      (j) => j.webhook?.deliveries[0]?.state === 'delivered',
    );
    expect(job.webhook.deliveries[0].attempts.map((a: { status: number }) => a.status)).toEqual([500, 503, 200]);
    const ids = new Set(hooks.calls.map((c) => c.headers.get('X-Webhook-Id')));
    expect(ids).toEqual(new Set([`${id}.job.succeeded`])); // stable across retries
  });
});

describe('webhook deliveries in one queue batch', () => {
  it('run at once: a slow receiver does not hold up the next', async () => {
    // Receivers hang at first, so both deliveries stay pending while the test takes over the queue.
    const fetchSpy = vi.spyOn(globalThis, 'fetch').mockImplementation(() => new Promise<Response>(() => {}));
    const submit = async (hook: string) => {
      const response = await api(`/v1/compress?async=true&webhook_url=https://hooks.example.com/${hook}`, {
        method: 'POST',
        headers: { ...AUTH, 'Content-Type': 'image/png' },
        body: fixtures.alphaPng,
      });
      const { id } = (await response.json()) as Job;
      const job = await waitFor(
        () => getJob(id),
        (j) => j.status === 'succeeded' && j.webhook?.deliveries[0]?.state === 'pending',
      );
      return { kind: 'job', id, deliveryId: job.webhook.deliveries[0].id as string };
    };
    const [slow, fast] = [await submit('slow'), await submit('fast')];
    // The slow receiver answers 200 only if the fast one is called while it is still waiting.
    let fastCalled: () => void = () => {};
    const fastStarted = new Promise<void>((resolve) => (fastCalled = resolve));
    fetchSpy.mockImplementation(async (input) => {
      if (String(new Request(input as RequestInfo).url).endsWith('/fast')) {
        fastCalled();
        return new Response(null, { status: 200 });
      }
      const status = await Promise.race([
        fastStarted.then(() => 200),
        new Promise<number>((resolve) => setTimeout(() => resolve(500), 3000)),
      ]);
      return new Response(null, { status });
    });
    const batch = createMessageBatch(
      'compress-webhooks',
      [slow, fast].map((body) => ({ id: crypto.randomUUID(), timestamp: new Date(), attempts: 1, body })),
    );
    await worker.queue(batch as MessageBatch<any>, env);
    for (const { id } of [slow, fast]) expect((await getJob(id)).webhook.deliveries[0].attempts.at(-1).status).toBe(200);
  });
});

describe('the webhook dead-letter queue', () => {
  it('marks a delivery still pending as failed when the queue gave up on it, and acks', async () => {
    // The endpoint never answers, so the delivery stays pending while the test plays the queue giving up.
    vi.spyOn(globalThis, 'fetch').mockImplementation(() => new Promise<Response>(() => {}));
    const response = await api('/v1/compress?async=true&webhook_url=https://hooks.example.com/hangs', {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'image/png' },
      body: fixtures.goldfishPng,
    });
    const { id } = (await response.json()) as Job;
    const pending = await waitFor(
      () => getJob(id),
      (j) => j.status === 'succeeded' && j.webhook?.deliveries[0]?.state === 'pending',
    );
    const deliveryId = pending.webhook.deliveries[0].id as string;

    const batch = createMessageBatch('compress-webhooks-dlq', [
      { id: crypto.randomUUID(), timestamp: new Date(), attempts: 1, body: { kind: 'job', id, deliveryId } },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch as MessageBatch<any>, env);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual([batch.messages[0]!.id]);
    const failed = (await getJob(id)).webhook.deliveries[0];
    expect(failed.state).toBe('failed');
    expect(failed.attempts.at(-1).error).toMatch(/gave up/);
  });
});

describe('batches', () => {
  it("a batch.completed webhook whose enqueueing fails is sent again by the batch's alarm", async () => {
    const hooks = interceptWebhooks();
    const send = vi.spyOn(env.WEBHOOK_QUEUE, 'sendBatch').mockRejectedValueOnce(new Error('queue unavailable'));
    const response = await api('/v1/batch', {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify({ webhook_url: 'https://hooks.example.com/batch', items: [{ id: 'text', data: btoa('not an image') }] }),
    });
    const { id } = (await response.json()) as Job;
    await waitFor(
      async () => (await api(`/v1/batches/${id}`, { headers: AUTH })).json() as Promise<Job>,
      (b) => b.status === 'completed',
    );
    await waitFor(
      async () => send.mock.calls.length,
      (calls) => calls >= 1,
    );
    expect(hooks.calls).toHaveLength(0); // the first enqueue failed: nothing was sent
    expect(await runDurableObjectAlarm(batchStub(env, id))).toBe(true);
    const delivered = await waitFor(
      async () => (await api(`/v1/batches/${id}`, { headers: AUTH })).json() as Promise<Job>,
      (b) => b.webhook?.deliveries[0]?.state === 'delivered',
    );
    expect(delivered.webhook.deliveries[0].event).toBe('batch.completed');
    expect(hooks.calls.filter((c) => c.url === 'https://hooks.example.com/batch')).toHaveLength(1);
  });

  it('good and bad items each end in the right state, with one batch.completed webhook', async () => {
    const hooks = interceptWebhooks();
    hooks.spy.mockImplementation(async (input, init) => {
      const request = new Request(input as RequestInfo, init);
      if (request.url === 'https://images.example.com/ok.jpg') return new Response(fixtures.photoJpeg);
      if (request.url === 'https://images.example.com/missing.jpg') return new Response('no', { status: 404 });
      hooks.calls.push({ url: request.url, headers: request.headers, body: await request.text() });
      return new Response(null, { status: 204 });
    });
    const toBase64 = (bytes: Uint8Array) => btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(''));
    const response = await api('/v1/batch', {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        options: { format: 'webp' },
        webhook_url: 'https://hooks.example.com/batch',
        items: [
          { id: 'png', data: toBase64(fixtures.goldfishPng) },
          { id: 'jpeg-as-avif', url: 'https://images.example.com/ok.jpg', options: { format: 'avif', quality: 40 } },
          { id: 'text', data: toBase64(new TextEncoder().encode('not an image')) },
          { id: 'missing', url: 'https://images.example.com/missing.jpg' },
        ],
      }),
    });
    expect(response.status).toBe(202);
    const accepted = (await response.json()) as Job;
    expectShape(batchAcceptedSchema, accepted);
    expect(accepted.items.map((i: Job) => [i.client_id, i.status])).toEqual([
      ['png', 'queued'],
      ['jpeg-as-avif', 'queued'],
      ['text', 'queued'],
      ['missing', 'queued'],
    ]);

    const batch = await waitFor(
      async () => (await api(`/v1/batches/${accepted.id}`, { headers: AUTH })).json() as Promise<Job>,
      (b) => b.status === 'completed',
    );
    expectShape(batchViewSchema, batch);
    expect(batch.counts).toMatchObject({ succeeded: 2, failed: 2, queued: 0, processing: 0 });
    const byClient = Object.fromEntries(batch.items.map((i: Job) => [i.client_id, i]));
    expect(byClient.png).toMatchObject({ status: 'succeeded', output: { format: 'webp' } });
    expect(byClient['jpeg-as-avif']).toMatchObject({ status: 'succeeded', output: { format: 'avif', quality: 40 } });
    expect(byClient.text).toMatchObject({ status: 'failed', error: { code: 'unsupported_format' } });
    expect(byClient.missing).toMatchObject({ status: 'failed', error: { code: 'fetch_failed' } });

    await waitFor(
      async () => hooks.calls,
      (calls) => calls.length > 0,
    );
    await new Promise((r) => setTimeout(r, 1500)); // room for a duplicate to show up, if one were sent
    expect(hooks.calls).toHaveLength(1);
    expect(hooks.calls[0]!.headers.get('X-Webhook-Event')).toBe('batch.completed');
    expect(await verifySignature(hooks.calls[0]!.headers, hooks.calls[0]!.body)).toBe(true);
    expect(JSON.parse(hooks.calls[0]!.body)).toMatchObject({ id: accepted.id, status: 'completed', counts: { succeeded: 2, failed: 2 } });
  });

  it('a malformed batch is one 400 that lists every problem', async () => {
    const post = (body: unknown) =>
      api('/v1/batch', { method: 'POST', headers: { ...AUTH, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    await expectError(await post({ items: [] }), 400, 'invalid_param');
    await expectError(
      await post({ items: Array.from({ length: 101 }, () => ({ url: 'https://example.com/a.jpg' })) }),
      400,
      'invalid_param',
    );
    const body = await expectError(
      await post({
        items: [
          { url: 'https://example.com/a.jpg', data: 'AAAA' },
          { url: 'https://example.com/b.jpg', options: { quality: 500, async: 'maybe' } },
          { data: 'not*base64!' },
          { url: 'http://169.254.169.254/' },
          { url: 5, colour: 'red' },
          { url: 'https://example.com/fine.jpg' },
        ],
        webhook_url: 'ftp://hooks.example.com',
      }),
      400,
      'invalid_param',
    );
    // Every problem at once, each named by its place in the body.
    expect(body.errors!.map((e) => e.param)).toEqual([
      'items.0',
      'items.1.options.quality',
      'items.1.options.async',
      'items.2.data',
      'items.3.url',
      'items.4.url',
      'items.4.colour',
      'webhook_url',
    ]);
    expect(body.errors!.find((e) => e.param === 'items.1.options.async')!.message).toBe('must be true or false');
    expect(body.error.param).toBe('items.0');
    // The root's problems join the items', and a bad root option is listed once, not per item.
    const root = await expectError(
      await post({ colour: 'red', options: { quality: 0 }, items: [{ data: 'AAAA', options: { fit: 'x' } }, { data: 'AAAA' }] }),
      400,
      'invalid_param',
    );
    expect(root.errors!.map((e) => e.param)).toEqual(['colour', 'options.quality', 'items.0.options.fit']);
    // One kind of problem keeps its own code.
    const urls = await expectError(
      await post({ items: [{ url: 'http://169.254.169.254/' }, { url: 'file:///etc/passwd' }] }),
      400,
      'invalid_url',
    );
    expect(urls.errors!.map((e) => e.param)).toEqual(['items.0.url', 'items.1.url']);
    await expectError(await post({ items: [{ url: 'http://169.254.169.254/' }] }), 400, 'invalid_url');
    await expectError(await api(`/v1/batches/${crypto.randomUUID()}`, { headers: AUTH }), 404, 'not_found');
  });
});
