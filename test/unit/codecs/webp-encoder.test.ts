import { describe, expect, it } from 'vitest';
import { wasmCodecs } from '../../../src/codecs/wasm';
import type { RawImage } from '../../../src/codecs/types';
import { type WebpEncoderTuning, createWebpEncoder } from '../../../src/codecs/webp/encoder';
import { riffChunks } from '../../../src/formats/riff';
import { writeMetadata } from '../../../src/pipeline/metadata';
import { fixtures, similarity } from '../../helpers';

const WHOLE_IMAGE = Number.MAX_SAFE_INTEGER;

/** `image` with its bottom `rows` rows made half transparent. */
function withTransparentBottom(image: RawImage, rows: number): RawImage {
  const data = Uint8Array.from(image.data);
  for (let i = (image.height - rows) * image.width * 4 + 3; i < data.length; i += 4) data[i] = 128;
  return { data, width: image.width, height: image.height };
}

describe('our WebP encoder (libwebp, fed a band of rows at a time)', () => {
  it('writes the same file in bands of two rows as from the whole image at once, lossy and lossless, with and without alpha', async () => {
    const photo = await wasmCodecs.decode('jpeg', fixtures.photoJpeg);
    const cases: [string, RawImage][] = [
      ['opaque photo', photo],
      ['odd height', { data: photo.data.subarray(0, photo.width * 301 * 4), width: photo.width, height: 301 }],
      ['alpha', await wasmCodecs.decode('png', fixtures.alphaPng)],
      ['alpha in the last band only', withTransparentBottom(photo, 7)],
    ];
    for (const [name, image] of cases) {
      for (const settings of [
        { quality: 75, lossless: false },
        { quality: 30, lossless: false },
        { quality: 100, lossless: true },
      ]) {
        const banded = createWebpEncoder({ bandPixels: image.width * 2 }).encode(image, settings);
        const whole = createWebpEncoder({ bandPixels: WHOLE_IMAGE }).encode(image, settings);
        expect(banded, `${name}, ${JSON.stringify(settings)}`).toEqual(whole);
      }
    }
  });

  it('keeps alpha that first appears in a later band, and keeps an opaque image opaque', async () => {
    const photo = await wasmCodecs.decode('jpeg', fixtures.photoJpeg);
    const encoder = createWebpEncoder({ bandPixels: photo.width * 2 });
    const decoded = await wasmCodecs.decode('webp', encoder.encode(withTransparentBottom(photo, 7), { quality: 90, lossless: false }));
    const alphaAt = (image: RawImage, row: number) => image.data[(row * image.width + 10) * 4 + 3];
    expect(alphaAt(decoded, photo.height - 1)).toBeGreaterThan(120);
    expect(alphaAt(decoded, photo.height - 1)).toBeLessThan(136);
    expect(alphaAt(decoded, 0)).toBe(255);
    const opaque = await wasmCodecs.decode('webp', encoder.encode(photo, { quality: 90, lossless: false }));
    expect(opaque.data.every((value, i) => i % 4 !== 3 || value === 255)).toBe(true);
    expect(similarity(photo, opaque)).toBeGreaterThan(0.95);
  });

  it('gives the same file from a reused instance as from a fresh one, after larger and smaller images', async () => {
    const photo = await wasmCodecs.decode('jpeg', fixtures.photoJpeg);
    const goldfish = await wasmCodecs.decode('png', fixtures.goldfishPng);
    const reused = createWebpEncoder();
    reused.encode(photo, { quality: 80, lossless: false });
    reused.encode(goldfish, { quality: 100, lossless: true });
    expect(reused.encode(goldfish, { quality: 60, lossless: false })).toEqual(
      createWebpEncoder().encode(goldfish, { quality: 60, lossless: false }),
    );
  });

  it("throws libwebp's reason for an image WebP cannot hold, and stays usable", async () => {
    const encoder = createWebpEncoder();
    const tooWide: RawImage = { data: new Uint8Array(16_384 * 2 * 4).fill(255), width: 16_384, height: 2 };
    expect(() => encoder.encode(tooWide, { quality: 75, lossless: false })).toThrow(/BAD_DIMENSION/);
    const goldfish = await wasmCodecs.decode('png', fixtures.goldfishPng);
    expect(encoder.encode(goldfish, { quality: 60, lossless: false })).toEqual(
      createWebpEncoder().encode(goldfish, { quality: 60, lossless: false }),
    );
  });
});

/** The RIFF chunks of a WebP file, by fourcc. */
const chunksOf = (file: Uint8Array) => new Map(riffChunks(file).map(({ fourcc, data }) => [fourcc, data]));

const alphaOf = (image: RawImage) => Uint8Array.from({ length: image.width * image.height }, (_, i) => image.data[i * 4 + 3]!);

