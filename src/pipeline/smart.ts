import type { Codecs, RawImage } from '../codecs/types';
import type { ImageFormat } from '../schemas/options';
import { exactPalette, mapToPalette, paletteBuilder } from './quantize';
import { colourShiftAgainst } from './colour-shift';
import { scorerAgainst } from './score';

export type Mode = 'size' | 'balanced' | 'quality';
type LossyFormat = Exclude<ImageFormat, 'png'>;

/**
 * The score (full-resolution SSIM on luma, on the sample below) each mode must reach.
 * Calibrated with `npm run bench:quality` on the corpus photos (README, "Smart quality"):
 * `balanced` sits at the score sharp's defaults reach. Palette PNGs have their own scale,
 * because SSIM punishes dithering noise far more than the eye does.
 */
export const SMART_TARGETS: Record<ImageFormat, Record<Mode, number>> = {
  jpeg: { quality: 0.997, balanced: 0.993, size: 0.985 },
  // SSIM grades libwebp's and libavif's smoothing harder than mozjpeg's ringing at equal looks.
  webp: { quality: 0.996, balanced: 0.991, size: 0.982 },
  avif: { quality: 0.996, balanced: 0.991, size: 0.982 },
  // Dithering costs SSIM more than it costs the eye: a 256-colour palette of a photo scores
  // 0.92–0.99 on the corpus (sharp's libimagequant 0.88–0.99), so palettes have a scale of their own.
  png: { quality: 0.97, balanced: 0.94, size: 0.9 },
};

/**
 * The most a palette may move colours at viewing scale (`colour-shift.ts`), besides meeting
 * the SSIM target: SSIM is on luma and misses a palette's hue shifts. Judged by eye on the
 * corpus at 1:1 (README, "Lossy PNG"): ΔE up to 4 at the 99th percentile showed no
 * difference worth the name, 5–6 a paler glow or thin coloured lines turned blue, 15 an
 * orange turned pink. (ΔE 2.3 is about the smallest difference seen side by side.)
 */
export const PALETTE_COLOUR_SHIFT_LIMITS: Record<Mode, number> = { quality: 2.5, balanced: 4, size: 8 };

/** The quality range searched per format: below it every image breaks up, above it bytes grow for nothing visible. */
export const QUALITY_RANGE: Record<LossyFormat, [number, number]> = { jpeg: [25, 95], webp: [25, 95], avif: [20, 90] };
/**
 * Palette sizes tried for PNG, most colours first, at any image size: Wu's tables are built
 * once a compression, so a size costs little beyond its mapping. A search over all of them at
 * 12 MP peaked at 86–109 MiB (`npm run bench:memory`), like three sizes did with image-q.
 */
export const PALETTE_STEPS = [256, 192, 128, 96, 64, 48, 32, 24, 16, 8];

export interface Encoded {
  bytes: Uint8Array;
  quality?: number;
  colors?: number;
  score?: number;
}

/**
 * What smart quality measures on: the image itself when small, else a mosaic of four
 * 512 px tiles cut at full resolution from the middle of each quadrant. Tiles keep the
 * compression artefacts at their real scale (a downscaled copy would hide them) while
 * costing a megapixel to encode, however large the image.
 */
export function scoringSample(image: RawImage, TILE = 512): RawImage {
  if (image.width * image.height <= 4.8 * TILE * TILE || image.width < 2 * TILE || image.height < 2 * TILE) return image;
  const size = TILE * 2;
  const out = new Uint8Array(size * size * 4);
  for (let ty = 0; ty < 2; ty++) {
    for (let tx = 0; tx < 2; tx++) {
      const x0 = Math.floor(((tx * 2 + 1) * image.width) / 4 - TILE / 2);
      const y0 = Math.floor(((ty * 2 + 1) * image.height) / 4 - TILE / 2);
      for (let row = 0; row < TILE; row++) {
        const from = ((y0 + row) * image.width + x0) * 4;
        out.set(image.data.subarray(from, from + TILE * 4), ((ty * TILE + row) * size + tx * TILE) * 4);
      }
    }
  }
  return { data: out, width: size, height: size };
}

