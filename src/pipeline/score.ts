import type { IndexedImage, RawImage } from '../codecs/types';

/**
 * The perceptual metric: mean SSIM on luma at full resolution, 11×11 windows at every
 * position, computed as ssim.js's Weber variant computes it (the same integer luma, the same
 * 1/1024 steps for variances, the same running mean), so its scores equal ssim.js's
 * (`test/quality.test.ts` checks this against ssim.js itself).
 *
 * Why not call ssim.js: it builds a dozen full-size plain arrays per comparison, about 70 MB
 * of garbage per megapixel, and a smart search compares eight times, which took a request
 * 300 MB past an isolate's 128 MB (`npm run bench:memory`). This keeps two luma planes and
 * five rows of window sums.
 */
export const METRIC = 'ssim';

const WINDOW = 11;
const K1 = 0.01;
const K2 = 0.03;
const C1 = K1 * 255 * (K1 * 255);
const C2 = K2 * 255 * (K2 * 255);

/** 0..1, 1 = identical. Transparent pixels are compared as they would show on white. */
export function perceptualScore(reference: RawImage, candidate: RawImage): number {
  return scorerAgainst(reference)(candidate);
}

/**
 * Scores candidates against one reference, whose luma is computed once. A palette image is
 * scored as is, through its palette's luma, without being expanded to RGBA.
 */
export function scorerAgainst(reference: RawImage): (candidate: RawImage | IndexedImage) => number {
  const { width, height } = reference;
  const referenceLuma = lumaOnWhite(reference);
  return (candidate) => {
    if (width !== candidate.width || height !== candidate.height) {
      throw new Error(`cannot score ${candidate.width}×${candidate.height} against ${width}×${height}`);
    }
    return weberSsim(referenceLuma, 'indices' in candidate ? lumaOfIndexed(candidate) : lumaOnWhite(candidate), width, height);
  };
}

function lumaOfIndexed({ indices, palette }: IndexedImage): Uint8Array {
  const entryLuma = lumaOnWhite({ data: palette, width: palette.length / 4, height: 1 });
  const luma = new Uint8Array(indices.length);
  for (let i = 0; i < indices.length; i++) luma[i] = entryLuma[indices[i]!]!;
  return luma;
}

/** ssim.js's `rgb2grayInteger` of the image flattened on white (rounded as a Uint8ClampedArray rounds). */
function lumaOnWhite({ data, width, height }: RawImage): Uint8Array {
  const luma = new Uint8Array(width * height);
  const flat = new Uint8ClampedArray(3);
  for (let i = 0, p = 0; i < luma.length; i++, p += 4) {
    const alpha = data[p + 3]!;
    if (alpha === 255) {
      luma[i] = (77 * data[p]! + 150 * data[p + 1]! + 29 * data[p + 2]! + 128) >> 8;
      continue;
    }
    const white = 255 * (255 - alpha);
    flat[0] = (data[p]! * alpha + white) / 255;
    flat[1] = (data[p + 1]! * alpha + white) / 255;
    flat[2] = (data[p + 2]! * alpha + white) / 255;
    luma[i] = (77 * flat[0]! + 150 * flat[1]! + 29 * flat[2]! + 128) >> 8;
  }
  return luma;
}

function weberSsim(a: Uint8Array, b: Uint8Array, width: number, height: number): number {
  const size = Math.min(WINDOW, width, height);
  const area = size * size;
  // Column sums over the band of `size` rows starting at the current row.
  const sumA = new Float64Array(width);
  const sumB = new Float64Array(width);
  const sumAA = new Float64Array(width);
  const sumBB = new Float64Array(width);
  const sumAB = new Float64Array(width);
  const addRow = (y: number, sign: number) => {
    for (let x = 0, i = y * width; x < width; x++, i++) {
      const va = a[i]!;
      const vb = b[i]!;
      sumA[x]! += sign * va;
      sumB[x]! += sign * vb;
      sumAA[x]! += sign * va * va;
      sumBB[x]! += sign * vb * vb;
      sumAB[x]! += sign * va * vb;
    }
  };
  for (let y = 0; y < size; y++) addRow(y, 1);

  let mean = 0;
  let count = 0;
  for (let y = 0; y + size <= height; y++) {
    if (y > 0) {
      addRow(y - 1, -1);
      addRow(y + size - 1, 1);
    }
    let wa = 0;
    let wb = 0;
    let waa = 0;
    let wbb = 0;
    let wab = 0;
    for (let x = 0; x < size; x++) {
      wa += sumA[x]!;
      wb += sumB[x]!;
      waa += sumAA[x]!;
      wbb += sumBB[x]!;
      wab += sumAB[x]!;
    }
    for (let x = 0; x + size <= width; x++) {
      if (x > 0) {
        const out = x - 1;
        const into = x + size - 1;
        wa += sumA[into]! - sumA[out]!;
        wb += sumB[into]! - sumB[out]!;
        waa += sumAA[into]! - sumAA[out]!;
        wbb += sumBB[into]! - sumBB[out]!;
        wab += sumAB[into]! - sumAB[out]!;
      }
      const meanA = wa / area;
      const meanB = wb / area;
      // ssim.js stores these in Int32Arrays scaled by 1024: the truncation is part of its scores.
      const varianceA = Math.trunc(1024 * (waa / area - meanA * meanA)) / 1024;
      const varianceB = Math.trunc(1024 * (wbb / area - meanB * meanB)) / 1024;
      const covariance = Math.trunc(1024 * (wab / area - meanA * meanB)) / 1024;
      const ssim = ((2 * meanA * meanB + C1) * (2 * covariance + C2)) / (meanA * meanA + meanB * meanB + C1) / (varianceA + varianceB + C2);
      mean = count === 0 ? ssim : mean + (ssim - mean) / (count + 1);
      count++;
    }
  }
  return mean;
}