/** The photo fixture with alpha made by `alphaAt(x, y, pixel)`. */
async function photoWithAlpha(
  alphaAt: (x: number, y: number, rgba: ArrayLike<number>) => number,
  size?: { width: number; height: number },
): Promise<RawImage> {
  const photo = await wasmCodecs.decode('jpeg', fixtures.photoJpeg);
  const width = size?.width ?? photo.width;
  const height = size?.height ?? photo.height;
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const from = ((y % photo.height) * photo.width + (x % photo.width)) * 4;
      const to = (y * width + x) * 4;
      data.set(photo.data.subarray(from, from + 3), to);
      data[to + 3] = alphaAt(x, y, photo.data.subarray(from, from + 4));
    }
  }
  return { data, width, height };
}

describe('our alpha coder (large transparent images)', () => {
  const ours = (tuning: WebpEncoderTuning = {}) => createWebpEncoder({ libwebpAlphaMaxPixels: 0, ...tuning });
  const libwebp = () => createWebpEncoder({ libwebpAlphaMaxPixels: Number.MAX_SAFE_INTEGER });
  const luma = (p: ArrayLike<number>) => (p[0]! * 3 + p[1]! * 6 + p[2]!) / 10;
  const images: [string, () => Promise<RawImage>][] = [
    ['a cut-out with soft edges', () => photoWithAlpha((_x, _y, p) => Math.max(0, Math.min(255, (luma(p) - 90) * 12)))],
    ['a radial fade', () => photoWithAlpha((x, y) => Math.max(0, Math.min(255, 400 - Math.hypot(x - 240, y - 158) * 2)))],
    ['noise', () => photoWithAlpha((x, y) => (x * 7919 + y * 104729) % 251)],
    ['one level everywhere', () => photoWithAlpha(() => 128)],
    ['runs longer than the longest copy', () => photoWithAlpha((_x, y) => (y < 100 ? 0 : 255))],
    ['one column', () => photoWithAlpha((_x, y) => (y * 5) % 256, { width: 1, height: 300 })],
    ['one row', () => photoWithAlpha((x) => ((x >> 3) % 2 ? 40 : 200), { width: 700, height: 1 })],
    ['one pixel', () => photoWithAlpha(() => 7, { width: 1, height: 1 })],
    // Rows repeat 1.08 M pixels apart, farther than a copy may reach (2^20 − 120).
    ['repeats beyond the copy window', () => photoWithAlpha((x, y) => ((x * 13) ^ ((y % 900) * 7)) & 255, { width: 1200, height: 1000 })],
  ];

  it('keeps every alpha value exactly, with each filter, and leaves the colour bitstream as libwebp writes it', async () => {
    for (const [name, make] of images) {
      const image = await make();
      const reference = chunksOf(libwebp().encode(image, { quality: 75, lossless: false }));
      for (const alphaFilter of [undefined, 0, 1, 2, 3]) {
        const file = ours({ alphaFilter }).encode(image, { quality: 75, lossless: false });
        const chunks = chunksOf(file);
        expect([...chunks.keys()], name).toEqual(['VP8X', 'ALPH', 'VP8 ']);
        expect(chunks.get('VP8 '), name).toEqual(reference.get('VP8 '));
        const decoded = await wasmCodecs.decode('webp', file);
        expect(alphaOf(decoded), `${name}, filter ${alphaFilter ?? 'chosen'}`).toEqual(alphaOf(image));
      }
    }
  });

  it('chooses the filter that codes smallest, and stays within a few percent of libwebp on a soft cut-out', async () => {
    const [, make] = images[0]!;
    const image = await make();
    const sizes = [0, 1, 2, 3].map(
      (alphaFilter) => chunksOf(ours({ alphaFilter }).encode(image, { quality: 75, lossless: false })).get('ALPH')!.length,
    );
    const chosen = chunksOf(ours().encode(image, { quality: 75, lossless: false })).get('ALPH')!;
    expect(chosen.length).toBe(Math.min(...sizes));
    const theirs = libwebp().encode(image, { quality: 75, lossless: false });
    const mine = ours().encode(image, { quality: 75, lossless: false });
    expect(mine.length / theirs.length).toBeLessThan(1.1);
  });

  it('refuses a filter the alpha header cannot hold', async () => {
    const image = await images[0]![1]();
    expect(() => ours({ alphaFilter: 4 }).encode(image, { quality: 75, lossless: false })).toThrow(/INVALID_CONFIGURATION/);
  });

  it('gives the same file again from a reused instance', async () => {
    const encoder = ours();
    for (const [, make] of images.slice(0, 3)) {
      const image = await make();
      const first = encoder.encode(image, { quality: 75, lossless: false });
      expect(encoder.encode(image, { quality: 75, lossless: false })).toEqual(first);
    }
  });

  it('survives an ICC profile being added to the file', async () => {
    const image = await images[0]![1]();
    const file = await writeMetadata('webp', ours().encode(image, { quality: 75, lossless: false }), { icc: new Uint8Array(200).fill(3) });
    expect([...chunksOf(file).keys()]).toEqual(['VP8X', 'ICCP', 'ALPH', 'VP8 ']);
    expect(alphaOf(await wasmCodecs.decode('webp', file))).toEqual(alphaOf(image));
  });
});
