import type { RawImage } from '../codecs/types';

export function hasAlpha(image: RawImage): boolean {
  const { data } = image;
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 255) return true;
  return false;
}

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
 * Whether libaom will code this image with IntraBC, its screen-content block copy, whose hash
 * tables made AVIF's memory jump: flat-colour artwork and screenshots read about 200 MiB at
 * 1.2 MP where photos read 86–103 (README, "Memory"). A mirror of libaom's own test
 * (`av1_set_screen_content_options`, libaom 3.7 as in @jsquash/avif): among the 16×16 luma
 * blocks, those with 2–4 distinct values must cover over a tenth of the image, and those of
 * them whose per-pixel variance rounds above zero over a twelfth. Our luma (BT.601 from RGB)
 * can round differently from libavif's conversion, so both thresholds here are four fifths of
 * libaom's: a borderline image counts as screen content, the heavier side.
 */
export function looksLikeScreenContent(image: RawImage): boolean {
  const { data, width, height } = image;
  const seen = new Uint8Array(256);
  const values: number[] = [];
  let fewColours = 0;
  let fewColoursVarying = 0;
  for (let top = 0; top + 16 <= height; top += 16) {
    for (let left = 0; left + 16 <= width; left += 16) {
      let sum = 0;
      let sumOfSquares = 0;
      for (let y = top; y < top + 16; y++) {
        for (let i = (y * width + left) * 4, end = i + 64; i < end; i += 4) {
          const luma = (299 * data[i]! + 587 * data[i + 1]! + 114 * data[i + 2]! + 500) / 1000 | 0;
          if (!seen[luma]) {
            seen[luma] = 1;
            values.push(luma);
          }
          sum += luma;
          sumOfSquares += luma * luma;
        }
      }
      const distinct = values.length;
      for (const value of values) seen[value] = 0;
      values.length = 0;
      if (distinct < 2 || distinct > 4) continue;
      fewColours++;
      // libaom's per-pixel variance: the block's sum of squared deviations over 256, rounded.
      if (Math.round((sumOfSquares - (sum * sum) / 256) / 256) > 0) fewColoursVarying++;
    }
  }
  const pixels = width * height;
  // libaom: counts_1 · 256 · 10 > pixels and counts_2 · 256 · 12 > pixels; here at 4/5 of each.
  return fewColours * 256 * 12.5 > pixels && fewColoursVarying * 256 * 15 > pixels;
}
