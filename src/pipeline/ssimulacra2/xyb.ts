// sRGB → linear → XYB, as the reference's colour management and ToXYB compute it, and the
// cache of converted colours.

import { fr, r32 } from './rounding';

const BYTE_SCALE = fr(1 / 255);
const LOW_DIV_INV = fr(1 / fr(12.92));
const THRESH_SRGB_TO_LINEAR = fr(0.04045);
const TF_P = [2.200248328e-4, 1.043637593e-2, 1.624820318e-1, 7.961564959e-1, 8.210152774e-1].map(fr) as number[];
const TF_Q = [2.63184697e-1, 1.076976492, 4.98752835e-1, -5.512498495e-2, 6.521209011e-3].map(fr) as number[];

/** TF_SRGB::DisplayFromEncoded: libjxl's rational approximation, not the textbook formula. */
function linearFromSrgb(v: number): number {
  if (!(v > THRESH_SRGB_TO_LINEAR)) return fr(v * LOW_DIV_INV);
  let p = TF_P[4]!;
  let q = TF_Q[4]!;
  for (let i = 3; i >= 0; i--) {
    p = fr(p * v + TF_P[i]!);
    q = fr(q * v + TF_Q[i]!);
  }
  return fr(p / q);
}

/** Linear value of each 8-bit sample, decoded as libjxl's PNG reader scales it (v · float(1/255)). */
export const LINEAR_OF_BYTE = Float64Array.from({ length: 256 }, (_, v) => linearFromSrgb(fr(v * BYTE_SCALE)));

/** ssimulacra2_main flattens transparency over these two greys (sRGB-encoded) and keeps the worse score. */
export const BACKGROUNDS = [fr(0.1), fr(0.9)] as const;
/** Marks opaque images, whose pixels are taken as they are. */
export const OPAQUE = -1;

/** AlphaBlend: mixes the encoded sample with the background before decoding to linear. */
export function linearOnBackground(v: number, alpha: number, background: number): number {
  const a = fr(alpha * BYTE_SCALE);
  return linearFromSrgb(fr(fr(a * fr(v * BYTE_SCALE)) + fr(fr(1 - a) * background)));
}

// Opsin absorbance (opsin_params.h); the float constants combined as the C++ constexprs are.
const M00 = fr(0.3);
const M02 = fr(0.078);
const M01 = fr(fr(1 - M02) - M00);
const M10 = fr(0.23);
const M12 = fr(0.078);
const M11 = fr(fr(1 - M12) - M10);
const M20 = fr(0.24342268924547819);
const M21 = fr(0.20476744424496821);
const M22 = fr(fr(1 - M20) - M21);
const BIAS = fr(0.0037930732552754493);
const NEG_BIAS_CBRT = -fr(Math.cbrt(BIAS));
// MakePositiveXYB's offsets.
const X_SCALE = 14;
const X_OFFSET = fr(0.42);
const Y_OFFSET = fr(0.01);
const B_OFFSET = fr(0.55);

/**
 * Linear sRGB to ssimulacra2's positive XYB (LinearRGBToXYB, then MakePositiveXYB), `w` pixels
 * from three planes of `src` to three of `dst`. A row at a time, in passes: the hot loops call
 * nothing, since a call that V8 does not inline boxes every number passed or returned.
 */
