import { env, exports } from 'cloudflare:workers';
import { Hono } from 'hono';
import { requestScope } from '../../src/app';
import type { AppEnv } from '../../src/types';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parsePublicUrl } from '../../src/http/public-url';
import { fetchImage } from '../../src/http/fetch-image';
import { hostCheckFor } from '../../src/http/resolve';
import { postWebhook } from '../../src/jobs/webhooks';
import { OXIPNG_MAX_ROWS, wasmCodecs } from '../../src/codecs/wasm';
import { compressOptionsSchema } from '../../src/schemas/options';
import { encodeIndexedPngStreaming, encodePngStreaming } from '../../src/codecs/png-stream';
import { AUTH, api, compress, expectError, fixtures, multipart } from '../helpers';
import xc1n0g08 from '../fixtures/pngsuite/xc1n0g08.png?inline';
import xc9n2c08 from '../fixtures/pngsuite/xc9n2c08.png?inline';
import xcrn0g04 from '../fixtures/pngsuite/xcrn0g04.png?inline';
import xcsn0g01 from '../fixtures/pngsuite/xcsn0g01.png?inline';
import xd0n2c08 from '../fixtures/pngsuite/xd0n2c08.png?inline';
import xd3n2c08 from '../fixtures/pngsuite/xd3n2c08.png?inline';
import xd9n2c08 from '../fixtures/pngsuite/xd9n2c08.png?inline';
import xdtn0g01 from '../fixtures/pngsuite/xdtn0g01.png?inline';
import xhdn0g08 from '../fixtures/pngsuite/xhdn0g08.png?inline';
import xlfn0g04 from '../fixtures/pngsuite/xlfn0g04.png?inline';
import xs1n0g01 from '../fixtures/pngsuite/xs1n0g01.png?inline';
import xs2n0g01 from '../fixtures/pngsuite/xs2n0g01.png?inline';
import xs4n0g01 from '../fixtures/pngsuite/xs4n0g01.png?inline';
import xs7n0g01 from '../fixtures/pngsuite/xs7n0g01.png?inline';
import { createKey, fromDataUri, pngClaiming, waitFor } from '../helpers';

afterEach(() => vi.restoreAllMocks());

