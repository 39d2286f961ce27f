import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { wasmCodecs } from '../../../src/codecs/wasm';
import { signedFileUrl } from '../../../src/storage/files';
import { jobStub } from '../../../src/jobs/access';
import { compressAnswerSchema, formatsSchema, healthSchema, jobViewSchema, usageSchema } from '../../../src/schemas/responses';
import { AUTH, api, compress, createKey, expectError, expectShape, fixtures, similarity } from '../../helpers';
import { runDurableObjectAlarm } from 'cloudflare:test';
import { maxInputPixelsWithinBudget, maxPixelsWithinBudget } from '../../../src/pipeline/admission';

afterEach(() => vi.restoreAllMocks());

const toBase64 = (bytes: Uint8Array) => {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
};

describe('POST /v1/compress, binary answers', () => {
  it('multipart upload: a smaller JPEG of the same size, with the contract headers', async () => {
    const response = await compress(fixtures.photoJpeg);
    expect(response.status).toBe(200);
    const body = new Uint8Array(await response.arrayBuffer());
    const h = response.headers;
    expect(h.get('Content-Type')).toBe('image/jpeg');
    expect(h.get('Content-Disposition')).toBe('attachment; filename="photo.jpeg"');
    expect(Number(h.get('X-Original-Size'))).toBe(fixtures.photoJpeg.byteLength);
    expect(Number(h.get('X-Compressed-Size'))).toBe(body.byteLength);
    expect(body.byteLength).toBeLessThan(fixtures.photoJpeg.byteLength);
    expect(Number(h.get('X-Savings-Percent'))).toBeCloseTo((1 - body.byteLength / fixtures.photoJpeg.byteLength) * 100, 1);
    expect(h.get('X-Format')).toBe('jpeg');
    expect([h.get('X-Width'), h.get('X-Height')]).toEqual(['480', '316']);
    expect(h.get('X-Job-Id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(h.get('X-Request-Id')).toMatch(/^[0-9a-f-]{36}$/);
    const decoded = await wasmCodecs.decode('jpeg', body);
    expect(similarity(await wasmCodecs.decode('jpeg', fixtures.photoJpeg), decoded)).toBeGreaterThan(0.9);
  });

  it('X-API-Key works as well as Bearer', async () => {
    const response = await api('/v1/compress', {
      method: 'POST',
      headers: { 'X-API-Key': 'ck_dev_local', 'Content-Type': 'image/png' },
      body: fixtures.alphaPng,
    });
    expect(response.status).toBe(200);
  });

  it('raw body with options in the query', async () => {
    const response = await api('/v1/compress?format=webp&max_width=100', {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'application/octet-stream' },
      body: fixtures.goldfishPng,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toBe('image/webp');
    expect(response.headers.get('Content-Disposition')).toBe('attachment; filename="image.webp"');
    const decoded = await wasmCodecs.decode('webp', new Uint8Array(await response.arrayBuffer()));
    expect([decoded.width, decoded.height]).toEqual([100, 66]);
  });

  it('detects the format by content, not by name or claimed type', async () => {
    const form = new FormData();
    form.append('file', new File([fixtures.goldfishPng], 'lies.jpg', { type: 'image/jpeg' }));
    const response = await api('/v1/compress', { method: 'POST', headers: AUTH, body: form });
    expect(response.headers.get('X-Format')).toBe('png');
  });
});

describe('X-Job-Id of a synchronous answer', () => {
  const sha1 = async (bytes: Uint8Array) =>
    Array.from(new Uint8Array(await crypto.subtle.digest('SHA-1', bytes)), (b) => b.toString(16).padStart(2, '0')).join('');

  it('names a succeeded job: its view matches the headers, its download is the same image, DELETE removes it', async () => {
    const response = await compress(fixtures.photoJpeg);
    const image = new Uint8Array(await response.arrayBuffer());
    const jobId = response.headers.get('X-Job-Id')!;
    expect(jobId).toBe(response.headers.get('X-Request-Id'));

    const view = await api(`/v1/jobs/${jobId}`, { headers: AUTH });
    expect(view.status).toBe(200);
    const job = (await view.json()) as Record<string, any>;
    expectShape(jobViewSchema, job);
    expect(job).toMatchObject({ success: true, id: jobId, status: 'succeeded', progress: 100, compressed: true });
    expect(job.output).toMatchObject({
      size: image.byteLength,
      format: 'jpeg',
      width: 480,
      height: 316,
      name: 'photo.jpeg',
      sha1: await sha1(image),
    });
    expect(job.input).toMatchObject({ size: fixtures.photoJpeg.byteLength, name: 'photo.jpg' });
    expect(job.savings_percent).toBe(Number(response.headers.get('X-Savings-Percent')));

    const download = await api(`/v1/jobs/${jobId}/download`, { headers: AUTH, redirect: 'manual' });
    expect(download.status).toBe(302);
    const file = await api(new URL(download.headers.get('Location')!).pathname + new URL(download.headers.get('Location')!).search);
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(image);

    expect((await api(`/v1/jobs/${jobId}`, { method: 'DELETE', headers: AUTH })).status).toBe(204);
    await expectError(await api(`/v1/jobs/${jobId}`, { headers: AUTH }), 410, 'gone');
    await expectError(await api(new URL(job.url).pathname + new URL(job.url).search), 410, 'gone');
    expect((await env.FILES.list({ prefix: `outputs/${jobId}/` })).objects).toHaveLength(0);
  });

  it('is the id of a JSON answer too, whose output expires with the job', async () => {
    const response = await compress(fixtures.goldfishPng, { response: 'json', format: 'webp' });
    const body = (await response.json()) as JsonAnswer;
    const job = (await (await api(`/v1/jobs/${body.id}`, { headers: AUTH })).json()) as Record<string, any>;
    expect(job).toMatchObject({ status: 'succeeded', output: body.output, input: body.input, expires_at: body.expires_at });
    // Time is driven through the job's alarm: at expiry it deletes the output.
    await runDurableObjectAlarm(jobStub(env, body.id));
    await expectError(await api(`/v1/jobs/${body.id}`, { headers: AUTH }), 410, 'gone');
    await expectError(await api(new URL(body.url!).pathname + new URL(body.url!).search), 410, 'gone');
  });

  it('belongs to the key that made it', async () => {
    const response = await compress(fixtures.alphaPng);
    const { auth } = await createKey('free');
    await expectError(await api(`/v1/jobs/${response.headers.get('X-Job-Id')}`, { headers: auth }), 404, 'not_found');
  });
});

interface JsonAnswer {
  success: true;
  id: string;
  status: string;
  compressed: boolean;
  url?: string;
  data?: string;
  expires_at?: string;
  input: Record<string, unknown>;
  output: Record<string, unknown>;
  savings_percent: number;
}

describe('POST /v1/compress, JSON answers', () => {
  it('JSON base64 in, base64 out', async () => {
    const response = await api('/v1/compress', {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify({ data: toBase64(fixtures.goldfishPng), format: 'webp', quality: 60, response: 'base64' }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as JsonAnswer;
    expectShape(compressAnswerSchema, body);
    expect(body).toMatchObject({ success: true, status: 'succeeded', compressed: true, id: response.headers.get('X-Request-Id') });
    expect(body.url).toBeUndefined();
    const output = Uint8Array.from(atob(body.data!), (c) => c.charCodeAt(0));
    expect(body.output).toMatchObject({
      format: 'webp',
      mime: 'image/webp',
      size: output.byteLength,
      width: 400,
      height: 264,
      quality: 60,
      name: 'image.webp',
    });
    expect(body.input).toMatchObject({ format: 'png', mime: 'image/png', size: fixtures.goldfishPng.byteLength, width: 400, height: 264 });
    expect(body.input.sha1).toMatch(/^[0-9a-f]{40}$/);
    expect(body.savings_percent).toBeGreaterThan(50);
  });

  it('accepts a data: URI as base64', async () => {
    const response = await api('/v1/compress', {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ data: `data:image/png;base64,${toBase64(fixtures.alphaPng)}`, response: 'base64' }),
    });
    expect(response.status).toBe(200);
  });

  it('response=json stores the output behind a signed link that serves it without a key', async () => {
    const response = await compress(fixtures.photoJpeg, { response: 'json' });
    const body = (await response.json()) as JsonAnswer;
    expectShape(compressAnswerSchema, body);
    expect(body.url).toMatch(/^https:\/\/api\.test\/v1\/files\/.+\?expires=\d+&signature=[0-9a-f]{64}$/);
    expect(Date.parse(body.expires_at!) - Date.now()).toBeGreaterThan(3500_000);
    const download = await api(new URL(body.url!).pathname + new URL(body.url!).search);
    expect(download.status).toBe(200);
    expect(download.headers.get('Content-Type')).toBe('image/jpeg');
    const bytes = new Uint8Array(await download.arrayBuffer());
    expect(bytes.byteLength).toBe(body.output.size);
    const sha1 = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-1', bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
    expect(sha1).toBe(body.output.sha1);
    // The same expiry written another way is not the link that was signed.
    const padded = new URL(body.url!);
    padded.searchParams.set('expires', `0${padded.searchParams.get('expires')}`);
    expect((await api(padded.pathname + padded.search)).status).toBe(403);
  });

  it('Accept: application/json selects the JSON answer', async () => {
    const response = await compress(fixtures.photoJpeg, {}, { Accept: 'application/json' });
    expect(response.headers.get('Content-Type')).toContain('application/json');
    expect(((await response.json()) as JsonAnswer).url).toBeDefined();
  });

  it('JSON url: fetches the image', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch').mockImplementation(async (input) => {
      expect(String(input)).toBe('https://images.example.com/photos/cat.jpg');
      return new Response(fixtures.photoJpeg, { headers: { 'Content-Type': 'image/jpeg' } });
    });
    const response = await api('/v1/compress', {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify({ url: 'https://images.example.com/photos/cat.jpg', response: 'base64' }),
    });
    expect(fetchSpy).toHaveBeenCalledOnce();
    const body = (await response.json()) as JsonAnswer;
    expect(body.input).toMatchObject({ name: 'cat.jpg', format: 'jpeg' });
    expect(body.output).toMatchObject({ name: 'cat.jpeg' });
  });

  it('reports compressed: false and returns the input when nothing smaller can be made', async () => {
    const tiny = new Uint8Array(await (await compress(fixtures.photoJpeg, { quality: '5' })).arrayBuffer());
    const response = await compress(tiny, { quality: '100', response: 'base64' });
    const body = (await response.json()) as JsonAnswer;
    expect(body.compressed).toBe(false);
    expect(body.output.size).toBe(tiny.byteLength);
    expect(body.data).toBe(toBase64(tiny));
    expect(body.savings_percent).toBe(0);
  });
});

describe('signed links', () => {
  const stored = async () => {
    const body = (await (await compress(fixtures.photoJpeg, { response: 'json' })).json()) as JsonAnswer;
    return new URL(body.url!);
  };
  const get = (url: URL) => api(url.pathname + url.search);

  it('a changed byte in the path gives 403', async () => {
    const url = await stored();
    url.pathname = url.pathname.replace(/.jpeg$/, '.jpegx');
    await expectError(await get(url), 403, 'forbidden');
  });

  it('a changed expiry gives 403', async () => {
    const url = await stored();
    url.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 1));
    await expectError(await get(url), 403, 'forbidden');
  });

  it('a changed signature or none gives 403', async () => {
    const url = await stored();
    const signature = url.searchParams.get('signature')!;
    url.searchParams.set('signature', (signature[0] === 'a' ? 'b' : 'a') + signature.slice(1));
    await expectError(await get(url), 403, 'forbidden');
    url.search = '';
    await expectError(await get(url), 403, 'forbidden');
  });

  it('an expired link gives 410', async () => {
    const url = await stored();
    const [, , , job, name] = url.pathname.split('/');
    const expired = new URL(
      await signedFileUrl(
        env.SIGNING_SECRET,
        'https://api.test',
        decodeURIComponent(job!),
        decodeURIComponent(name!),
        new Date(Date.now() - 1000),
      ),
    );
    await expectError(await get(expired), 410, 'gone');
  });

  it('a deleted file gives 410', async () => {
    const url = await stored();
    await env.FILES.delete(`outputs/${url.pathname.slice('/v1/files/'.length)}`);
    await expectError(await get(url), 410, 'gone');
  });
});

