import type { Codecs, RawImage } from '../codecs/types';
import type { ImageFormat, Mode } from '../schemas/options';
import { IMAGE_FORMATS } from './image-formats';
import { mapToPalette } from './palette-mapping';
import { exactPalette, paletteBuilder } from './quantize';
import { bandingAgainst, colourShiftAgainst } from './colour-shift';
import { lowestMeeting } from './search';
import { ssimulacra2Against } from './ssimulacra2';

export type { Mode };
export type LossyFormat = Exclude<ImageFormat, 'png'>;

/** The perceptual metric smart quality is judged by (`ssimulacra2/`). */
export const METRIC = 'ssimulacra2';

/**
 * The SSIMULACRA 2 score each mode must reach, one scale for every format, so a mode looks
 * the same whatever the format and `format=auto` compares formats at an equal score.
 * Calibrated on photographs and artwork with `npm run quality:curves` (docs/quality.md).
 */
export const SMART_TARGETS: Record<Mode, number> = { quality: 85, balanced: 75, size: 65 };

/**
 * The most a palette may move colours at viewing scale (`colour-shift.ts`), besides meeting
 * the score target. Judged by eye on artwork at 1:1 (docs/quality.md).
 */
export const PALETTE_COLOUR_SHIFT_LIMITS: Record<Mode, number> = { quality: 2.5, balanced: 4, size: 8 };

/**
 * The most banding (`colour-shift.ts`) any mode allows in smooth areas, in 8-bit levels:
 * smooth gradients must not band, whatever the mode or format (docs/quality.md).
 */
export const BANDING_LIMIT = 1;

/**
 * Palette sizes tried for PNG, most colours first, at any image size: Wu's tables are built
 * once a compression, so a size costs little beyond its mapping.
 */
export const PALETTE_STEPS = [256, 192, 128, 96, 64, 48, 32, 24, 16, 8];

export interface Encoded {
  bytes: Uint8Array;
  quality?: number;
  colors?: number;
  score?: number;
  /** Smart quality: whether the score reached the mode's target (when not, the best the encoder can do is returned). */
  targetMet?: boolean;
}

/**
 * What smart quality measures on: the image itself when small, else a mosaic of four
 * 384 px tiles cut at full resolution from the middle of each quadrant. Tiles keep the
 * compression artefacts at their real scale (a downscaled copy would hide them) while
 * costing 0.6 MP to encode and score, however large the image: SSIMULACRA 2 of a larger
 * sample took a 12 MP WebP past an isolate's memory (docs/quality.md).
 */
