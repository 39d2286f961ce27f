import type { IndexedImage, RawImage } from '../codecs/types';

/**
 * How far colours move at viewing scale: the CIE76 colour difference (ΔE, in CIELAB) between
 * the means of 8 × 8-pixel blocks, taken in linear light as the eye averages, and reported at
 * the 99th percentile of blocks, so a shift confined to one object or a few thin lines counts.
 *
 * Why, beside SSIM: SSIM is computed on luma, and a palette's failure is a colour one. With
 * too few colours there is no orange left to dither an orange from, and the orange turns pink
 * while the luma barely moves. On the-mouse.jpg (at 1 MP) with 24 colours SSIM read 0.95,
 * enough for `balanced`, while this read 15.4 and the shift was plain to see at 1:1; with 128
 * colours 5.7 (a cyan glow a little paler), with 256 4.0 (no difference seen). Dithering
 * noise, which SSIM punishes hard, averages out within a block and costs little here.
 */
export const COLOUR_SHIFT_METRIC = 'ΔE76 of 8×8 block means, 99th percentile';

const BLOCK = 8;
const PERCENTILE = 0.99;

/** Measures candidates against one reference, whose block colours are computed once. Transparent pixels are seen on white. */
export function colourShiftAgainst(reference: RawImage): (candidate: RawImage | IndexedImage) => number {
  const referenceLab = blockLab(reference.width, reference.height, reference.data, (pixel) => pixel * 4);
  return (candidate) => {
    const candidateLab =
      'indices' in candidate
        ? blockLab(candidate.width, candidate.height, candidate.palette, (pixel) => candidate.indices[pixel]! * 4)
        : blockLab(candidate.width, candidate.height, candidate.data, (pixel) => pixel * 4);
    const differences = new Float64Array(referenceLab.length / 3);
    for (let b = 0; b < differences.length; b++) {
      differences[b] = Math.hypot(referenceLab[b * 3]! - candidateLab[b * 3]!, referenceLab[b * 3 + 1]! - candidateLab[b * 3 + 1]!, referenceLab[b * 3 + 2]! - candidateLab[b * 3 + 2]!);
    }
    if (differences.length === 0) return 0;
    differences.sort();
    return differences[Math.min(differences.length - 1, Math.floor(PERCENTILE * differences.length))]!;
  };
}

const LINEAR = Float64Array.from({ length: 256 }, (_, v) => {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
});

/**
 * CIELAB of each whole block's mean, in linear light, transparent pixels flattened on white.
 * `offsetOf(pixel)` says where the pixel's RGBA is in `rgba` (its own place, or its palette
 * entry's). Partial blocks at the right and bottom are left out.
 */
function blockLab(width: number, height: number, rgba: Uint8Array | Uint8ClampedArray, offsetOf: (pixel: number) => number): Float64Array {
  const across = Math.floor(width / BLOCK);
  const down = Math.floor(height / BLOCK);
  const lab = new Float64Array(across * down * 3);
  for (let by = 0; by < down; by++) {
    for (let bx = 0; bx < across; bx++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let y = by * BLOCK; y < (by + 1) * BLOCK; y++) {
        for (let x = bx * BLOCK, pixel = y * width + x; x < (bx + 1) * BLOCK; x++, pixel++) {
          const p = offsetOf(pixel);
          const alpha = rgba[p + 3]! / 255;
          r += LINEAR[rgba[p]!]! * alpha + 1 - alpha;
          g += LINEAR[rgba[p + 1]!]! * alpha + 1 - alpha;
          b += LINEAR[rgba[p + 2]!]! * alpha + 1 - alpha;
        }
      }
      const n = BLOCK * BLOCK;
      lab.set(labOfLinear(r / n, g / n, b / n), (by * across + bx) * 3);
    }
  }
  return lab;
}

/** sRGB primaries, D65 white. */
function labOfLinear(r: number, g: number, b: number): [number, number, number] {
  const x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
  const y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  const z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
  const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : ((24389 / 27) * t + 16) / 116);
  return [116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))];
}
