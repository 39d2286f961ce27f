// The recursive Gaussian, sigma 1.5 (Charalampidis 2016, as CreateRecursiveGaussian builds it):
// its taps, the horizontal pass over a row and the vertical pass over a row's columns.

import { fr, r32 } from './rounding';

const SIGMA = 1.5;
/** Filter radius "N" (57): 5 for sigma 1.5. */
export const RADIUS = Math.round(3.2795 * SIGMA + 0.2546);
/** Output rows the vertical pass produces at once, its state staying in registers (blurColumns takes four). */
export const BLOCK = 4;
/** Horizontally blurred rows a block of vertical steps reads: n − N − 1 … n + BLOCK − 1 + N − 1. */
export const BLUR_ROWS = 2 * RADIUS + BLOCK;

/** n2 and d1 of the three recursions (k = 1, 3, 5), in double as CreateRecursiveGaussian has them. */
function recursiveGaussian(sigma: number): { n2: [number, number, number]; d1: [number, number, number] } {
  const radius = RADIUS;
  const piDiv2r = Math.PI / (2 * radius);
  const omega = [piDiv2r, 3 * piDiv2r, 5 * piDiv2r] as const;
  const p1 = 1 / Math.tan(0.5 * omega[0]);
  const p3 = -1 / Math.tan(0.5 * omega[1]);
  const p5 = 1 / Math.tan(0.5 * omega[2]);
  const r1 = (p1 * p1) / Math.sin(omega[0]);
  const r3 = (-p3 * p3) / Math.sin(omega[1]);
  const r5 = (p5 * p5) / Math.sin(omega[2]);
  const negHalfSigma2 = -0.5 * sigma * sigma;
  const recipRadius = 1 / radius;
  const rho = omega.map((w) => Math.exp(negHalfSigma2 * w * w) * recipRadius) as [number, number, number];
  const d13 = p1 * r3 - r1 * p3;
  const d35 = p3 * r5 - r3 * p5;
  const d51 = p5 * r1 - r5 * p1;
  const recipD13 = 1 / d13;
  const zeta15 = d35 * recipD13;
  const zeta35 = d51 * recipD13;
  // beta = A⁻¹ · gamma, A inverted by cofactors as Inv3x3Matrix does, each double operation in
  // the reference's order (the float taps derive from these doubles).
  const a = [
    [p1, p3, p5],
    [r1, r3, r5],
    [zeta15, zeta35, 1],
  ] as const;
  const t = [
    [a[1][1] * a[2][2] - a[1][2] * a[2][1], a[0][2] * a[2][1] - a[0][1] * a[2][2], a[0][1] * a[1][2] - a[0][2] * a[1][1]],
    [a[1][2] * a[2][0] - a[1][0] * a[2][2], a[0][0] * a[2][2] - a[0][2] * a[2][0], a[0][2] * a[1][0] - a[0][0] * a[1][2]],
    [a[1][0] * a[2][1] - a[1][1] * a[2][0], a[0][1] * a[2][0] - a[0][0] * a[2][1], a[0][0] * a[1][1] - a[0][1] * a[1][0]],
  ] as const;
  const idet = 1 / (a[0][0] * t[0][0] + a[0][1] * t[1][0] + a[0][2] * t[2][0]);
  const gamma = [1, radius * radius - sigma * sigma, zeta15 * rho[0] + zeta35 * rho[1] + rho[2]] as const;
  const beta = t.map((row) => row[0] * idet * gamma[0] + row[1] * idet * gamma[1] + row[2] * idet * gamma[2]);
  const n2 = (i: 0 | 1 | 2) => -beta[i]! * Math.cos(omega[i] * (radius + 1));
  const d1 = (i: 0 | 1 | 2) => -2 * Math.cos(omega[i]);
  return { n2: [n2(0), n2(1), n2(2)], d1: [d1(0), d1(1), d1(2)] };
}

const GAUSS = recursiveGaussian(SIGMA);
// The vertical pass's taps, as floats.
const N2_1 = fr(GAUSS.n2[0]);
const N2_3 = fr(GAUSS.n2[1]);
const N2_5 = fr(GAUSS.n2[2]);
// −d1, so that a step is one multiply-add (negating a product is exact).
const NEG_D1_1 = -fr(GAUSS.d1[0]);
const NEG_D1_3 = -fr(GAUSS.d1[1]);

/**
 * The horizontal pass computes four outputs at a time from the last two before them, with
 * these per-lane multipliers (expanded in double, stored as floats): mul_in, mul_prev and
 * mul_prev2 of RecursiveGaussian, [recursion][lane].
 */
