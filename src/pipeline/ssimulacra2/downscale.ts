// Images at each scale: the scale sizes, the pyramid of 2×2 means below full size, and XYB
// planes kept for a reused reference.

import { r32 } from './rounding';
import { type LinearRowWriter, type RowWriter, xybFromLinear } from './xyb';

const NUM_SCALES = 6;

export interface Scale {
  width: number;
  height: number;
}

/**
 * The sizes the reference computes at: it checks the previous scale (not the new one) against
 * 8 px before halving, so the last scale can be as small as 4 px.
 */
export function scaleSizes(width: number, height: number): Scale[] {
  const scales = [{ width, height }];
  while (scales.length < NUM_SCALES) {
    const last = scales[scales.length - 1]!;
    if (last.width < 8 || last.height < 8) break;
    scales.push({ width: (last.width + 1) >> 1, height: (last.height + 1) >> 1 });
  }
  return scales;
}

/**
 * Linear-RGB planes for scales 1…: each the 2×2 mean of the one above (Downsample, edge pixels
 * repeated), summed in float in the reference's order. One buffer for all scales, refilled
 * for the second background.
 */
export class Pyramid {
  readonly f: Float32Array;
  /** Offset of each scale's R plane (G and B follow); index 0 unused, full size is never stored. */
  readonly offsets: number[] = [0];
  readonly scales: Scale[];

  constructor(scales: Scale[]) {
    this.scales = scales;
    let size = 0;
    for (let s = 1; s < scales.length; s++) {
      this.offsets.push(size);
      size += 3 * scales[s]!.width * scales[s]!.height;
    }
    this.f = new Float32Array(size);
  }

  /** Fills the planes from the full-size image's linear rows (`scratch`: six rows of its width). */
  fill(linearRow: LinearRowWriter, scratch: Float32Array): this {
    const { f, scales, offsets } = this;
    if (scales.length > 1) {
      const { width, height } = scales[0]!;
      const s1 = scales[1]!;
      const plane1 = s1.width * s1.height;
      for (let oy = 0; oy < s1.height; oy++) {
        linearRow(2 * oy, scratch, 0, width, 2 * width);
        linearRow(Math.min(2 * oy + 1, height - 1), scratch, 3 * width, 4 * width, 5 * width);
        for (let c = 0; c < 3; c++) {
          halveRow(scratch, c * width, (3 + c) * width, f, offsets[1]! + c * plane1 + oy * s1.width, width, s1.width);
        }
      }
    }
    for (let s = 2; s < scales.length; s++) {
      const above = scales[s - 1]!;
      const here = scales[s]!;
      for (let c = 0; c < 3; c++) {
        const src = offsets[s - 1]! + c * above.width * above.height;
        const dst = offsets[s]! + c * here.width * here.height;
        for (let oy = 0; oy < here.height; oy++) {
          const y0 = src + 2 * oy * above.width;
          const y1 = src + Math.min(2 * oy + 1, above.height - 1) * above.width;
          halveRow(f, y0, y1, f, dst + oy * here.width, above.width, here.width);
        }
      }
    }
    return this;
  }

  /** XYB rows of every scale, converted as they are read; full size from `fullSize`. */
  xybRows(fullSize: RowWriter): RowWriter[] {
    const f = this.f;
    return this.scales.map(({ width, height }, s) => {
      if (s === 0) return fullSize;
      const r = this.offsets[s]!;
      const g = r + width * height;
      const b = g + width * height;
      const writer: RowWriter = (y, dst, o0, o1, o2) =>
        xybFromLinear(f, r + y * width, g + y * width, b + y * width, dst, o0, o1, o2, width);
      return writer;
    });
  }

  /**
   * Converts the planes to XYB in place (each pixel is read before it is written), for a
   * reference scored many times; returns them, scales 1… only.
   */
  keepXyb(): Planes[] {
    const f = this.f;
    const row = new Float64Array(3 * this.scales[0]!.width);
    return this.scales.slice(1).map(({ width, height }, i) => {
      const plane = width * height;
      const r = this.offsets[i + 1]!;
      for (let y = 0; y < height; y++) {
        const at = r + y * width;
        xybFromLinear(f, at, at + plane, at + 2 * plane, row, 0, width, 2 * width, width);
        for (let c = 0; c < 3; c++) f.set(row.subarray(c * width, (c + 1) * width), at + c * plane);
      }
      return { f, offset: r, width, height };
    });
  }
}

function halveRow(src: Float32Array, row0: number, row1: number, dst: Float32Array, out: number, w: number, outW: number): void {
  const pairs = w >> 1;
  for (let ox = 0, x = 0; ox < pairs; ox++, x += 2) {
    dst[out + ox] = r32(r32(r32(src[row0 + x]! + src[row0 + x + 1]!) + src[row1 + x]!) + src[row1 + x + 1]!) * 0.25;
  }
  // An odd width's last output repeats the edge pixel.
  if (outW > pairs) {
    const x = w - 1;
    dst[out + pairs] = r32(r32(r32(src[row0 + x]! + src[row0 + x]!) + src[row1 + x]!) + src[row1 + x]!) * 0.25;
  }
}

/** Three float planes of width × height, one after another from `offset`. */
export interface Planes {
  f: Float32Array;
  offset: number;
  width: number;
  height: number;
}

/** Stores the rows `source` writes as float planes. */
export function planes(source: RowWriter, width: number, height: number): Planes {
  const plane = width * height;
  const f = new Float32Array(3 * plane);
  const row = new Float64Array(3 * width);
  for (let y = 0; y < height; y++) {
    source(y, row, 0, width, 2 * width);
    for (let c = 0; c < 3; c++) f.set(row.subarray(c * width, (c + 1) * width), c * plane + y * width);
  }
  return { f, offset: 0, width, height };
}

/** Reads rows of three float planes. */
export function planeReader({ f, offset, width, height }: Planes): RowWriter {
  const plane = width * height;
  return (y, dst, o0, o1, o2) => {
    const at = offset + y * width;
    for (let x = 0; x < width; x++) {
      dst[o0 + x] = f[at + x]!;
      dst[o1 + x] = f[at + plane + x]!;
      dst[o2 + x] = f[at + 2 * plane + x]!;
    }
  };
}