/** The lowest quality whose output scores at least the mode's target, found by bisection on the sample. */
export async function smartLossy(codecs: Codecs, format: LossyFormat, image: RawImage, target: number): Promise<Encoded> {
  const sample = scoringSample(image);
  const score = scorerAgainst(sample);
  const trial = async (quality: number) => {
    const bytes = await codecs.encode(format, sample, { quality, lossless: false });
    return { bytes, quality, score: await codecs.decodeBriefly(format, bytes, score) };
  };
  let [low, high] = QUALITY_RANGE[format];
  let best: Encoded | undefined;
  while (low <= high) {
    const quality = Math.floor((low + high) / 2);
    const attempt = await trial(quality);
    if (attempt.score >= target) {
      best = attempt;
      high = quality - 1;
    } else {
      low = quality + 1;
    }
  }
  // Nothing in range met the target: the top of the range is as far as quality is worth going.
  best ??= await trial(QUALITY_RANGE[format][1]);
  if (sample === image) return best;
  return { bytes: await codecs.encode(format, image, { quality: best.quality!, lossless: false }), quality: best.quality, score: best.score };
}

/**
 * PNG: an image that already fits a palette is kept exact; otherwise the fewest colours
 * whose dithered result still meets the target, in SSIM and in colour shift. When even 256 colours miss it, `quality`
 * mode stays lossless and the other modes keep 256 colours: a palette is what lossy PNG is.
 */
export async function smartPng(codecs: Codecs, image: RawImage, mode: Mode): Promise<Encoded> {
  const target = SMART_TARGETS.png[mode];
  const exact = exactPalette(image);
  if (exact) return { bytes: await codecs.encodeIndexedPng(mapToPalette(image, exact, { dither: false })), score: 1 };
  // The palette is the whole image's, as the final result will use.
  const sample = scoringSample(image);
  const paletteFor = paletteBuilder(image);
  const score = scorerAgainst(sample);
  const colourShift = colourShiftAgainst(sample);
  const judged = new Map<number, { score: number; meetsTarget: boolean }>();
  const judge = (colors: number) => {
    if (!judged.has(colors)) {
      const indexed = mapToPalette(sample, paletteFor(colors));
      const reached = score(indexed);
      judged.set(colors, { score: reached, meetsTarget: reached >= target && colourShift(indexed) <= PALETTE_COLOUR_SHIFT_LIMITS[mode] });
    }
    return judged.get(colors)!;
  };
  const encodeWith = async (colors: number): Promise<Encoded> => ({
    bytes: await codecs.encodeIndexedPng(mapToPalette(image, paletteFor(colors))),
    colors,
    score: judge(colors).score,
  });
  if (!judge(PALETTE_STEPS[0]!).meetsTarget) {
    if (mode === 'quality') return { bytes: await codecs.encode('png', image, { quality: 100, lossless: true }), score: 1 };
    return encodeWith(PALETTE_STEPS[0]!);
  }
  let low = 0; // index known to meet the target
  let high = PALETTE_STEPS.length - 1;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (judge(PALETTE_STEPS[middle]!).meetsTarget) low = middle;
    else high = middle - 1;
  }
  return encodeWith(PALETTE_STEPS[low]!);
}

/** `indices`: a buffer of one byte a pixel to map into, so repeated tries leave no garbage behind. */
export async function palettePng(codecs: Codecs, image: RawImage, colors: number, paletteFor = paletteBuilder(image), indices?: Uint8Array): Promise<Encoded> {
  const exact = exactPalette(image, colors);
  const indexed = exact ? mapToPalette(image, exact, { dither: false, indices }) : mapToPalette(image, paletteFor(colors), { indices });
  return { bytes: await codecs.encodeIndexedPng(indexed), colors };
}

/** For an explicit PNG quality below 100: the palette shrinks with it (50 → 128 colours). */
export const colorsForQuality = (quality: number) => Math.max(2, Math.min(256, Math.round((256 * quality) / 100)));