const json = (body: unknown) => ({ method: 'POST', headers: { ...AUTH, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

describe('sources', () => {
  it('no source at all', async () => {
    await expectError(await api('/v1/compress', { method: 'POST', headers: AUTH }), 400, 'missing_source');
    await expectError(
      await api('/v1/compress', { method: 'POST', headers: AUTH, body: multipart(undefined, { format: 'webp' }) }),
      400,
      'missing_source',
    );
    await expectError(await api('/v1/compress', json({ format: 'png' })), 400, 'missing_source');
  });

  it('two sources', async () => {
    const both = await api('/v1/compress', {
      method: 'POST',
      headers: AUTH,
      body: multipart(fixtures.photoJpeg, { url: 'https://example.com/a.jpg' }),
    });
    const body = await expectError(both, 400, 'invalid_param');
    expect(body.error.message).toMatch(/exactly one source/);
    // An error about one field lists it in errors[] as validation does, so clients read one shape.
    expect(body.errors).toEqual([{ param: 'url', message: body.error.message }]);
    await expectError(await api('/v1/compress', json({ url: 'https://example.com/a.jpg', data: 'AAAA' })), 400, 'invalid_param');
  });

  it('invalid JSON, and JSON that is not an object', async () => {
    await expectError(
      await api('/v1/compress', { method: 'POST', headers: { ...AUTH, 'Content-Type': 'application/json' }, body: '{"url": ' }),
      400,
      'invalid_json',
    );
    await expectError(
      await api('/v1/compress', { method: 'POST', headers: { ...AUTH, 'Content-Type': 'application/json' }, body: '[1,2]' }),
      400,
      'invalid_json',
    );
  });

  it('a "file" that is text, not a file: a multipart text part, a form value, a JSON string', async () => {
    const textPart = new FormData();
    textPart.append('file', 'hello');
    const answers = [
      await api('/v1/compress', { method: 'POST', headers: AUTH, body: textPart }),
      await api('/v1/compress', {
        method: 'POST',
        headers: { ...AUTH, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'file=hello',
      }),
      await api('/v1/compress', json({ file: 'hello' })),
      await api('/v1/compress', json({ file: { bytes: [1, 2, 3] } })),
    ];
    for (const answer of answers) expect((await expectError(answer, 400, 'invalid_param')).error.param).toBe('file');
  });

  it('base64 that is not base64', async () => {
    const body = await expectError(await api('/v1/compress', json({ data: 'not*base64!' })), 400, 'invalid_param');
    expect(body.error.param).toBe('data');
  });
});

describe('errors[] and param', () => {
  it('an error about no field has neither', async () => {
    for (const body of [
      await expectError(await api('/v1/compress', { method: 'POST', headers: AUTH }), 400, 'missing_source'),
      await expectError(await api('/v1/usage'), 401, 'unauthorized'),
      await expectError(await api('/v1/nothing-here', { headers: AUTH }), 404, 'not_found'),
    ]) {
      expect(body.error.param).toBeUndefined();
      expect(body.errors).toBeUndefined();
    }
  });

  it('an error about a field carries both, as validation errors do', async () => {
    const url = await expectError(await api('/v1/compress', json({ url: 'http://10.0.0.1/a.jpg' })), 400, 'invalid_url');
    expect(url.errors).toEqual([{ param: 'url', message: url.error.message }]);
  });
});

describe('parameters', () => {
  it('lists every bad field, each with its own message', async () => {
    const response = await compress(fixtures.photoJpeg, {
      quality: '0',
      format: 'gif',
      max_width: 'wide',
      fit: 'stretch',
      strip_metadata: 'maybe',
      colour: 'red',
    });
    const body = await expectError(response, 400, 'invalid_param');
    expect(Object.fromEntries(body.errors!.map((e) => [e.param, e.message]))).toEqual({
      quality: 'must be at least 1',
      format: 'must be one of jpeg, png, webp, avif, auto',
      max_width: 'must be a whole number of pixels',
      fit: 'must be one of cover, contain, fill',
      strip_metadata: 'must be true or false',
      colour: 'is not a known parameter',
    });
    expect(body.error.param).toBe(body.errors![0]!.param);
  });

  it('no option answers with a generic message, whatever the wrong value', async () => {
    for (const name of Object.keys(compressOptionsSchema.shape)) {
      for (const value of ['maybe', '', '1.5', { nested: true }, [1], null]) {
        const body = await expectError(await api('/v1/compress', json({ data: 'AAAA', [name]: value })), 400, 'invalid_param');
        expect(body.errors, `${name}=${JSON.stringify(value)}`).toHaveLength(1);
        expect(body.errors![0]!.message, `${name}=${JSON.stringify(value)}`).not.toMatch(/^Invalid input/);
      }
    }
    const async = await expectError(await compress(fixtures.photoJpeg, { async: 'maybe' }), 400, 'invalid_param');
    expect(async.errors).toEqual([{ param: 'async', message: 'must be true or false' }]);
  });

  it('JSON options are validated the same way', async () => {
    const body = await expectError(await api('/v1/compress', json({ data: 'AAAA', quality: 101, width: 1.5 })), 400, 'invalid_param');
    expect(body.errors!.map((e) => e.param).sort()).toEqual(['quality', 'width']);
  });

  it('quality with target_size', async () => {
    const body = await expectError(await compress(fixtures.photoJpeg, { quality: '80', target_size: '1000' }), 400, 'invalid_param');
    expect(body.error.param).toBe('target_size');
  });

  it('lossless for JPEG output', async () => {
    expect((await expectError(await compress(fixtures.photoJpeg, { lossless: 'true' }), 400, 'invalid_param')).error.param).toBe(
      'lossless',
    );
  });

  it('webhook_url must be a URL', async () => {
    await expectError(await compress(fixtures.photoJpeg, { webhook_url: 'ftp://example.com' }), 400, 'invalid_param');
    // IPv4 loopback written as IPv6, which the URL parser turns into [::7f00:1].
    for (const hidden of ['https://[::127.0.0.1]/hook', 'https://[::ffff:0:127.0.0.1]/hook']) {
      expect((await expectError(await compress(fixtures.photoJpeg, { webhook_url: hidden }), 400, 'invalid_url')).error.param).toBe(
        'webhook_url',
      );
    }
  });
});

describe('faults', () => {
  it('anything thrown, Error or not, becomes a JSON internal_error with a request id', async () => {
    // Emscripten's codecs throw an ExitStatus object, not an Error, when a program exits.
    const probe = new Hono<AppEnv>().use(requestScope);
    probe.get('/throws', () => {
      throw { name: 'ExitStatus', message: 'Program terminated with exit(1)' };
    });
    const answer = await probe.request('/throws', {}, env);
    expect(answer.headers.get('X-Request-Id')).toBeTruthy();
    await expectError(answer, 500, 'internal_error');
  });
});

describe('CPU by shape', () => {
  it('a PNG taller than oxipng handles in time is deflated row by row instead, lossless and palette alike', async () => {
    // oxipng's cost is per row: a 1×60,000 image took it 2.9 s; the row-streaming writer, milliseconds.
    const height = OXIPNG_MAX_ROWS + 1;
    const tall = { data: new Uint8Array(height * 4).fill(128), width: 1, height };
    expect(await wasmCodecs.encode('png', tall, { quality: 100, lossless: true })).toEqual(await encodePngStreaming(tall.data, 1, height));
    const indexed = { indices: new Uint8Array(height), palette: new Uint8Array([128, 128, 128, 255]), width: 1, height };
    expect(await wasmCodecs.encodeIndexedPng(indexed)).toEqual(await encodeIndexedPngStreaming(indexed));
    // Just under the limit, oxipng still runs (it writes a grey image smaller than RGB).
    const short = { data: new Uint8Array(OXIPNG_MAX_ROWS * 4).fill(128), width: 1, height: OXIPNG_MAX_ROWS };
    expect((await wasmCodecs.encode('png', short, { quality: 100, lossless: true })).length).toBeLessThan(
      (await encodePngStreaming(short.data, 1, OXIPNG_MAX_ROWS)).length,
    );
  });
});

describe('encoder limits', () => {
  it('an output longer than its encoder can write is a 413 from the header, listed in /v1/formats', async () => {
    // mozjpeg cannot write a JPEG wider than 65,500 px, libwebp a WebP wider than 16,383.
    const wide = await wasmCodecs.encode(
      'png',
      { data: new Uint8Array(70_000 * 4).fill(128), width: 70_000, height: 1 },
      { quality: 100, lossless: true },
    );
    for (const format of ['jpeg', 'webp']) {
      const answer = await api(`/v1/compress?format=${format}&quality=80`, {
        method: 'POST',
        headers: { ...AUTH, 'Content-Type': 'image/png' },
        body: wide,
      });
      expect((await expectError(answer, 413, 'image_too_large')).error.message).toMatch(/pixels on a side/);
    }
    const formats = (await (await api('/v1/formats')).json()) as { output: { format: string; max_output_side: number }[] };
    expect(Object.fromEntries(formats.output.map((o) => [o.format, o.max_output_side]))).toMatchObject({ jpeg: 65_500, webp: 16_383 });
  });
});

describe('routes and methods', () => {
  it('unknown route', async () => {
    await expectError(await api('/v1/nothing-here', { headers: AUTH }), 404, 'not_found');
    await expectError(await api('/'), 404, 'not_found');
  });

  it('known path, wrong method', async () => {
    const response = await api('/v1/compress', { headers: AUTH });
    expect(response.headers.get('Allow')).toBe('POST');
    await expectError(response, 405, 'method_not_allowed');
    await expectError(await api('/v1/health', { method: 'DELETE' }), 405, 'method_not_allowed');
  });
});

describe('authentication', () => {
  it('missing key', async () => {
    await expectError(await api('/v1/compress', { method: 'POST', body: fixtures.photoJpeg }), 401, 'unauthorized');
  });

  it('unknown key, either header', async () => {
    await expectError(
      await api('/v1/compress', { method: 'POST', headers: { Authorization: 'Bearer ck_live_nope' }, body: fixtures.photoJpeg }),
      401,
      'unauthorized',
    );
    await expectError(
      await api('/v1/compress', { method: 'POST', headers: { 'X-API-Key': 'ck_dev_local2' }, body: fixtures.photoJpeg }),
      401,
      'unauthorized',
    );
  });

  it('the development key answers only on a local host, even where ENVIRONMENT is development', async () => {
    const at = (origin: string) => exports.default.fetch(new Request(`${origin}/v1/usage`, { headers: AUTH }));
    for (const origin of ['https://compress.example.workers.dev', 'https://203.0.113.9']) {
      expect((await expectError(await at(origin), 401, 'unauthorized')).error.message).toMatch(/only on localhost/);
    }
    for (const origin of ['http://localhost:8787', 'http://127.0.0.1:8787', 'http://[::1]:8787', 'https://api.test'])
      expect((await at(origin)).status).toBe(200);
  });
});

describe('formats', () => {
  it('a GIF is unsupported', async () => {
    const gif = fromDataUri('data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7');
    expect((await expectError(await compress(gif), 415, 'unsupported_format')).error.message).toMatch(/GIF/);
  });

  it('a text file is unsupported', async () => {
    await expectError(await compress(new TextEncoder().encode('hello, I am not an image\n')), 415, 'unsupported_format');
  });

  it('a truncated JPEG is an invalid image', async () => {
    await expectError(await compress(fixtures.photoJpeg.slice(0, 4000)), 422, 'invalid_image');
  });

  it('a JPEG cut inside its header is an invalid image', async () => {
    await expectError(await compress(fixtures.photoJpeg.slice(0, 40)), 422, 'invalid_image');
  });

  it('a truncated WebP is an invalid image', async () => {
    const webp = new Uint8Array(await (await compress(fixtures.photoJpeg, { format: 'webp' })).arrayBuffer());
    await expectError(await compress(webp.slice(0, webp.length - 500)), 422, 'invalid_image');
  });

  it('a truncated AVIF is an invalid image', async () => {
    // At a fixed quality: a smart search of this size is predicted to take long enough to become a job.
    await expectError(await compress(fixtures.kimonoAvif.slice(0, 40_000), { format: 'jpeg', quality: '80' }), 422, 'invalid_image');
  });

  it('a truncated PNG is an invalid image', async () => {
    await expectError(await compress(fixtures.goldfishPng.slice(0, fixtures.goldfishPng.length - 100)), 422, 'invalid_image');
  });

  // PngSuite's broken files: a valid signature then corrupt content gives 422; a damaged
  // "\x89PNG..." signature still claims PNG (422); anything else is not a PNG at all (415).
  const broken: [string, string, number][] = [
    ['xc1n0g08 colour type 1', xc1n0g08, 422],
    ['xc9n2c08 colour type 9', xc9n2c08, 422],
    ['xcrn0g04 added CR bytes', xcrn0g04, 422],
    ['xcsn0g01 bad IDAT checksum', xcsn0g01, 422],
    ['xd0n2c08 bit depth 0', xd0n2c08, 422],
    ['xd3n2c08 bit depth 3', xd3n2c08, 422],
    ['xd9n2c08 bit depth 99', xd9n2c08, 422],
    ['xdtn0g01 missing IDAT', xdtn0g01, 422],
    ['xhdn0g08 bad IHDR checksum', xhdn0g08, 422],
    ['xlfn0g04 added LF bytes', xlfn0g04, 422],
    ['xs1n0g01 signature byte 1', xs1n0g01, 415],
    ['xs2n0g01 signature byte 2', xs2n0g01, 415],
    ['xs4n0g01 signature byte 4', xs4n0g01, 415],
    ['xs7n0g01 signature byte 7', xs7n0g01, 422],
  ];
  for (const [name, uri, status] of broken) {
    it(`PngSuite ${name} → ${status}`, async () => {
      await expectError(await compress(fromDataUri(uri)), status, status === 415 ? 'unsupported_format' : 'invalid_image');
    });
  }

  it('the PNG decoder still works after every broken file', async () => {
    for (const [, uri] of broken) await compress(fromDataUri(uri));
    expect((await compress(fixtures.goldfishPng)).status).toBe(200);
  });
});

describe('sizes', () => {
  it('a body over the file limit', async () => {
    const big = new Uint8Array(25 * 1024 * 1024 + 1);
    big.set(fixtures.photoJpeg);
    // The field that carried the image is named; a raw body is no field.
    expect(
      (
        await expectError(
          await api('/v1/compress', { method: 'POST', headers: { ...AUTH, 'Content-Type': 'image/jpeg' }, body: big }),
          413,
          'file_too_large',
        )
      ).errors,
    ).toBeUndefined();
    expect((await expectError(await compress(big), 413, 'file_too_large')).error.param).toBe('file');
  });

  it('too many pixels, read from the header before decoding', async () => {
    // A well-formed PNG that claims 20000×20000 but carries no pixel data at all: were it
    // decoded, it would fail; the header check must answer first.
    const png = pngClaiming(20000, 20000);
    const body = await expectError(await compress(png), 413, 'image_too_large');
    expect(body.error.message).toMatch(/20000×20000/);
  });

  it('an output larger than the limit', async () => {
    await expectError(await compress(fixtures.photoJpeg, { width: '16000', height: '16000', fit: 'fill' }), 413, 'image_too_large');
  });

  it('an enlargement past what an enlarged output may be, below the limit for a decoded one', async () => {
    // 480×316 to 3600 wide is 8.5 MP: within WebP's 12 MP for a decoded image, over its 8 MP for an enlarged one.
    const body = await expectError(await compress(fixtures.photoJpeg, { width: '3600', format: 'webp' }), 413, 'image_too_large');
    expect(body.error.param).toBe('width');
    expect(body.error.message).toMatch(/enlarged webp output/);
  });

  it('a crop that is enlarged counts as an enlargement, though the output has fewer pixels than the input', async () => {
    // 4000×3000 (12 MP) cropped to 4000×444 and stretched to 9000×1000 (9 MP): a new 9 MP
    // output beside the source, over WebP's 8 MP for an enlarged output.
    const body = await expectError(
      await compress(pngClaiming(4000, 3000), { width: '9000', height: '1000', fit: 'cover', format: 'webp' }),
      413,
      'image_too_large',
    );
    expect(body.error.message).toMatch(/enlarged webp output/);
  });
});

describe('host names checked by a DNS-over-HTTPS resolver (RESOLVE_HOSTS_VIA)', () => {
  /** A resolver that knows a few names, and an image server that answers every other request. */
  const network = (names: Record<string, { A?: string[]; AAAA?: string[] }>) => {
    const asked: string[] = [];
    const fetcher = (async (input: RequestInfo | URL) => {
      const url = new URL(String(input));
      if (url.hostname === 'dns.test') {
        const name = url.searchParams.get('name')!;
        const type = url.searchParams.get('type') as 'A' | 'AAAA';
        asked.push(`${name} ${type}`);
        const data = names[name]?.[type] ?? [];
        return Response.json({ Status: 0, Answer: data.map((d) => ({ name, type: type === 'A' ? 1 : 28, data: d })) });
      }
      return new Response(fixtures.photoJpeg, { headers: { 'content-type': 'image/jpeg' } });
    }) as typeof fetch;
    return { fetcher, asked, check: hostCheckFor({ RESOLVE_HOSTS_VIA: 'https://dns.test/dns-query' }, fetcher) };
  };

  it('a name that resolves to a private address is refused before it is fetched; a public one is fetched', async () => {
    const { fetcher, asked, check } = network({
      'images.example.com': { A: ['93.184.216.34'] },
      'sneaky.example.com': { A: ['93.184.216.34'], AAAA: ['::ffff:127.0.0.1'] },
    });
    expect((await fetchImage('https://images.example.com/a.jpg', 1e7, check, fetcher)).bytes).toEqual(fixtures.photoJpeg);
    await expect(fetchImage('https://sneaky.example.com/a.jpg', 1e7, check, fetcher)).rejects.toMatchObject({
      code: 'invalid_url',
      message: expect.stringMatching(/resolves to a private/),
    });
    await expect(fetchImage('https://nowhere.example.com/a.jpg', 1e7, check, fetcher)).rejects.toMatchObject({
      code: 'invalid_url',
      message: expect.stringMatching(/does not resolve/),
    });
    expect(asked).toContain('sneaky.example.com AAAA');
  });

  it('a webhook whose name resolves to a private address is not sent, and the attempt says why', async () => {
    const { fetcher, check } = network({ 'hooks.example.com': { A: ['10.0.0.8'] } });
    const outcome = await postWebhook('https://hooks.example.com/h', 'job.succeeded', 'd1', '{}', 'secret', check, fetcher);
    expect(outcome).toMatchObject({ ok: false, error: expect.stringMatching(/resolves to a private.*10\.0\.0\.8/) });
  });

  it('without RESOLVE_HOSTS_VIA nothing is asked', async () => {
    let calls = 0;
    const fetcher = (async () => (calls++, new Response(fixtures.photoJpeg))) as typeof fetch;
    await fetchImage('https://images.example.com/a.jpg', 1e7, hostCheckFor({ RESOLVE_HOSTS_VIA: '' }, fetcher), fetcher);
    expect(calls).toBe(1);
  });
});

describe('url sources', () => {
  const fromUrl = (url: string) => api('/v1/compress', json({ url }));

  it.each([
    'ftp://example.com/a.jpg',
    'not a url',
    'http://localhost/a.jpg',
    'http://127.0.0.1/a.jpg',
    'http://2130706433/a.jpg',
    'http://0x7f.1/a.jpg',
    'http://10.1.2.3/a.jpg',
    'http://192.168.1.1/a.jpg',
    'http://172.20.0.1/a.jpg',
    'http://169.254.169.254/latest/meta-data',
    'http://metadata.google.internal/computeMetadata',
    'http://[::1]/a.jpg',
    'http://[fe80::1]/a.jpg',
    'http://[::ffff:127.0.0.1]/a.jpg',
    'http://[fd00::1]/a.jpg',
    'http://[::127.0.0.1]/a.jpg',
    'http://[::ffff:0:127.0.0.1]/a.jpg',
    'http://[0:0:0:0:0:ffff:a00:1]/a.jpg',
    'http://[64:ff9b::a9fe:a9fe]/a.jpg',
    'http://[2002:c0a8:101::1]/a.jpg',
    'http://[2001::1]/a.jpg',
    'http://[::]/a.jpg',
    'http://intranet/a.jpg',
  ])('refuses %s', async (url) => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    await expectError(await fromUrl(url), 400, 'invalid_url');
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('refuses a private or file: URL at submission, for jobs too', async () => {
    for (const url of ['http://[::127.0.0.1]/a.jpg', 'file:///etc/passwd', 'http://10.0.0.1/a.jpg']) {
      const answer = await api('/v1/compress', json({ url, async: true }));
      await expectError(answer, 400, 'invalid_url');
    }
  });

  it('accepts public hosts and addresses', () => {
    expect(parsePublicUrl('https://images.example.com/a.jpg').hostname).toBe('images.example.com');
    expect(parsePublicUrl('http://93.184.216.34/a.jpg').hostname).toBe('93.184.216.34');
    // Public IPv6, and IPv4-embedding forms of a public IPv4 address.
    expect(parsePublicUrl('http://[2606:4700::6810:84e5]/a.jpg').hostname).toBe('[2606:4700::6810:84e5]');
    expect(parsePublicUrl('http://[::ffff:93.184.216.34]/a.jpg').hostname).toBe('[::ffff:5db8:d822]');
    expect(parsePublicUrl('http://[2002:5db8:d822::1]/a.jpg').hostname).toBe('[2002:5db8:d822::1]');
  });

  it('a non-2xx answer is fetch_failed', async () => {
    vi.spyOn(globalThis, 'fetch').mockImplementation(async () => new Response('nope', { status: 404 }));
    expect((await expectError(await fromUrl('https://example.com/missing.jpg'), 422, 'fetch_failed')).error.message).toMatch(/404/);
  });

  it('a redirect into a private network is refused', async () => {
    vi.spyOn(globalThis, 'fetch').mockImplementation(
      async () => new Response(null, { status: 302, headers: { Location: 'http://169.254.169.254/' } }),
    );
    await expectError(await fromUrl('https://example.com/a.jpg'), 400, 'invalid_url');
  });

  it('an answer over the size limit is fetch_failed', async () => {
    vi.spyOn(globalThis, 'fetch').mockImplementation(async () => new Response(new Uint8Array(26 * 1024 * 1024)));
    await expectError(await fromUrl('https://example.com/huge.jpg'), 422, 'fetch_failed');
  });

  it('a network failure is fetch_failed', async () => {
    vi.spyOn(globalThis, 'fetch').mockRejectedValue(new TypeError('Network connection lost'));
    await expectError(await fromUrl('https://example.com/a.jpg'), 422, 'fetch_failed');
  });
});

describe('internal faults', () => {
  it('a codec crash is a 500 compression_failed that does not invite a retry, and is not counted as usage', async () => {
    const { codecSource, wasmCodecs } = await import('../../src/codecs/wasm');
    const key = await createKey('pro');
    vi.spyOn(codecSource, 'create').mockReturnValue({
      ...wasmCodecs,
      encode: () => Promise.reject(new WebAssembly.RuntimeError('unreachable')),
    });
    const body = await expectError(await compress(fixtures.photoJpeg, {}, key.auth), 500, 'compression_failed');
    expect(body.error.message).toMatch(/unreachable.*will fail the same way/);
    vi.restoreAllMocks();
    const usage = await waitFor(
      async () => (await (await api('/v1/usage', { headers: key.auth })).json()) as { usage: { compressions: number } },
      (u) => u.usage.compressions === 0,
    );
    expect(usage.usage.compressions).toBe(0);
  });

  it('a transient fault (storage, network, memory) is a 500 compression_failed that is safe to retry', async () => {
    const { codecSource, wasmCodecs } = await import('../../src/codecs/wasm');
    for (const fault of [new Error('Network connection lost'), new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded')]) {
      vi.spyOn(codecSource, 'create').mockReturnValue({ ...wasmCodecs, encode: () => Promise.reject(fault) });
      const body = await expectError(await compress(fixtures.photoJpeg), 500, 'compression_failed');
      expect(body.error.message).toMatch(/safe to retry/);
      vi.restoreAllMocks();
    }
  });
});