export function xybFromLinear(
  src: Float32Array,
  r0: number,
  g0: number,
  b0: number,
  dst: Float64Array,
  x0: number,
  y0: number,
  z0: number,
  w: number,
): void {
  if (lms.length < 3 * w) growLms(3 * w);
  const v = lms;
  for (let i = 0; i < w; i++) {
    const r = src[r0 + i]!;
    const g = src[g0 + i]!;
    const b = src[b0 + i]!;
    v[i] = r32(M00 * r + r32(M01 * g + r32(M02 * b + BIAS)));
    v[w + i] = r32(M10 * r + r32(M11 * g + r32(M12 * b + BIAS)));
    v[2 * w + i] = r32(M20 * r + r32(M21 * g + r32(M22 * b + BIAS)));
  }
  cubeRootsAndAdd(v, 3 * w);
  for (let i = 0; i < w; i++) {
    const l = v[i]!;
    const m = v[w + i]!;
    const s = v[2 * w + i]!;
    // Halving a float is exact, so those products need no rounding.
    const y = 0.5 * r32(l + m);
    dst[x0 + i] = r32(r32(0.5 * r32(l - m) * X_SCALE) + X_OFFSET);
    dst[y0 + i] = r32(y + Y_OFFSET);
    dst[z0 + i] = r32(r32(s - y) + B_OFFSET);
  }
}

/** xybFromLinear's scratch: the mixed values of a row, the cube root's steps, and a float and integer view for its guess. */
let lms = new Float64Array(0);
let roots = new Float64Array(0);
let thirds = new Float64Array(0);
let lmsFloats = new Float32Array(0);
let lmsBits = new Int32Array(0);

function growLms(size: number): void {
  lms = new Float64Array(size);
  roots = new Float64Array(size);
  thirds = new Float64Array(size);
  lmsFloats = new Float32Array(size);
  lmsBits = new Int32Array(lmsFloats.buffer);
}

const ONE_THIRD = fr(1 / 3);
const FOUR_THIRDS = fr(4 / 3);

/**
 * CubeRootAndAdd (fast_math-inl.h) of v[0…n−1] in place: cbrt(x) − cbrt(bias) for x clamped
 * at 0, by a bit-level guess of x^(−1/3) and four Newton steps, rounded as the reference rounds
 * them. Step by step over the whole row: one value's steps depend on each other, the row's
 * values do not, and a loop over them keeps the processor busy where one root would stall it.
 */
function cubeRootsAndAdd(v: Float64Array, n: number): void {
  const floats = lmsFloats;
  const bits = lmsBits;
  const r = roots;
  const x3 = thirds;
  for (let i = 0; i < n; i++) {
    const x = v[i]!;
    // Any positive guess for the values clamped at the end.
    floats[i] = x > 0 ? x : 1;
    bits[i] = 0x54800000 - Math.imul(bits[i]! >> 23, 0x002aaaaa);
    r[i] = floats[i]!;
    x3[i] = r32(ONE_THIRD * x);
  }
  for (let step = 0; step < 3; step++) {
    for (let i = 0; i < n; i++) {
      const ri = r[i]!;
      const r2 = r32(ri * ri);
      r[i] = r32(r32(FOUR_THIRDS * ri) - x3[i]! * r32(r2 * r2));
    }
  }
  for (let i = 0; i < n; i++) {
    const x = v[i]!;
    if (!(x > 0)) {
      v[i] = NEG_BIAS_CBRT;
      continue;
    }
    let ri = r[i]!;
    let r2 = r32(ri * ri);
    ri = r32(ONE_THIRD * r32(ri - x * r32(r2 * r2)) + ri);
    r2 = r32(ri * ri);
    v[i] = r32(r2 * x + NEG_BIAS_CBRT);
  }
}

/** Writes row y of an image, in XYB, into three rows of `dst`. */
export type RowWriter = (y: number, dst: Float64Array, o0: number, o1: number, o2: number) => void;
/** Writes row y of an image, in linear RGB, into three rows of `dst`. */
export type LinearRowWriter = (y: number, dst: Float32Array, o0: number, o1: number, o2: number) => void;
/**
 * XYB of the opaque colours met so far, direct-mapped by a hash of the colour. A photo has a
 * few thousand to a few tens of thousands of distinct colours a megapixel, so nearly every
 * full-size pixel is a hit and skips three cube roots.
 */
export class ColourCache {
  readonly keys = new Int32Array(1 << 16).fill(-1);
  readonly xyb = new Float32Array(3 << 16);
}
