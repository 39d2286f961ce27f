import { env, exports } from 'cloudflare:workers';
import { expect } from 'vitest';
import { z } from 'zod';
import { errorBodySchema } from '../src/schemas/responses';
import { type KeyRecord, keyMetadata, keyRecordName, newKeyRecord } from '../src/auth/key-format';
import type { PlanName } from '../src/auth/plans';
import { ssim } from 'ssim.js';
import type { RawImage } from '../src/codecs/types';
import { concat } from '../src/formats/bytes';
import { PNG_SIGNATURE, pngChunk, pngHeader } from '../src/formats/png';
import cityPng from './fixtures/photos/city-400.png?inline';
import photoJpeg from './fixtures/photos/firstgeneration-480.jpg?inline';
import goldfishPng from './fixtures/photos/goldfish-400.png?inline';
import alphaPng from './fixtures/pngsuite/basn6a08.png?inline';
import kimonoAvif from './fixtures/avif/kimono.avif?inline';
import alphaAvif from './fixtures/avif/plum-blossom-small.profile0.8bpc.yuv420.alpha-full.avif?inline';
import patternJpeg from './fixtures/natural/pattern-384.jpg?inline';
import birdJpeg from './fixtures/natural/bird-384.jpg?inline';

export function fromDataUri(uri: string): Uint8Array {
  const binary = atob(uri.slice(uri.indexOf(',') + 1));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

export const fixtures = {
  /** 480×316 photo, JPEG q92. */
  photoJpeg: fromDataUri(photoJpeg),
  /** 400×264 artwork, RGBA PNG. */
  goldfishPng: fromDataUri(goldfishPng),
  /** 400×264 flat artwork, RGBA PNG. */
  cityPng: fromDataUri(cityPng),
  /** 32×32 PNG with real transparency (PngSuite). */
  alphaPng: fromDataUri(alphaPng),
  /** AVIF conformance sample, 8-bit 4:2:0. */
  kimonoAvif: fromDataUri(kimonoAvif),
  /** AVIF conformance sample with an alpha plane (its decoder refuses it, its header declares it). */
  alphaAvif: fromDataUri(alphaAvif),
  /** 384×256 photo of textured glass: fine texture all over. JPEG q95. */
  patternJpeg: fromDataUri(patternJpeg),
  /** 384×256 photo of a wooden bird before a smooth grey gradient. JPEG q95. */
  birdJpeg: fromDataUri(birdJpeg),
};

export const AUTH = { Authorization: 'Bearer ck_dev_local' };

export function api(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(`https://api.test${path}`, init));
}

export function multipart(file: Uint8Array | undefined, fields: Record<string, string> = {}, filename = 'upload.bin'): FormData {
  const form = new FormData();
  if (file) form.append('file', new File([file], filename));
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  return form;
}

export function compress(file: Uint8Array, fields: Record<string, string> = {}, headers: Record<string, string> = {}) {
  return api('/v1/compress', { method: 'POST', headers: { ...AUTH, ...headers }, body: multipart(file, fields, 'photo.jpg') });
}

/** Mean SSIM (0..1, 1 = identical) over RGB, after flattening both images onto white. */
export function similarity(a: RawImage, b: RawImage): number {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`size differs: ${a.width}×${a.height} vs ${b.width}×${b.height}`);
  const flat = (image: RawImage) => {
    const data = new Uint8ClampedArray(image.data.length);
    for (let i = 0; i < data.length; i += 4) {
      const alpha = image.data[i + 3]! / 255;
      for (let c = 0; c < 3; c++) data[i + c] = image.data[i + c]! * alpha + 255 * (1 - alpha);
      data[i + 3] = 255;
    }
    return { data, width: image.width, height: image.height };
  };
  type SsimImage = Parameters<typeof ssim>[0];
  return ssim(flat(a) as unknown as SsimImage, flat(b) as unknown as SsimImage).mssim;
}

export interface ErrorBody {
  success: false;
  id: string;
  error: { code: string; message: string; param?: string };
  errors?: { param: string; message: string }[];
}

/** Asserts the contract's error shape and returns the body. */
export async function expectError(response: Response, status: number, code: string): Promise<ErrorBody> {
  const body = (await response.json()) as ErrorBody;
  if (response.status !== status || body.error?.code !== code) {
    throw new Error(`expected ${status} ${code}, got ${response.status} ${JSON.stringify(body)}`);
  }
  if (body.success !== false || body.id !== response.headers.get('X-Request-Id') || !body.error.message) {
    throw new Error(`malformed error body ${JSON.stringify(body)}`);
  }
  expectShape(errorBodySchema, body);
  // `param` and `errors` go together: an error about fields names the first and lists them all.
  if ((body.error.param === undefined) !== (body.errors === undefined) || (body.errors && body.errors[0]!.param !== body.error.param)) {
    throw new Error(`param and errors disagree in ${JSON.stringify(body)}`);
  }
  return body;
}

/** Asserts that a body is exactly what its schema (and so the OpenAPI document) describes: nothing missing, nothing more. */
export function expectShape(schema: z.ZodType, body: unknown): void {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new Error(`body does not match its schema: ${z.prettifyError(parsed.error)}\n${JSON.stringify(body)}`);
  // Parsing drops fields the schema does not name, so a difference is an undocumented field.
  expect(parsed.data).toEqual(body);
}

/** A well-formed PNG that claims width × height but carries no pixel data: only a header check can answer it. */
export function pngClaiming(width: number, height: number, colourType: 2 | 6 = 2): Uint8Array {
  return concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', pngHeader(width, height, colourType)),
    pngChunk('IDAT', new Uint8Array(0)),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}

/** A real API key on the given plan, stored as the key CLI stores it. */
export async function createKey(plan: PlanName): Promise<{ key: string; record: KeyRecord; auth: Record<string, string> }> {
  const { key, record } = await newKeyRecord('test', plan, `test ${plan}`);
  await env.API_KEYS.put(keyRecordName(record.hash), JSON.stringify(record), { metadata: keyMetadata(record) });
  return { key, record, auth: { Authorization: `Bearer ${key}` } };
}

/** Polls until `done` holds (jobs and queues run on their own in the test runtime). */
export async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out; last value ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
