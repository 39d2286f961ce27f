import type { IndexedImage, RawImage } from '../codecs/types';
import { type WuOptions, wuPalettes } from './wu';

/** Palette building costs grow with pixels; a sample this size gives the same palette for a fraction of the time. */
const PALETTE_SAMPLE_PIXELS = 64 * 1024;

/** RGBA entries, 4 bytes each. */
export type Palette = Uint8Array;

const pixelsOf = (image: RawImage) => new Uint32Array(image.data.buffer, image.data.byteOffset, image.width * image.height);

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
 * Palettes of the image at any size: at most `colors` colours (alpha included), chosen by
 * Wu's quantiser from one downsampled copy, in one run shared by every size asked for, then
 * refined by Lloyd rounds.
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
    const chosen = completePalette(wu(opaqueColors), opaqueColors, () => (counted ??= countColours(image, COMPLETION_SAMPLE_PIXELS) ?? countColours(sample, PALETTE_SAMPLE_PIXELS)!));
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
 * Wu cannot split below a histogram cell, so artwork whose colours crowd into a few cells gets
 * a short palette: city.png at 3.3 MP has 1,789 colours, 99.9% of its pixels in the 256
 * commonest, but 67 cells. The missing entries are added one at a time, each the colour with
 * the largest squared error still unaccounted for (its count times its distance from the
 * nearest entry), the way k-means++ seeds; the Lloyd rounds then settle them. The colours are
 * counted on a denser sample than Wu's: thin lines and small text, a few pixels wide, are
 * what a coarse sample misses (city at 256 colours: 0.999993 from Wu's sample, 0.999999
 * from one of 1 MP; libimagequant 0.999996).
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

const COMPLETION_SAMPLE_PIXELS = 1 << 20;
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

/**
 * Dithering constants, in the squared weighted distance of `nearestEntryFinder` and as a
 * factor. Measured on the corpus at 1 MP and 256 colours, after the Lloyd rounds: mean SSIM
 * 0.9683 → 0.9704 and 4% fewer deflated bytes than spreading every error in full.
 */
const INVISIBLE_ERROR = 2;
const ERROR_SPREAD = 15 / 16;

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

// BT.709 luma weights on RGB; alpha counted in full.
const WEIGHT_R = 0.2126;
const WEIGHT_G = 0.7152;
const WEIGHT_B = 0.0722;

/**
 * Maps every pixel to its palette index with serpentine Floyd–Steinberg dithering, holding
 * two rows of error and a nearest-colour cache, and writing one byte a pixel (a per-pixel
 * object, as general-purpose quantisers hold, would take gigabytes at 12 MP). Fully transparent pixels map to a fully transparent entry when there is one.
 * When `palette` holds every colour of the image, pass `dither: false` for an exact mapping.
 * `indices` may be a buffer to reuse (one byte a pixel); it is overwritten.
 */
export function mapToPalette(image: RawImage, palette: Palette, { dither = true, indices = new Uint8Array(image.width * image.height) as Uint8Array } = {}): IndexedImage {
  const { width, height, data } = image;
  const entries = palette.length / 4;
  const transparentEntry = findTransparentEntry(palette);
  if (!dither) {
    const indexOf = new Map<number, number>();
    const colours = new Uint32Array(palette.buffer, palette.byteOffset, entries);
    colours.forEach((colour, i) => indexOf.set(colour, i));
    const pixels = pixelsOf(image);
    for (let i = 0; i < pixels.length; i++) {
      const index = indexOf.get(pixels[i]!);
      if (index === undefined) throw new Error('the palette lacks a colour of the image');
      indices[i] = index;
    }
    return { indices, palette, width, height };
  }

  const nearest = nearestEntryFinder(palette);
  // Error rows with one spare pixel at each end, so the kernel needs no edge tests.
  let errorHere = new Float32Array((width + 2) * 4);
  let errorNext = new Float32Array((width + 2) * 4);
  const spread = (e: number, step: number, channel: number, error: number) => {
    errorHere[e + step * 4 + channel]! += (error * 7) / 16;
    errorNext[e - step * 4 + channel]! += (error * 3) / 16;
    errorNext[e + channel]! += (error * 5) / 16;
    errorNext[e + step * 4 + channel]! += error / 16;
  };
  const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);
  for (let y = 0; y < height; y++) {
    const leftToRight = y % 2 === 0;
    const step = leftToRight ? 1 : -1;
    errorNext.fill(0);
    for (let n = 0, x = leftToRight ? 0 : width - 1; n < width; n++, x += step) {
      const p = (y * width + x) * 4;
      const e = (x + 1) * 4;
      if (data[p + 3] === 0 && transparentEntry >= 0) {
        indices[y * width + x] = transparentEntry;
        continue;
      }
      const r = clamp(data[p]! + errorHere[e]!);
      const g = clamp(data[p + 1]! + errorHere[e + 1]!);
      const b = clamp(data[p + 2]! + errorHere[e + 2]!);
      const a = clamp(data[p + 3]! + errorHere[e + 3]!);
      const index = nearest(Math.round(r), Math.round(g), Math.round(b), Math.round(a));
      indices[y * width + x] = index;
      // The error carried on is the original pixel's, not the corrected one's: errors cannot
      // pile up, so flat areas get less noise for the same colours.
      const errorR = data[p]! - palette[index * 4]!;
      const errorG = data[p + 1]! - palette[index * 4 + 1]!;
      const errorB = data[p + 2]! - palette[index * 4 + 2]!;
      const errorA = data[p + 3]! - palette[index * 4 + 3]!;
      // Two rules after libimagequant's: an error too small to see is not spread (flat areas
      // stay flat, which deflate rewards), and the rest is spread at 15/16 so small errors do
      // not build up into noise.
      const size = WEIGHT_R * errorR * errorR + WEIGHT_G * errorG * errorG + WEIGHT_B * errorB * errorB + errorA * errorA;
      if (size < INVISIBLE_ERROR) continue;
      spread(e, step, 0, errorR * ERROR_SPREAD);
      spread(e, step, 1, errorG * ERROR_SPREAD);
      spread(e, step, 2, errorB * ERROR_SPREAD);
      spread(e, step, 3, errorA * ERROR_SPREAD);
    }
    [errorHere, errorNext] = [errorNext, errorHere];
  }
  return { indices, palette, width, height };
}

