import { describe, expect, it } from 'vitest';
import { wasmCodecs } from '../../../src/codecs/wasm';
import type { IndexedImage, RawImage } from '../../../src/codecs/types';
import { ssimulacra2, ssimulacra2Against } from '../../../src/pipeline/ssimulacra2';
import { fromDataUri } from '../../helpers';

const files = import.meta.glob('../../fixtures/ssimulacra2/*.png', { query: '?inline', import: 'default', eager: true }) as Record<
  string,
  string
>;

function load(name: string): Promise<RawImage> {
  const uri = files[`../../fixtures/ssimulacra2/${name}.png`];
  if (!uri) throw new Error(`no fixture ${name}`);
  return wasmCodecs.decode('png', fromDataUri(uri));
}

/**
 * Scores printed by libjxl 0.11.2's `tools/ssimulacra2` (built natively, Release, Highway's
 * AVX2 target) for `ssimulacra2 reference.png candidate.png`; how each file was made is in
 * fixtures/ssimulacra2/README.md.
 */
const REFERENCE_SCORES: [reference: string, candidate: string, score: number][] = [
  ['photo', 'photo-jpeg-q90', 86.24433074],
  ['photo', 'photo-jpeg-q20', 51.86652116],
  ['photo', 'photo-webp-q10', 30.6904224],
  ['photo', 'photo-blur', 56.8011329],
  ['gradient', 'gradient-16-levels', 49.67935718],
  ['fish-alpha', 'fish-alpha-webp-q40', 37.1684536],
  ['small', 'small-jpeg-q40', 7.41575684],
  ['basn6a08', 'basn6a08-4-bit', 75.56334359],
];

/** Keeps the top `bits` of every sample, alpha included. */
function posterised({ data, width, height }: RawImage, bits: number): RawImage {
  const mask = (0xff << (8 - bits)) & 0xff;
  return { data: data.map((v) => v & mask), width, height };
}

/** The same pixels as a palette image (at most 256 colours). */
function toIndexed({ data, width, height }: RawImage): IndexedImage {
  const entries = new Map<number, number>();
  const indices = new Uint8Array(width * height);
  for (let i = 0; i < indices.length; i++) {
    const key = ((data[4 * i]! << 24) | (data[4 * i + 1]! << 16) | (data[4 * i + 2]! << 8) | data[4 * i + 3]!) >>> 0;
    let index = entries.get(key);
    if (index === undefined) entries.set(key, (index = entries.size));
    if (index > 255) throw new Error('more than 256 colours');
    indices[i] = index;
  }
  const palette = new Uint8Array(4 * entries.size);
  for (const [key, index] of entries) palette.set([key >>> 24, (key >>> 16) & 255, (key >>> 8) & 255, key & 255], 4 * index);
  return { indices, palette, width, height };
}

describe('ssimulacra2', () => {
  it('scores as libjxl does: JPEG high and low quality, WebP, blur, banding, transparency, a small image', async () => {
    for (const [referenceName, candidateName, expected] of REFERENCE_SCORES) {
      const score = ssimulacra2(await load(referenceName), await load(candidateName));
      // The port repeats the reference's float arithmetic, so it agrees to the digits the tool
      // prints; the quality engine needs 0.5.
      expect(Math.abs(score - expected), `${candidateName}: ${score} vs ${expected}`).toBeLessThan(1e-6);
    }
  });

  it('scores the same against a reused reference', async () => {
    // What an opaque reference keeps depends on its number of scales: photo has 6, gradient 5
    // (an edge-maps-only channel below full size), small 4.
    for (const referenceName of ['photo', 'gradient', 'small', 'fish-alpha', 'basn6a08']) {
      const reference = await load(referenceName);
      const against = ssimulacra2Against(reference);
      for (const [, candidateName, expected] of REFERENCE_SCORES.filter(([name]) => name === referenceName)) {
        expect(Math.abs(against(await load(candidateName)) - expected)).toBeLessThan(1e-6);
      }
      expect(against(reference)).toBe(100);
    }
  });

  it('scores a palette image through its palette as it scores the same pixels in RGBA', async () => {
    for (const [referenceName, bits] of [
      ['gradient', 4],
      ['basn6a08', 2],
      ['fish-alpha', 2],
    ] as const) {
      const reference = await load(referenceName);
      const candidate = posterised(reference, bits);
      const against = ssimulacra2Against(reference);
      expect(against(toIndexed(candidate))).toBe(against(candidate));
    }
  });

  it('counts a candidate’s transparency even when the reference is opaque', async () => {
    const reference = await load('photo');
    const candidate = await load('photo');
    const holed = { ...candidate, data: Uint8Array.from(candidate.data) };
    for (let y = 40; y < 80; y++) for (let x = 60; x < 120; x++) holed.data[(y * holed.width + x) * 4 + 3] = 0;
    const score = ssimulacra2(reference, holed);
    expect(score).toBeLessThan(90);
    expect(ssimulacra2Against(reference)(holed)).toBe(score);
  });

  it('scores images under 8 px at full size alone (the reference tool refuses them)', () => {
    const grey = (v: number): RawImage => ({
      data: new Uint8Array(5 * 4 * 4).map((_, i) => (i % 4 === 3 ? 255 : v + (i % 7))),
      width: 5,
      height: 4,
    });
    expect(ssimulacra2(grey(100), grey(100))).toBe(100);
    const score = ssimulacra2(grey(100), grey(110));
    expect(Number.isFinite(score)).toBe(true);
    expect(score).toBeLessThan(100);
  });

  it('refuses images of different sizes', async () => {
    const photo = await load('photo');
    expect(() => ssimulacra2(photo, { data: new Uint8Array(16), width: 2, height: 2 })).toThrow(/cannot score/);
  });
});