export function scoringSample(image: RawImage): RawImage {
  if (samplesWholeImage(image.width, image.height)) return image;
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

const TILE = 384;

/** Whether the image is its own scoring sample: small, or too narrow for the tiles. */
const samplesWholeImage = (width: number, height: number) => width * height <= 4.8 * TILE * TILE || width < 2 * TILE || height < 2 * TILE;

/** The pixels a smart search scores for an image of this size. */
export const scoringSamplePixels = (width: number, height: number) => (samplesWholeImage(width, height) ? width * height : 4 * TILE * TILE);

/** The most trials a smart search makes; most take two to four (docs/quality.md, "The search"). */
export const MOST_SMART_TRIALS = 6;

export interface Trial extends Encoded {
  quality: number;
  score: number;
  banding: number;
}

/**
 * The lowest quality whose output scores at least the mode's target on the sample without
 * banding, assuming both improve with quality; when even the top of the range misses, the
 * top, marked as a miss.
 */
export async function smartLossy(
  codecs: Codecs,
  format: LossyFormat,
  image: RawImage,
  mode: Mode,
  target = SMART_TARGETS[mode],
): Promise<Encoded> {
  const sample = scoringSample(image);
  const score = ssimulacra2Against(sample);
  const banding = bandingAgainst(sample);
  const trial = async (quality: number): Promise<Trial> => {
    const bytes = await codecs.encode(format, sample, { quality, lossless: false });
    const judged = await codecs.decodeBriefly(format, bytes, (decoded) => ({ score: score(decoded), banding: banding(decoded) }));
    return { bytes, quality, ...judged, targetMet: judged.score >= target && judged.banding <= BANDING_LIMIT };
  };
  const [floor, top] = IMAGE_FORMATS[format].smartSearch!.qualities;
  const { banding: _, ...best } = await lowestMeeting(
    floor,
    top,
    trial,
    (attempt) => attempt.targetMet!,
    searchGuide(format, mode, target),
  );
  if (sample === image) return best;
  return { ...best, bytes: await codecs.encode(format, image, { quality: best.quality, lossless: false }) };
}

/**
 * Where a search for `format` in `mode` looks next for the lowest quality that meets `target`.
 * Each requirement, the score and banding within its limit, is extrapolated along the line
 * through the last two trials (after the first, along a typical slope), and the next trial is the
 * quality that satisfies both. The search stops at a trial that meets the target when the score
 * is within half a point of it, or when the estimate puts the answer no more than the format's
 * `stepsWorthATrial` below it.
 */
export function searchGuide(format: LossyFormat, mode: Mode, target: number) {
  const TYPICAL_POINTS_PER_QUALITY = 0.4;
  const TYPICAL_BANDING_PER_QUALITY = -0.02;
  const { qualities, start, stepsWorthATrial } = IMAGE_FORMATS[format].smartSearch!;
  const [floor, top] = qualities;
  let previous: Trial | undefined;
  const estimate = (latest: Trial) => {
    const run = previous ? latest.quality - previous.quality : 0;
    const slope = (now: number, before: number, typical: number) => (run ? (now - before) / run : typical);
    const scoreSlope = slope(latest.score, previous?.score ?? 0, TYPICAL_POINTS_PER_QUALITY);
    const bandingSlope = slope(latest.banding, previous?.banding ?? 0, TYPICAL_BANDING_PER_QUALITY);
    const forScore = latest.quality + (target - latest.score) / Math.max(scoreSlope, 0.1);
    const forBanding =
      latest.banding > 0 ? latest.quality + (latest.banding - BANDING_LIMIT) / Math.max(-bandingSlope, 0.005) : Number.NEGATIVE_INFINITY;
    return Math.min(top, Math.max(floor, Math.ceil(Math.max(forScore, forBanding))));
  };
  return {
    first: start[mode],
    attempts: MOST_SMART_TRIALS,
    enough: (attempt: Trial) => attempt.score - target < 0.5 || estimate(attempt) >= attempt.quality - stepsWorthATrial,
    next: (attempt: Trial) => {
      const suggested = estimate(attempt);
      previous = attempt;
      return suggested;
    },
  };
}

/**
 * PNG: an image that already fits a palette is kept exact; otherwise the fewest colours
 * whose dithered result still meets the target, in score, colour shift and banding. When even
 * 256 colours miss it, the image stays lossless: that is PNG's highest quality.
 */
export async function smartPng(codecs: Codecs, image: RawImage, mode: Mode): Promise<Encoded> {
  const exact = exactPalette(image);
  if (exact) return { bytes: await codecs.encodeIndexedPng(mapToPalette(image, exact, { dither: false })), score: 100, targetMet: true };
  const lossless = async (): Promise<Encoded> => ({
    bytes: await codecs.encode('png', image, { quality: 100, lossless: true }),
    score: 100,
    targetMet: true,
  });
  // The palette is the whole image's, as the final result will use.
  const sample = scoringSample(image);
  const paletteFor = paletteBuilder(image);
  const score = ssimulacra2Against(sample);
  const colourShift = colourShiftAgainst(sample);
  const banding = bandingAgainst(sample);
  const judge = (colors: number) => {
    const indexed = mapToPalette(sample, paletteFor(colors));
    const reached = score(indexed);
    const targetMet =
      reached >= SMART_TARGETS[mode] && colourShift(indexed) <= PALETTE_COLOUR_SHIFT_LIMITS[mode] && banding(indexed) <= BANDING_LIMIT;
    return { colors, score: reached, targetMet };
  };
  // Settings count up from the fewest colours, so the search finds the fewest that meet the target.
  const fewestFirst = [...PALETTE_STEPS].reverse();
  const best = await lowestMeeting(
    0,
    fewestFirst.length - 1,
    async (i) => judge(fewestFirst[i]!),
    (attempt) => attempt.targetMet,
  );
  if (!best.targetMet) return lossless();
  return { bytes: await codecs.encodeIndexedPng(mapToPalette(image, paletteFor(best.colors))), ...best };
}

/** `indices`: a buffer of one byte a pixel to map into, so repeated tries leave no garbage behind. */
export async function palettePng(
  codecs: Codecs,
  image: RawImage,
  colors: number,
  paletteFor = paletteBuilder(image),
  indices?: Uint8Array,
): Promise<Encoded> {
  const exact = exactPalette(image, colors);
  const indexed = exact ? mapToPalette(image, exact, { dither: false, indices }) : mapToPalette(image, paletteFor(colors), { indices });
  return { bytes: await codecs.encodeIndexedPng(indexed), colors };
}

/** For an explicit PNG quality below 100: the palette shrinks with it (50 → 128 colours). */
export const colorsForQuality = (quality: number) => Math.max(2, Math.min(256, Math.round((256 * quality) / 100)));
