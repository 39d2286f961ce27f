// Palette building: an image's exact palette, or Wu's quantiser on a sample, completed from
// the image's own colours and refined by Lloyd rounds.

import type { RawImage } from '../codecs/types';
import { type Palette, WEIGHT_B, WEIGHT_G, WEIGHT_R, nearestEntryFinder, pixelsOf } from './palette-mapping';
import { type WuOptions, wuPalettes } from './wu';

/**
 * Palette building costs grow with pixels; a sample this size gives nearly the same palette
 * for a fraction of the time. A quarter of this chose palettes that a thin line or a soft
 * shadow could miss entirely (docs/quality.md, "Lossy PNG").
 */
const PALETTE_SAMPLE_PIXELS = 256 * 1024;

/** The image's own colours as a palette when it has at most `limit` of them (then a palette loses nothing), else undefined. */
export function exactPalette(image: RawImage, limit = 256): Palette | undefined {
  const seen = new Set<number>();
  for (const pixel of pixelsOf(image)) {
    seen.add(pixel);
    if (seen.size > limit) return undefined;
  }
  return new Uint8Array(Uint32Array.from(seen).buffer);
}

/**
 * Palettes of the image at any size: at most `colors` colours (alpha included). Wu's quantiser
 * chooses most of them from one downsampled copy, in one run shared by every size asked for;
 * the rest are the image's worst-served colours (`completePalette`); Lloyd rounds then refine
 * them all.
 */
export function paletteBuilder(image: RawImage): (colors: number) => Palette {
  const sample = downsample(image, PALETTE_SAMPLE_PIXELS);
  const transparent = hasTransparentPixel(sample);
  const translucent = hasTranslucentPixel(sample);
  const wu = wuPalettes(sample, MAX_COLORS - (transparent ? 1 : 0), translucent ? WU_RESOLUTION_WITH_ALPHA : WU_RESOLUTION_OPAQUE);
  const built = new Map<number, Palette>();
  let counted: CountedColours | undefined;
  return (colors) => {
    if (built.has(colors)) return built.get(colors)!;
    const opaqueColors = transparent ? colors - 1 : colors;
    const chosen = completePalette(
      wu(opaqueColors - Math.floor(opaqueColors * COMPLETED_SHARE)),
      opaqueColors,
      () => (counted ??= countColours(image, COMPLETION_SAMPLE_PIXELS) ?? countColours(sample, COMPLETION_FALLBACK_PIXELS)!),
    );
    // Fully transparent pixels get an entry of their own (left as zeros), so dithering never hazes them.
    const palette = new Uint8Array(chosen.length + (transparent ? 4 : 0));
    palette.set(chosen);
    refinePalette(sample, palette, REFINEMENT_ROUNDS);
    built.set(colors, palette);
    return palette;
  };
}

const MAX_COLORS = 256;

/**
 * Histogram resolution of Wu's quantiser: coarser tables leave a smooth gradient in a few
 * dozen cells and its palette short; alpha, when present, gets fewer bits so the tables stay
 * a few MB (docs/quality.md, "Lossy PNG").
 */
const WU_RESOLUTION_OPAQUE: WuOptions = { colourBits: 6, alphaBits: 0 };
const WU_RESOLUTION_WITH_ALPHA: WuOptions = { colourBits: 5, alphaBits: 3 };

/**
 * Wu cannot split below a histogram cell (4 levels a channel), so a smooth gradient whose
 * colours differ by a level or two lies in a few cells and gets a few entries, and artwork
 * whose colours crowd into a few cells gets a short palette: city.png at 3.3 MP has 1,789
 * colours, 99.9% of its pixels in the 256 commonest, but 67 cells. So Wu chooses only 7/8 of
 * the entries, and the rest (and any Wu could not find) are added one at a time, each the
 * colour with the largest squared error still unaccounted for (its count times its distance
 * from the nearest entry), the way k-means++ seeds; the Lloyd rounds then settle them. The
 * colours are counted on a denser sample than Wu's: thin lines and small text, a few pixels
 * wide, are what a coarse sample misses (docs/quality.md, "Lossy PNG").
 */
function completePalette(palette: Palette, colors: number, countedColours: () => CountedColours): Palette {
  if (palette.length / 4 >= colors) return palette;
  const { colours, counts } = countedColours();
  const nearest = new Float64Array(counts.length).fill(Infinity);
  const complete = new Uint8Array(Math.min(colors, palette.length / 4 + counts.length) * 4);
  complete.set(palette);
  const lowerNearest = (entry: number) => {
    for (let c = 0; c < counts.length; c++) {
      const distance = weightedDistance(colours, c * 4, complete, entry * 4);
      if (distance < nearest[c]!) nearest[c] = distance;
    }
  };
  for (let entry = 0; entry < palette.length / 4; entry++) lowerNearest(entry);
  for (let entry = palette.length / 4; entry < complete.length / 4; entry++) {
    let worst = 0;
    for (let c = 1; c < counts.length; c++) if (counts[c]! * nearest[c]! > counts[worst]! * nearest[worst]!) worst = c;
    if (!(nearest[worst]! > 0)) return complete.slice(0, entry * 4);
    complete.set(colours.subarray(worst * 4, worst * 4 + 4), entry * 4);
    lowerNearest(entry);
  }
  return complete;
}

