import type { RawImage } from '../codecs/types';

/** Flattens transparency onto white, in place (the pixels are ours by now). */
export function compositeOnWhite(image: RawImage): RawImage {
  const { data } = image;
  for (let i = 0; i < data.length; i += 4) {
    const alpha = data[i + 3]!;
    if (alpha === 255) continue;
    const white = 255 * (255 - alpha);
    data[i] = Math.round((data[i]! * alpha + white) / 255);
    data[i + 1] = Math.round((data[i + 1]! * alpha + white) / 255);
    data[i + 2] = Math.round((data[i + 2]! * alpha + white) / 255);
    data[i + 3] = 255;
  }
  return image;
}

/**
 * What libaom sees as a plane's value: lossy AVIF's luma (libavif's BT.601, full range), lossless
 * AVIF's first plane (the identity matrix puts green there), the alpha plane's own encoder's alpha.
 */
export type AomPlane = 'luma' | 'green' | 'alpha';

const planeValue: Record<AomPlane, (data: RawImage['data'], i: number) => number> = {
  luma: (data, i) => ((299 * data[i]! + 587 * data[i + 1]! + 114 * data[i + 2]! + 500) / 1000) | 0,
  green: (data, i) => data[i + 1]!,
  alpha: (data, i) => data[i + 3]!,
};

/**
 * Whether libaom will code this plane with IntraBC, its screen-content block copy, whose hash
 * tables made AVIF's memory jump: flat-colour artwork and screenshots read about 200 MiB at
 * 1.2 MP where photos read 86–103 (docs/measurements.md, "Memory"). A mirror of libaom's own test
 * (`av1_set_screen_content_options`, libaom 3.7 as in @jsquash/avif): over the plane padded to
 * a multiple of 8 by repeating its edges, as libaom holds it, the 16×16 blocks with 2–4
 * distinct values must cover over a tenth of it, and those of them whose per-pixel variance
 * rounds above zero over a twelfth. Our luma can round differently from libavif's conversion,
 * so both thresholds here are four fifths of libaom's: a borderline image counts as screen
 * content, the heavier side.
 */
export function looksLikeScreenContent(image: RawImage, plane: AomPlane = 'luma'): boolean {
  const { fewValues, fewValuesVarying, area } = screenContentBlocks(image, plane);
  // libaom: counts_1 · 256 · 10 > area and counts_2 · 256 · 12 > area; here at 4/5 of each.
  return fewValues * 256 * 12.5 > area && fewValuesVarying * 256 * 15 > area;
}

/**
 * The counts libaom's screen-content test weighs, over the plane padded as libaom holds it
 * (`area` pixels): 16×16 blocks with 2–4 distinct values, and those of them whose per-pixel
 * variance rounds above zero.
 */
export function screenContentBlocks(image: RawImage, plane: AomPlane = 'luma'): { fewValues: number; fewValuesVarying: number; area: number } {
  const { data, width, height } = image;
  const value = planeValue[plane];
  const [paddedWidth, paddedHeight] = [(width + 7) & ~7, (height + 7) & ~7];
  const seen = new Uint8Array(256);
  const values: number[] = [];
  let fewValues = 0;
  let fewValuesVarying = 0;
  for (let top = 0; top + 16 <= paddedHeight; top += 16) {
    for (let left = 0; left + 16 <= paddedWidth; left += 16) {
      let sum = 0;
      let sumOfSquares = 0;
      for (let y = top; y < top + 16; y++) {
        const row = Math.min(y, height - 1) * width;
        for (let x = left; x < left + 16; x++) {
          const v = value(data, (row + Math.min(x, width - 1)) * 4);
          if (!seen[v]) {
            seen[v] = 1;
            values.push(v);
          }
          sum += v;
          sumOfSquares += v * v;
        }
      }
      const distinct = values.length;
      for (const v of values) seen[v] = 0;
      values.length = 0;
      if (distinct < 2 || distinct > 4) continue;
      fewValues++;
      // libaom: variance = sse − ⌊sum² / 256⌋, per pixel ROUND_POWER_OF_TWO(variance, 8) > 0.
      if (sumOfSquares - Math.floor((sum * sum) / 256) >= 128) fewValuesVarying++;
    }
  }
  return { fewValues, fewValuesVarying, area: paddedWidth * paddedHeight };
}
