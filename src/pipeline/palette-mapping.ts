// Mapping an image to a palette: serpentine Floyd–Steinberg dithering or an exact mapping, and
// the weighted nearest-entry search that palette building shares.

import type { IndexedImage, RawImage } from '../codecs/types';

/** RGBA entries, 4 bytes each. */
export type Palette = Uint8Array;

export const pixelsOf = (image: RawImage) => new Uint32Array(image.data.buffer, image.data.byteOffset, image.width * image.height);

/**
 * How much a channel's squared error counts, on sRGB values; alpha counted in full. BT.709's
 * luma weights (0.21, 0.72, 0.07) made a blue error count a tenth of a green one, so blue and
 * purple gradients got few entries and their colours shifted (docs/quality.md, "Lossy PNG").
 */
export const WEIGHT_R = 0.26;
export const WEIGHT_G = 0.51;
export const WEIGHT_B = 0.23;

/**
 * Dithering constants (docs/quality.md, "Lossy PNG"): an error smaller than this, in the
 * squared weighted distance of `nearestEntryFinder`, is not spread, which keeps flat areas
 * flat for deflate; and the share of the error a pixel inherited that it passes on, in a
 * palette of at least `DENSE_PALETTE_ENTRIES`. With fewer entries, flat areas lie between
 * distant entries, and carried error turns their regular dither pattern irregular, which
 * deflate pays for at no gain in score.
 */
const INVISIBLE_ERROR = 0.5;
const INHERITED_ERROR_CARRIED = 0.5;
const DENSE_PALETTE_ENTRIES = 128;

/**
 * Maps every pixel to its palette index with serpentine Floyd–Steinberg dithering, holding
 * two rows of error and a nearest-colour cache, and writing one byte a pixel (a per-pixel
 * object, as general-purpose quantisers hold, would take gigabytes at 12 MP). Fully transparent pixels map to a fully transparent entry when there is one.
 * When `palette` holds every colour of the image, pass `dither: false` for an exact mapping.
 * `indices` may be a buffer to reuse (one byte a pixel); it is overwritten.
 */
export function mapToPalette(
  image: RawImage,
  palette: Palette,
  { dither = true, indices = new Uint8Array(image.width * image.height) as Uint8Array } = {},
): IndexedImage {
  const { width, height, data } = image;
  const entries = palette.length / 4;
  const transparentEntry = findTransparentEntry(palette);
  if (!dither) {
    const indexOf = new Map<number, number>();
    const colours = new Uint32Array(palette.buffer, palette.byteOffset, entries);
    colours.forEach((colour, i) => {
      indexOf.set(colour, i);
    });
    const pixels = pixelsOf(image);
    for (let i = 0; i < pixels.length; i++) {
      const index = indexOf.get(pixels[i]!);
      if (index === undefined) throw new Error('the palette lacks a colour of the image');
      indices[i] = index;
    }
    return { indices, palette, width, height };
  }

  const nearest = nearestEntryFinder(palette);
  const carried = entries >= DENSE_PALETTE_ENTRIES ? INHERITED_ERROR_CARRIED : 0;
  // Error rows with one spare pixel at each end, so the kernel needs no edge tests.
  let errorHere = new Float32Array((width + 2) * 4);
  let errorNext = new Float32Array((width + 2) * 4);
  const spread = (e: number, step: number, channel: number, error: number) => {
    errorHere[e + step * 4 + channel]! += (error * 7) / 16;
    errorNext[e - step * 4 + channel]! += (error * 3) / 16;
    errorNext[e + channel]! += (error * 5) / 16;
    errorNext[e + step * 4 + channel]! += error / 16;
  };
  const clamp = (v: number) => (v < 0 ? 0 : Math.min(v, 255));
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
      // The error passed on is the pixel's own plus a share of what it inherited. All of the
      // inherited error piles up into noise that deflate pays for; none of it, and a colour
      // just outside the palette (a soft shadow) is never reached, only dotted at its darkest.
      const errorR = data[p]! + carried * (r - data[p]!) - palette[index * 4]!;
      const errorG = data[p + 1]! + carried * (g - data[p + 1]!) - palette[index * 4 + 1]!;
      const errorB = data[p + 2]! + carried * (b - data[p + 2]!) - palette[index * 4 + 2]!;
      const errorA = data[p + 3]! + carried * (a - data[p + 3]!) - palette[index * 4 + 3]!;
      // An error too small to see is not spread, after libimagequant: flat areas stay flat.
      const size = WEIGHT_R * errorR * errorR + WEIGHT_G * errorG * errorG + WEIGHT_B * errorB * errorB + errorA * errorA;
      if (size < INVISIBLE_ERROR) continue;
      spread(e, step, 0, errorR);
      spread(e, step, 1, errorG);
      spread(e, step, 2, errorB);
      spread(e, step, 3, errorA);
    }
    [errorHere, errorNext] = [errorNext, errorHere];
  }
  return { indices, palette, width, height };
}

/**
 * The exact nearest palette entry of a colour (weighted Euclidean distance, `WEIGHT_R` …). Entries are
 * searched outwards from the colour's green, the channel with the most weight, until green
 * alone is farther than the best found; results are kept in a direct-mapped cache of exact
 * colours. (A coarse cache of 6-bit colours was faster but cost 8–10% in PNG size: the wrong
 * entries it returned add noise that deflate pays for.)
 */
export function nearestEntryFinder(palette: Palette, cacheBits = 18): (r: number, g: number, b: number, a: number) => number {
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