type Lanes = [number, number, number, number];
function unrolledTaps(i: 0 | 1 | 2): { input: Lanes; prev: Lanes; prev2: Lanes } {
  const n2 = GAUSS.n2[i];
  const d1 = GAUSS.d1[i];
  const d2 = d1 * d1;
  return {
    input: [n2, -d1 * n2, d2 * n2 - n2, -d2 * d1 * n2 + 2 * d1 * n2].map(fr) as Lanes,
    prev: [-d1, d2 - 1, -d2 * d1 + 2 * d1, d2 * d2 - 3 * d2 + 1].map(fr) as Lanes,
    prev2: [-1, d1, -d2 + 1, d2 * d1 - 2 * d1].map(fr) as Lanes,
  };
}
const [TAPS_1, TAPS_3] = [unrolledTaps(0), unrolledTaps(1)];

/*
 * Float arithmetic as the reference's compiled code does it (Highway's AVX2 target, which
 * fuses multiply-adds): `fr(a * b + c)` is one fused multiply-add, since a float product is
 * exact in double. Keeping every rounding matters: in smooth areas sigma11 − mu1² is mostly
 * float noise, and the reference's SSIM term at high quality is largely made of that noise.
 *
 * The third recursion (k = 5) has d1 = −2·cos(π/2) ≈ −1.2e−16, so its multipliers are 0, ±1
 * or ±n2 give or take float dust. The dusty terms are left out: they are far below half a unit
 * in the last place of the sums they join (inputs are at least 1e−4), or, where a sum is exactly
 * 0, leave dust that the next addition absorbs. Scores come out bit-identical either way.
 */

/**
 * One row of the horizontal pass (FastGaussian1D): zero outside the row, output n fed by the
 * inputs n − N − 1 and n + N − 1, three second-order recursions summed. One at a time up to
 * x = 8 and in the last few columns, four at a time between, each with its own rounding.
 */
export function blurRow(f: Float64Array, src: number, dst: number, w: number): void {
  // The taps as locals: V8 keeps them in registers or on the stack instead of rebuilding each
  // constant in every iteration. Q1_0 and Q3_0 are −1.
  const {
    input: [i10, i11, i12, i13],
    prev: [p10, p11, p12, p13],
    prev2: [, q11, q12, q13],
  } = TAPS_1;
  const {
    input: [i30, i31, i32, i33],
    prev: [p30, p31, p32, p33],
    prev2: [, q31, q32, q33],
  } = TAPS_3;
  const n25 = N2_5;
  const taps = 2 * RADIUS;
  const fourFrom = Math.min(8, w);
  let a1 = 0,
    a2 = 0,
    b1 = 0,
    b2 = 0,
    c1 = 0,
    c2 = 0;
  for (let n = 1 - RADIUS; n < w; n++) {
    if (n === fourFrom) {
      // Four at a time while both inputs of the fourth lie inside the row.
      for (let at = src + n - RADIUS - 1, o = dst + n, end = dst + w - RADIUS - 2; o < end; at += 4, o += 4, n += 4) {
        const s0 = r32(f[at]! + f[at + taps]!);
        const s1 = r32(f[at + 1]! + f[at + taps + 1]!);
        const s2 = r32(f[at + 2]! + f[at + taps + 2]!);
        const s3 = r32(f[at + 3]! + f[at + taps + 3]!);
        const a0 = r32(p10 * a1 + r32(r32(s0 * i10) - a2));
        const aa1 = r32(p11 * a1 + r32(q11 * a2 + r32(i10 * s1 + r32(s0 * i11))));
        const aa2 = r32(p12 * a1 + r32(q12 * a2 + r32(i10 * s2 + r32(i11 * s1 + r32(s0 * i12)))));
        const aa3 = r32(p13 * a1 + r32(q13 * a2 + r32(i10 * s3 + r32(i11 * s2 + r32(i12 * s1 + r32(s0 * i13))))));
        const b0 = r32(p30 * b1 + r32(r32(s0 * i30) - b2));
        const bb1 = r32(p31 * b1 + r32(q31 * b2 + r32(i30 * s1 + r32(s0 * i31))));
        const bb2 = r32(p32 * b1 + r32(q32 * b2 + r32(i30 * s2 + r32(i31 * s1 + r32(s0 * i32)))));
        const bb3 = r32(p33 * b1 + r32(q33 * b2 + r32(i30 * s3 + r32(i31 * s2 + r32(i32 * s1 + r32(s0 * i33))))));
        const k0 = r32(s0 * n25);
        const k1 = r32(s1 * n25);
        const c0 = r32(k0 - c2);
        const cc1 = r32(k1 - c1);
        const cc2 = r32(c2 + r32(n25 * s2 - k0));
        const cc3 = r32(c1 + r32(n25 * s3 - k1));
        f[o] = r32(a0 + r32(b0 + c0));
        f[o + 1] = r32(aa1 + r32(bb1 + cc1));
        f[o + 2] = r32(aa2 + r32(bb2 + cc2));
        f[o + 3] = r32(aa3 + r32(bb3 + cc3));
        a2 = aa2;
        a1 = aa3;
        b2 = bb2;
        b1 = bb3;
        c2 = cc2;
        c1 = cc3;
      }
    }
    const left = n - RADIUS - 1;
    const right = n + RADIUS - 1;
    const sum = r32((left >= 0 ? f[src + left]! : 0) + (right < w ? f[src + right]! : 0));
    const a = r32(p10 * a1 + r32(r32(sum * i10) - a2));
    a2 = a1;
    a1 = a;
    const b = r32(p30 * b1 + r32(r32(sum * i30) - b2));
    b2 = b1;
    b1 = b;
    const c = r32(r32(sum * n25) - c2);
    c2 = c1;
    c1 = c;
    if (n >= 0) f[dst + n] = r32(a + r32(b + c));
  }
}

