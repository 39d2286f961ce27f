// Images at full size, read a row at a time in linear RGB or XYB (RGBA pixels through the
// colour cache, palette images through their palette), and the opacity checks.

import type { IndexedImage } from '../../codecs/types';
import { type ColourCache, type LinearRowWriter, type RowWriter, LINEAR_OF_BYTE, OPAQUE, linearOnBackground, xybFromLinear } from './xyb';

/** An image at full size, before the pyramid: pixels decoded on demand, a row at a time. */
export interface FullSize {
  linearRow: LinearRowWriter;
  xybRow: RowWriter;
}

export function rgbaImage(data: Uint8Array | Uint8ClampedArray, width: number, background: number, colours: ColourCache): FullSize {
  const linearRow: LinearRowWriter = (y, dst, r, g, b) => {
    for (let x = 0, p = y * width * 4; x < width; x++, p += 4) {
      const alpha = data[p + 3]!;
      if (alpha === 255 || background === OPAQUE) {
        dst[r + x] = LINEAR_OF_BYTE[data[p]!]!;
        dst[g + x] = LINEAR_OF_BYTE[data[p + 1]!]!;
        dst[b + x] = LINEAR_OF_BYTE[data[p + 2]!]!;
      } else {
        dst[r + x] = linearOnBackground(data[p]!, alpha, background);
        dst[g + x] = linearOnBackground(data[p + 1]!, alpha, background);
        dst[b + x] = linearOnBackground(data[p + 2]!, alpha, background);
      }
    }
  };
  // Pixels missing from the cache are converted together once the row has been looked up (a
  // conversion call per pixel costs more than the conversion), then cached; a run of one
  // colour is converted once.
  const missing = new Int32Array(width);
  const copies = new Int32Array(width);
  const linear = new Float32Array(3 * width);
  const converted = new Float64Array(3 * width);
  const xybRow: RowWriter = (y, dst, o0, o1, o2) => {
    const { keys, xyb } = colours;
    let count = 0;
    let copyCount = 0;
    /** The previous pixel's colour while it is missing from the cache, else −1. */
    let previous = -1;
    for (let x = 0, p = y * width * 4; x < width; x++, p += 4) {
      const alpha = data[p + 3]!;
      if (alpha === 255 || background === OPAQUE) {
        const key = (data[p]! << 16) | (data[p + 1]! << 8) | data[p + 2]!;
        const slot = Math.imul(key, 0x9e3779b1) >>> 16;
        const at = 3 * slot;
        if (keys[slot] === key) {
          dst[o0 + x] = xyb[at]!;
          dst[o1 + x] = xyb[at + 1]!;
          dst[o2 + x] = xyb[at + 2]!;
          previous = -1;
          continue;
        }
        if (key === previous) {
          copies[copyCount++] = x;
          continue;
        }
        previous = key;
        linear[count] = LINEAR_OF_BYTE[data[p]!]!;
        linear[width + count] = LINEAR_OF_BYTE[data[p + 1]!]!;
        linear[2 * width + count] = LINEAR_OF_BYTE[data[p + 2]!]!;
        missing[count++] = x;
      } else {
        // Translucent pixels depend on the background and are not cached (−1 − x marks them).
        previous = -1;
        linear[count] = linearOnBackground(data[p]!, alpha, background);
        linear[width + count] = linearOnBackground(data[p + 1]!, alpha, background);
        linear[2 * width + count] = linearOnBackground(data[p + 2]!, alpha, background);
        missing[count++] = -1 - x;
      }
    }
    if (count === 0) return;
    xybFromLinear(linear, 0, width, 2 * width, converted, 0, width, 2 * width, count);
    for (let i = 0; i < count; i++) {
      const cached = missing[i]! >= 0;
      const x = cached ? missing[i]! : -1 - missing[i]!;
      const v0 = converted[i]!;
      const v1 = converted[width + i]!;
      const v2 = converted[2 * width + i]!;
      dst[o0 + x] = v0;
      dst[o1 + x] = v1;
      dst[o2 + x] = v2;
      if (!cached) continue;
      const p = (y * width + x) * 4;
      const key = (data[p]! << 16) | (data[p + 1]! << 8) | data[p + 2]!;
      const slot = Math.imul(key, 0x9e3779b1) >>> 16;
      keys[slot] = key;
      xyb[3 * slot] = v0;
      xyb[3 * slot + 1] = v1;
      xyb[3 * slot + 2] = v2;
    }
    // In order, so a copy's left neighbour is already written.
    for (let i = 0; i < copyCount; i++) {
      const x = copies[i]!;
      dst[o0 + x] = dst[o0 + x - 1]!;
      dst[o1 + x] = dst[o1 + x - 1]!;
      dst[o2 + x] = dst[o2 + x - 1]!;
    }
  };
  return { linearRow, xybRow };
}

/** A palette image converts each palette entry once, then reads rows through the indices. */
export function indexedImage({ indices, palette, width }: IndexedImage, background: number): FullSize {
  const entries = palette.length >> 2;
  const linear = new Float32Array(3 * entries);
  for (let e = 0; e < entries; e++) {
    const alpha = palette[4 * e + 3]!;
    for (let c = 0; c < 3; c++) {
      const v = palette[4 * e + c]!;
      linear[c * entries + e] = alpha === 255 || background === OPAQUE ? LINEAR_OF_BYTE[v]! : linearOnBackground(v, alpha, background);
    }
  }
  const xyb = new Float64Array(3 * entries);
  xybFromLinear(linear, 0, entries, 2 * entries, xyb, 0, entries, 2 * entries, entries);
  const through =
    (table: Float32Array | Float64Array) => (y: number, dst: Float32Array | Float64Array, o0: number, o1: number, o2: number) => {
      for (let x = 0, i = y * width; x < width; x++, i++) {
        const e = indices[i]!;
        dst[o0 + x] = table[e]!;
        dst[o1 + x] = table[entries + e]!;
        dst[o2 + x] = table[2 * entries + e]!;
      }
    };
  return { linearRow: through(linear), xybRow: through(xyb) };
}

export function isOpaque(data: Uint8Array | Uint8ClampedArray): boolean {
  // Four bytes at a time where the buffer allows: alpha is the top byte of a little-endian word.
  if (LITTLE_ENDIAN && data.byteOffset % 4 === 0) {
    const words = new Uint32Array(data.buffer, data.byteOffset, data.length >> 2);
    for (let i = 0; i < words.length; i++) if (words[i]! < 0xff000000) return false;
    return true;
  }
  for (let p = 3; p < data.length; p += 4) if (data[p] !== 255) return false;
  return true;
}

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

export function isIndexedOpaque({ indices, palette }: IndexedImage): boolean {
  const translucent = new Uint8Array(256);
  let any = false;
  for (let e = 0; 4 * e < palette.length; e++) {
    if (palette[4 * e + 3] !== 255) {
      translucent[e] = 1;
      any = true;
    }
  }
  if (!any) return true;
  for (let i = 0; i < indices.length; i++) if (translucent[indices[i]!]) return false;
  return true;
}
