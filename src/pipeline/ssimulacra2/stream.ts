// The scratch rows every scale shares, what each channel goes through at a scale, and the
// streaming of rows through the blur's vertical pass.

import { BLOCK, BLUR_ROWS, RADIUS, blurColumns } from './blur';
import { ColourCache } from './xyb';

/** XYB rows alive at once: the block being output through the newest rows fed to the blur. */
const XYB_ROWS = 2 * BLOCK;

/**
 * Scratch rows, `stride` (the full width) values each, shared by every scale and both images.
 * Float64, though every value in them is a float32 the reference would hold: reading and
 * writing float64 spares a conversion per access, the roundings are explicit anyway.
 */
export class Workspace {
  readonly stride: number;
  readonly f: Float64Array;
  readonly xyb: number;
  readonly blurred: number;
  readonly state: number;
  readonly out: number;
  readonly product: number;
  readonly zero: number;
  /** Two rows of linear RGB while halving a full-size image. */
  readonly linear: Float32Array;
  readonly colours = new ColourCache();

  constructor(width: number) {
    this.stride = width;
    let rows = 0;
    const take = (count: number) => ((rows += count) - count) * width;
    this.xyb = take(2 * 3 * XYB_ROWS); // [image][channel][row ring]
    this.blurred = take(3 * 5 * BLUR_ROWS); // [channel][quantity][row ring]
    this.state = take(3 * 5 * 6); // [channel][quantity][column][recursion and age]
    this.out = take(5 * BLOCK); // [quantity][row]: mu1, mu2, sigma11, sigma22, sigma12 of the output rows
    this.product = take(1);
    this.zero = take(1);
    this.f = new Float64Array(rows * width);
    this.linear = new Float32Array(6 * width);
  }

  xybRow(image: number, channel: number, y: number): number {
    return this.xyb + ((image * 3 + channel) * XYB_ROWS + (y % XYB_ROWS)) * this.stride;
  }

  blurredRow(channel: number, quantity: number, y: number): number {
    return this.blurred + ((channel * 5 + quantity) * BLUR_ROWS + (y % BLUR_ROWS)) * this.stride;
  }
}

/**
 * What a channel goes through at one scale ([scale][channel]). The reference computes every
 * map and then weighs some norms by 0 (which ones depends on the number of scales, as the
 * weight index does): at six scales, full size needs the SSIM map for Y only.
 */
export const NONE = 0;
/** The edge-difference maps only: mu1 and mu2. */
export const EDGES = 1;
/** The SSIM map too: all five blurred quantities. */
export const ALL = 2;
/** EDGES against a kept reference whose rows hold img1 − mu1 already: mu2 alone. */
export const GIVEN_EDGES = 3;
/** mu1 alone, to make a kept reference's GIVEN_EDGES rows. */
export const MU1 = 4;
/** The blurred quantities [FIRST, END) of each mode (0 mu1, 1 mu2, 2 sigma11, 3 sigma22, 4 sigma12). */
const FIRST = [0, 0, 0, 1, 0];
const END = [0, 2, 5, 2, 1];
/**
 * Streams `height` rows through the vertical pass of the blur: `feed(last)` must have blurred
 * rows up to `last` horizontally into ws.blurredRow (each channel's quantities as its mode
 * says); `done(c, n, rows)` then finds the blurred rows n… of channel c at ws.out, quantity q
 * at ws.out + q · BLOCK · stride.
 */
export function streamBlur(
  ws: Workspace,
  width: number,
  height: number,
  modes: ArrayLike<number>,
  feed: (last: number) => void,
  done: (c: number, n: number, rows: number) => void,
): void {
  const { f, stride } = ws;
  f.fill(0, ws.state, ws.state + 3 * 5 * 6 * stride);
  // Vertical step n reads horizontally blurred rows n − N − 1 and n + N − 1, zero outside. The
  // steps before 1 − N read only zero rows and leave the state at 0, those from `height` on
  // output rows no one reads: so whole blocks, from a multiple of BLOCK before row 0.
  const blurred = (c: number, q: number, y: number) => (y >= 0 && y < height ? ws.blurredRow(c, q, y) : ws.zero);
  for (let n = -BLOCK * Math.ceil((RADIUS - 1) / BLOCK); n < height; n += BLOCK) {
    feed(n + BLOCK + RADIUS - 2);
    for (let c = 0; c < 3; c++) {
      const mode = modes[c]!;
      if (mode === NONE) continue;
      for (let q = FIRST[mode]!; q < END[mode]!; q++) {
        const above = (k: number) => blurred(c, q, n + k - RADIUS - 1);
        const below = (k: number) => blurred(c, q, n + k + RADIUS - 1);
        blurColumns(
          f,
          above(0),
          above(1),
          above(2),
          above(3),
          below(0),
          below(1),
          below(2),
          below(3),
          ws.state + (c * 5 + q) * 6 * stride,
          stride,
          ws.out + q * BLOCK * stride,
          width,
        );
      }
      if (n >= 0) done(c, n, Math.min(BLOCK, height - n));
    }
  }
}