describe('discovery', () => {
  it('GET /v1/health', async () => {
    const response = await api('/v1/health');
    const body = await response.json();
    expectShape(healthSchema, body);
    expect(body).toEqual({ status: 'ok' });
    expect(response.headers.get('X-Request-Id')).toBeTruthy();
  });

  it('GET /v1/formats lists formats, and plan limits when a key is sent', async () => {
    const anonymous = (await (await api('/v1/formats')).json()) as Record<string, unknown>;
    expectShape(formatsSchema, anonymous);
    expect(anonymous.limits).toBeUndefined();
    expect((anonymous.output as { format: string }[]).map((f) => f.format)).toEqual(['jpeg', 'png', 'webp', 'avif']);
    const limits = Object.fromEntries(
      (anonymous.output as Record<string, unknown>[]).map(({ format, max_pixels, max_pixels_lossless }) => [
        format,
        [max_pixels, max_pixels_lossless],
      ]),
    );
    // The memory limits (docs/measurements.md, "Memory"): lossless WebP has its own.
    expect(limits).toEqual({
      jpeg: [12e6, undefined],
      png: [12e6, 12e6],
      webp: [12e6, maxPixelsWithinBudget('webp-lossless')],
      avif: [12e6, 12e6],
    });
    const avifOutput = (anonymous.output as Record<string, unknown>[]).find((f) => f.format === 'avif')!;
    // AVIF from AVIF: the input's line, 72 + 28 MiB/MP, within 128 MiB less a heavy pair's 10.
    expect(avifOutput.max_pixels_from_avif_input).toBe(1_642_857);
    // Inputs whose decoders hold more than JPEG's and PNG's have their own limits.
    const inputs = Object.fromEntries(
      (anonymous.input as Record<string, unknown>[]).map(({ format, mime: _, ...limits }) => [format, limits]),
    );
    expect(inputs).toEqual({
      jpeg: {},
      png: {},
      webp: { max_pixels_lossless: maxInputPixelsWithinBudget('webp-lossless'), max_pixels_with_alpha: 7_703_703 },
      avif: { max_pixels: maxInputPixelsWithinBudget('avif'), max_pixels_with_alpha_plane: maxInputPixelsWithinBudget('avif-alpha') },
    });
    const withKey = (await (await api('/v1/formats', { headers: AUTH })).json()) as { limits: Record<string, number> };
    expectShape(formatsSchema, withKey);
    expect(withKey.limits).toMatchObject({ name: 'dev', max_file_size: 25 * 1024 * 1024 });
    // One name for one thing: the plan as /v1/usage shows it.
    const usage = (await (await api('/v1/usage', { headers: AUTH })).json()) as { plan: Record<string, unknown> };
    expectShape(usageSchema, usage);
    expect(withKey.limits).toEqual(usage.plan);
    expect(usage.plan.output_retention_seconds).toBe(3600);
    await expectError(await api('/v1/formats', { headers: { Authorization: 'Bearer nope' } }), 401, 'unauthorized');
  });
});
