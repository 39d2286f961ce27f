import type { IndexedImage, RawImage } from '../codecs/types';

/**
 * How far colours move at viewing scale: the CIE76 colour difference (ΔE, in CIELAB) between
 * the means of 8 × 8-pixel blocks, taken in linear light as the eye averages, and reported at
 * the 99th percentile of blocks, so a shift confined to one object or a few thin lines counts.
 *
 * Why, beside SSIMULACRA 2: a palette's failure is a colour one. With too few colours there
 * is no orange left to dither an orange from, and the orange turns pink; over a flat area,
 * where there is no structure to compare, SSIMULACRA 2 rates such a shift as high quality.
 * Dithering noise averages out within a block and costs little here.
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
      differences[b] = Math.hypot(
        referenceLab[b * 3]! - candidateLab[b * 3]!,
        referenceLab[b * 3 + 1]! - candidateLab[b * 3 + 1]!,
        referenceLab[b * 3 + 2]! - candidateLab[b * 3 + 2]!,
      );
    }
    if (differences.length === 0) return 0;
    differences.sort();
    return differences[Math.min(differences.length - 1, Math.floor(PERCENTILE * differences.length))]!;
  };
}

/**
 * Banding: how far smooth areas move, as the difference in luma between the means of 8 × 8
 * blocks, in 8-bit levels, over the blocks that are smooth in the reference (luma standard
 * deviation at most 2 levels), at the 99th percentile. SSIMULACRA 2 forgives the steps that
 * coarse quantisation leaves in a slow gradient, and the eye does not (docs/quality.md).
 */
export const BANDING_METRIC = 'luma difference of smooth 8×8 block means, 99th percentile, 8-bit levels';
const SMOOTH_LUMA_DEVIATION = 2;

export function bandingAgainst(reference: RawImage): (candidate: RawImage | IndexedImage) => number {
  const { width, height, data } = reference;
  const across = Math.floor(width / BLOCK);
  const down = Math.floor(height / BLOCK);
  const smooth: number[] = [];
  for (let block = 0; block < across * down; block++) {
    let sum = 0;
    let squares = 0;
    forEachPixel(width, block, across, (pixel) => {
      const luma = lumaOnWhite(data, pixel * 4);
      sum += luma;
      squares += luma * luma;
    });
    const n = BLOCK * BLOCK;
    if (squares / n - (sum / n) ** 2 <= SMOOTH_LUMA_DEVIATION ** 2) smooth.push(block);
  }
  const referenceMeans = blockMeans(reference, smooth, width, across);
  return (candidate) => {
    if (smooth.length === 0) return 0;
    const candidateMeans = blockMeans(candidate, smooth, width, across);
    const differences = new Float64Array(smooth.length);
    for (let i = 0; i < smooth.length; i++) differences[i] = Math.abs(referenceMeans[i]! - candidateMeans[i]!);
    differences.sort();
    return differences[Math.min(differences.length - 1, Math.floor(PERCENTILE * differences.length))]!;
  };
}

/** BT.601 luma of the RGBA pixel at `p`, as it shows on white. */
function lumaOnWhite(rgba: Uint8Array | Uint8ClampedArray, p: number): number {
  const alpha = rgba[p + 3]! / 255;
  return (0.299 * rgba[p]! + 0.587 * rgba[p + 1]! + 0.114 * rgba[p + 2]!) * alpha + 255 * (1 - alpha);
}

function forEachPixel(width: number, block: number, across: number, visit: (pixel: number) => void) {
  const x0 = (block % across) * BLOCK;
  const y0 = Math.floor(block / across) * BLOCK;
  for (let y = y0; y < y0 + BLOCK; y++) for (let x = x0, pixel = y * width + x; x < x0 + BLOCK; x++, pixel++) visit(pixel);
}

/** Mean luma of the listed blocks, transparent pixels seen on white. */
function blockMeans(image: RawImage | IndexedImage, blocks: number[], width: number, across: number): Float64Array {
  const [rgba, offsetOf] =
    'indices' in image ? [image.palette, (pixel: number) => image.indices[pixel]! * 4] : [image.data, (pixel: number) => pixel * 4];
  const means = new Float64Array(blocks.length);
  blocks.forEach((block, i) => {
    forEachPixel(width, block, across, (pixel) => {
      means[i]! += lumaOnWhite(rgba, offsetOf(pixel)) / (BLOCK * BLOCK);
    });
  });
  return means;
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