/**
 * Four steps of the vertical pass (VerticalStrip), output rows n…n+3 to `out`, `out` + stride,
 * …: step k reads the horizontally blurred rows tk and uk (n + k − N − 1 and n + k + N − 1, the
 * zero row outside the image). `state` holds each recursion's last two outputs, six values a
 * column, [a₋₁, a₋₂, b₋₁, b₋₂, c₋₁, c₋₂], read and written once for the four. Two steps at a
 * time, the newer output overwriting the older in place; two columns at a time: one column's
 * steps depend on each other, so a second column's fill the wait. The rows come as arguments:
 * looked up in an array, they would be read again for every column.
 */
export function blurColumns(
  f: Float64Array,
  t0: number,
  t1: number,
  t2: number,
  t3: number,
  u0: number,
  u1: number,
  u2: number,
  u3: number,
  state: number,
  stride: number,
  out: number,
  w: number,
): void {
  const n1 = N2_1,
    n3 = N2_3,
    n5 = N2_5,
    d1 = NEG_D1_1,
    d3 = NEG_D1_3;
  for (let x = 0; x < w; x += 2) {
    // Columns x and y; an odd width's last column is both.
    const y = x + 1 < w ? x + 1 : x;
    const s = state + 6 * x;
    const t = state + 6 * y;
    let a1 = f[s]!,
      e1 = f[t]!,
      a2 = f[s + 1]!,
      e2 = f[t + 1]!,
      b1 = f[s + 2]!,
      g1 = f[t + 2]!,
      b2 = f[s + 3]!,
      g2 = f[t + 3]!,
      c1 = f[s + 4]!,
      h1 = f[t + 4]!,
      c2 = f[s + 5]!,
      h2 = f[t + 5]!;
    // Steps 0 and 1, then 2 and 3.
    for (let pair = 0, o = out; pair < 2; pair++, o += 2 * stride) {
      const first = pair === 0;
      const top = first ? t0 : t2;
      const bottom = first ? u0 : u2;
      const next = first ? t1 : t3;
      const nextBottom = first ? u1 : u3;
      const sum = r32(f[top + x]! + f[bottom + x]!);
      const sum2 = r32(f[top + y]! + f[bottom + y]!);
      const sumNext = r32(f[next + x]! + f[nextBottom + x]!);
      const sumNext2 = r32(f[next + y]! + f[nextBottom + y]!);
      a2 = r32(n1 * sum + r32(d1 * a1 - a2));
      a1 = r32(n1 * sumNext + r32(d1 * a2 - a1));
      e2 = r32(n1 * sum2 + r32(d1 * e1 - e2));
      e1 = r32(n1 * sumNext2 + r32(d1 * e2 - e1));
      b2 = r32(n3 * sum + r32(d3 * b1 - b2));
      b1 = r32(n3 * sumNext + r32(d3 * b2 - b1));
      g2 = r32(n3 * sum2 + r32(d3 * g1 - g2));
      g1 = r32(n3 * sumNext2 + r32(d3 * g2 - g1));
      c2 = r32(n5 * sum - c2);
      c1 = r32(n5 * sumNext - c1);
      h2 = r32(n5 * sum2 - h2);
      h1 = r32(n5 * sumNext2 - h1);
      f[o + x] = r32(a2 + r32(b2 + c2));
      f[o + y] = r32(e2 + r32(g2 + h2));
      f[o + stride + x] = r32(a1 + r32(b1 + c1));
      f[o + stride + y] = r32(e1 + r32(g1 + h1));
    }
    f[s] = a1;
    f[t] = e1;
    f[s + 1] = a2;
    f[t + 1] = e2;
    f[s + 2] = b1;
    f[t + 2] = g1;
    f[s + 3] = b2;
    f[t + 3] = g2;
    f[s + 4] = c1;
    f[t + 4] = h1;
    f[s + 5] = c2;
    f[t + 5] = h2;
  }
}