/**
 * The exact nearest palette entry of a colour (BT.709-weighted Euclidean distance). Entries are
 * searched outwards from the colour's green, the channel with the most weight, until green
 * alone is farther than the best found; results are kept in a direct-mapped cache of exact
 * colours. (A coarse cache of 6-bit colours was faster but cost 8–10% in PNG size: the wrong
 * entries it returned add noise that deflate pays for.)
 */
function nearestEntryFinder(palette: Palette, cacheBits = 18): (r: number, g: number, b: number, a: number) => number {
  const entries = palette.length / 4;
  const byGreen = Int32Array.from({ length: entries }, (_, e) => e).sort((x, y) => palette[x * 4 + 1]! - palette[y * 4 + 1]!);
  const greens = Int32Array.from(byGreen, (e) => palette[e * 4 + 1]!);
  const cachedColour = new Uint32Array(1 << cacheBits);
  const cachedEntry = new Int16Array(1 << cacheBits).fill(-1);
  // One loop with local variables: captured mutable numbers would make V8 box every
  // distance on the heap, tens of MB of garbage at 12 MP.
  return (r, g, b, a) => {
    const colour = ((r << 24) | (g << 16) | (b << 8) | a) >>> 0;
    const slot = Math.imul(colour, 2654435761) >>> (32 - cacheBits);
    if (cachedEntry[slot]! >= 0 && cachedColour[slot] === colour) return cachedEntry[slot]!;
    let low = 0;
    let high = entries;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (greens[middle]! < g) low = middle + 1;
      else high = middle;
    }
    let best = byGreen[Math.min(low, entries - 1)]!;
    let bestDistance = Infinity;
    // Outwards from the colour's green, alternating sides, until green alone is too far on both.
    for (let up = low, down = low - 1; up < entries || down >= 0; ) {
      let moved = false;
      for (let side = 0; side < 2; side++) {
        const i = side === 0 ? up : down;
        if (i < 0 || i >= entries) continue;
        const dg = g - greens[i]!;
        if (WEIGHT_G * dg * dg >= bestDistance) continue;
        moved = true;
        const e = byGreen[i]!;
        const dr = r - palette[e * 4]!;
        const db = b - palette[e * 4 + 2]!;
        const da = a - palette[e * 4 + 3]!;
        const distance = WEIGHT_R * dr * dr + WEIGHT_G * dg * dg + WEIGHT_B * db * db + da * da;
        if (distance < bestDistance) {
          bestDistance = distance;
          best = e;
        }
      }
      if (!moved) break;
      up++;
      down--;
    }
    cachedColour[slot] = colour;
    cachedEntry[slot] = best;
    return best;
  };
}

function findTransparentEntry(palette: Palette): number {
  for (let e = 0; e < palette.length / 4; e++) if (palette[e * 4 + 3] === 0) return e;
  return -1;
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

/** Nearest-neighbour decimation into a new buffer: enough for choosing a palette, and keeps exact colours. */
function downsample(image: RawImage, maxPixels: number): RawImage {
  const step = samplingStep(image, maxPixels);
  // At least one pixel each way: a 1×70,000 strip still has a palette to choose.
  const width = Math.max(1, Math.floor(image.width / step));
  const height = Math.max(1, Math.floor(image.height / step));
  const source = pixelsOf(image);
  const out = new Uint32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) out[y * width + x] = source[y * step * image.width + x * step]!;
  return { data: new Uint8Array(out.buffer), width, height };
}