const COMPLETED_SHARE = 1 / 8;
const COMPLETION_SAMPLE_PIXELS = 1 << 20;
/** Too many colours on the denser sample: Wu's, thinned to this many pixels, is counted instead (at most `COMPLETION_MAX_COLOURS` colours). */
const COMPLETION_FALLBACK_PIXELS = 1 << 16;
/** Each added entry is compared with every counted colour: beyond this many, Wu's sample is counted instead. */
const COMPLETION_MAX_COLOURS = 1 << 16;

/** Distinct colours (RGBA, 4 bytes each) and how often each occurs, fully transparent pixels left out. */
interface CountedColours {
  colours: Uint8Array;
  counts: Float64Array;
}

/**
 * Counted on every `step`-th pixel each way, the step chosen for at most `maxPixels` of them;
 * undefined when there are more than `COMPLETION_MAX_COLOURS`.
 */
function countColours(image: RawImage, maxPixels: number): CountedColours | undefined {
  const step = samplingStep(image, maxPixels);
  const pixels = pixelsOf(image);
  const counts = new Map<number, number>();
  for (let y = 0; y < image.height; y += step) {
    for (let x = 0, i = y * image.width; x < image.width; x += step, i += step) {
      const pixel = pixels[i]!;
      if (pixel >>> 24 !== 0) counts.set(pixel, (counts.get(pixel) ?? 0) + 1);
    }
    if (counts.size > COMPLETION_MAX_COLOURS) return undefined;
  }
  return { colours: new Uint8Array(Uint32Array.from(counts.keys()).buffer), counts: Float64Array.from(counts.values()) };
}

const weightedDistance = (a: Uint8Array, i: number, b: Uint8Array, j: number) => {
  const dr = a[i]! - b[j]!;
  const dg = a[i + 1]! - b[j + 1]!;
  const db = a[i + 2]! - b[j + 2]!;
  const da = a[i + 3]! - b[j + 3]!;
  return WEIGHT_R * dr * dr + WEIGHT_G * dg * dg + WEIGHT_B * db * db + da * da;
};

/**
 * Lloyd (k-means) rounds after Wu: Wu's entries sit near, not on, the colours they stand for
 * (its histogram is coarser than the pixels); each round moves every entry to the mean of the
 * sample pixels nearest it, as libimagequant refines its palette (docs/quality.md).
 */
const REFINEMENT_ROUNDS = 3;

function refinePalette(sample: RawImage, palette: Palette, rounds: number): void {
  const entries = palette.length / 4;
  const { data } = sample;
  const sums = new Float64Array(entries * 4);
  const counts = new Float64Array(entries);
  for (let round = 0; round < rounds; round++) {
    // A small cache: the sample has at most 64 K colours, and each round's cache is garbage after it.
    const nearest = nearestEntryFinder(palette, 14);
    sums.fill(0);
    counts.fill(0);
    for (let p = 0; p < data.length; p += 4) {
      if (data[p + 3] === 0) continue;
      const e = nearest(data[p]!, data[p + 1]!, data[p + 2]!, data[p + 3]!);
      for (let c = 0; c < 4; c++) sums[e * 4 + c]! += data[p + c]!;
      counts[e]!++;
    }
    for (let e = 0; e < entries; e++) {
      // The transparent entry stays exactly transparent, and an entry nothing maps to stays put.
      if (!counts[e] || palette[e * 4 + 3] === 0) continue;
      for (let c = 0; c < 4; c++) palette[e * 4 + c] = Math.round(sums[e * 4 + c]! / counts[e]!);
    }
  }
}

function hasTransparentPixel(image: RawImage): boolean {
  for (let i = 3; i < image.data.length; i += 4) if (image.data[i] === 0) return true;
  return false;
}

function hasTranslucentPixel(image: RawImage): boolean {
  for (let i = 3; i < image.data.length; i += 4) if (image.data[i] !== 0 && image.data[i] !== 255) return true;
  return false;
}

const samplingStep = (image: RawImage, maxPixels: number) => Math.max(1, Math.ceil(Math.sqrt((image.width * image.height) / maxPixels)));

/**
 * One pixel from each `step` × `step` block, into a new buffer: enough for choosing a palette,
 * and keeps exact colours. The pixel's place in its block shifts with the block's column and
 * row, so every row and every column of the image is sampled: a one-pixel line is kept in
 * proportion, where a fixed grid keeps all of it or none.
 */
function downsample(image: RawImage, maxPixels: number): RawImage {
  const step = samplingStep(image, maxPixels);
  // At least one pixel each way: a 1×70,000 strip still has a palette to choose.
  const width = Math.max(1, Math.floor(image.width / step));
  const height = Math.max(1, Math.floor(image.height / step));
  const source = pixelsOf(image);
  const out = new Uint32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) out[y * width + x] = source[(y * step + (x % step)) * image.width + x * step + (y % step)]!;
  }
  return { data: new Uint8Array(out.buffer), width, height };
}
