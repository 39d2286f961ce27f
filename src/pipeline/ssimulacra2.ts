import type { IndexedImage, RawImage } from '../codecs/types';

/**
 * SSIMULACRA 2 (Jon Sneyers, Cloudinary), ported from libjxl 0.11's `tools/ssimulacra2.cc` with
 * the parts it uses: `tools/gauss_blur.cc` (the recursive Gaussian), `lib/jxl/enc_xyb.cc`,
 * `lib/jxl/cms/opsin_params.h` and `lib/jxl/base/fast_math-inl.h` (XYB),
 * `lib/jxl/cms/transfer_functions-inl.h` (sRGB decoding) and `tools/ssimulacra2_main.cc`
 * (transparency). libjxl: BSD-3-Clause, © the JPEG XL Project Authors.
 *
 * The arithmetic is the reference's, rounding for rounding, as its x86 build computes it (the
 * AVX2 code Highway picks there): the same float taps, the same fused multiply-adds and float
 * intermediates, the same fast cube root and sRGB curve, the same quirks (a scale is computed
 * while the previous one is at least 8 px each way; weights are taken in order however many
 * scales there are). Scores agree with libjxl's tool to the 8 decimals it prints.
 *
 * What differs is the order of work, and the work whose result the score multiplies by 0. The
 * reference holds some 25 full-size float planes; this streams rows through the blur (a block
 * of output rows needs the 14 horizontally blurred rows around it and two rows of filter
 * state), so a comparison holds, per image, its linear RGB below full size (one float plane in
 * all), plus 370 rows of scratch and a 1 MB colour cache: 12.5 MB at 1024 × 1024. A reused
 * opaque reference keeps its XYB at every scale (four float planes), and each comparison
 * against it needs only the candidate's share: 8.3 MB more. The reference blurs five
 * quantities for every channel at every scale, then weighs some of the norms they lead to by
 * 0; this blurs only what a weighted norm needs (at six scales, full size needs the SSIM map
 * for Y alone, the edge maps for X and B), and a kept reference holds img1 − mu1 in place of
 * img1 for a channel that needs only the edge maps, so comparisons blur the candidate alone.
 *
 * Deviations, each where the reference tool refuses or does something else: images under 8 px
 * on a side (the tool refuses them; the library would return 100) are scored at full size
 * alone; transparency in either image scores over a dark and a light background, keeping the
 * worse (the tool does so when the reference has an alpha channel, and flattens a transparent
 * candidate of an opaque reference onto mid grey).
 */

const fr = Math.fround;
/** 2^29 + 1: Veltkamp's splitter for rounding a double's 53-bit significand to float's 24. */
const SPLIT = 536870913;
/**
 * Math.fround for the hot loops: Veltkamp's split keeps the top 24 bits, rounded to nearest,
 * ties to even, as fround does (for normal floats; nothing here comes near 2^−126). V8 makes
 * fround two conversions, which run slower than this multiply and two subtractions.
 */
function r32(x: number): number {
  const c = x * SPLIT;
  return c - (c - x);
}

const NUM_SCALES = 6;
const C2 = fr(0.0009);

// ---- Recursive Gaussian, sigma 1.5 (Charalampidis 2016, as CreateRecursiveGaussian builds it) ----

const SIGMA = 1.5;
/** Filter radius "N" (57): 5 for sigma 1.5. */
const RADIUS = Math.round(3.2795 * SIGMA + 0.2546);
/** Output rows the vertical pass produces at once, its state staying in registers. */
const BLOCK = 4;
/** Horizontally blurred rows a block of vertical steps reads: n − N − 1 … n + BLOCK − 1 + N − 1. */
const BLUR_ROWS = 2 * RADIUS + BLOCK;
/** XYB rows alive at once: the block being output through the newest rows fed to the blur. */
const XYB_ROWS = 2 * BLOCK;

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
function unrolledTaps(i: 0 | 1 | 2): { input: number[]; prev: number[]; prev2: number[] } {
  const n2 = GAUSS.n2[i];
  const d1 = GAUSS.d1[i];
  const d2 = d1 * d1;
  return {
    input: [n2, -d1 * n2, d2 * n2 - n2, -d2 * d1 * n2 + 2 * d1 * n2].map(fr),
    prev: [-d1, d2 - 1, -d2 * d1 + 2 * d1, d2 * d2 - 3 * d2 + 1].map(fr),
    prev2: [-1, d1, -d2 + 1, d2 * d1 - 2 * d1].map(fr),
  };
}
const [TAPS_1, TAPS_3] = [unrolledTaps(0), unrolledTaps(1)];
const [I1_0, I1_1, I1_2, I1_3] = TAPS_1.input as [number, number, number, number];
const [P1_0, P1_1, P1_2, P1_3] = TAPS_1.prev as [number, number, number, number];
const [Q1_0, Q1_1, Q1_2, Q1_3] = TAPS_1.prev2 as [number, number, number, number];
const [I3_0, I3_1, I3_2, I3_3] = TAPS_3.input as [number, number, number, number];
const [P3_0, P3_1, P3_2, P3_3] = TAPS_3.prev as [number, number, number, number];
const [Q3_0, Q3_1, Q3_2, Q3_3] = TAPS_3.prev2 as [number, number, number, number];

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
function blurRow(f: Float64Array, src: number, dst: number, w: number): void {
  let a1 = 0, a2 = 0, b1 = 0, b2 = 0, c1 = 0, c2 = 0;
  let n = 1 - RADIUS;
  for (const end = Math.min(8, w); n < end; n++) {
    const left = n - RADIUS - 1;
    const right = n + RADIUS - 1;
    const sum = r32((left >= 0 ? f[src + left]! : 0) + (right < w ? f[src + right]! : 0));
    const a = r32(P1_0 * a1 + r32(r32(sum * I1_0) - a2));
    const b = r32(P3_0 * b1 + r32(r32(sum * I3_0) - b2));
    const c = r32(r32(sum * N2_5) - c2);
    a2 = a1; a1 = a; b2 = b1; b1 = b; c2 = c1; c1 = c;
    if (n >= 0) f[dst + n] = r32(a + r32(b + c));
  }
  // The taps as locals: V8 keeps them in registers or on the stack instead of rebuilding each
  // constant in every iteration.
  const i10 = I1_0, i11 = I1_1, i12 = I1_2, i13 = I1_3, p10 = P1_0, p11 = P1_1, p12 = P1_2, p13 = P1_3;
  const q11 = Q1_1, q12 = Q1_2, q13 = Q1_3, i30 = I3_0, i31 = I3_1, i32 = I3_2, i33 = I3_3;
  const p30 = P3_0, p31 = P3_1, p32 = P3_2, p33 = P3_3, q31 = Q3_1, q32 = Q3_2, q33 = Q3_3, n25 = N2_5;
  const taps = 2 * RADIUS;
  for (let at = src + n - RADIUS - 1, o = dst + n, end = dst + w - RADIUS - 2; o < end; at += 4, o += 4, n += 4) {
    const s0 = r32(f[at]! + f[at + taps]!);
    const s1 = r32(f[at + 1]! + f[at + taps + 1]!);
    const s2 = r32(f[at + 2]! + f[at + taps + 2]!);
    const s3 = r32(f[at + 3]! + f[at + taps + 3]!);
    // Q1_0 and Q3_0 are −1.
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
    a2 = aa2; a1 = aa3; b2 = bb2; b1 = bb3; c2 = cc2; c1 = cc3;
  }
  for (; n < w; n++) {
    const right = n + RADIUS - 1;
    const sum = r32(f[src + n - RADIUS - 1]! + (right < w ? f[src + right]! : 0));
    const a = r32(P1_0 * a1 + r32(r32(sum * I1_0) - a2));
    const b = r32(P3_0 * b1 + r32(r32(sum * I3_0) - b2));
    const c = r32(r32(sum * N2_5) - c2);
    a2 = a1; a1 = a; b2 = b1; b1 = b; c2 = c1; c1 = c;
    f[dst + n] = r32(a + r32(b + c));
  }
}

/**
 * One step of the vertical pass (VerticalStrip) for a whole row: `top` and `bottom` are the
 * horizontally blurred rows n − N − 1 and n + N − 1 (the zero row outside the image); `state`
 * holds each recursion's last two outputs, six values a column: [a₋₁, a₋₂, b₋₁, b₋₂, c₋₁, c₋₂].
 */
function blurColumnsStep(f: Float64Array, top: number, bottom: number, state: number, out: number, w: number): void {
  const n1 = N2_1, n3 = N2_3, n5 = N2_5, d1 = NEG_D1_1, d3 = NEG_D1_3;
  for (let x = 0, s = state; x < w; x++, s += 6) {
    const sum = r32(f[top + x]! + f[bottom + x]!);
    const a1 = f[s]!, b1 = f[s + 2]!, c1 = f[s + 4]!;
    const a = r32(n1 * sum + r32(d1 * a1 - f[s + 1]!));
    const b = r32(n3 * sum + r32(d3 * b1 - f[s + 3]!));
    const c = r32(n5 * sum - f[s + 5]!);
    f[s] = a; f[s + 1] = a1; f[s + 2] = b; f[s + 3] = b1; f[s + 4] = c; f[s + 5] = c1;
    if (out >= 0) f[out + x] = r32(a + r32(b + c));
  }
}

/**
 * Four steps of the vertical pass, output rows n…n+3 to `out`, `out` + stride, …: the same
 * arithmetic as four blurColumnsStep calls, with the state read and written once. Two columns
 * at a time: one column's four steps depend on each other, so a second column's fill the wait.
 */
function blurColumnsBlock(
  f: Float64Array, t0: number, t1: number, t2: number, t3: number, u0: number, u1: number, u2: number, u3: number,
  state: number, stride: number, out: number, w: number,
): void {
  const n1 = N2_1, n3 = N2_3, n5 = N2_5, d1 = NEG_D1_1, d3 = NEG_D1_3;
  const out1 = out + stride;
  const out2 = out1 + stride;
  const out3 = out2 + stride;
  let x = 0;
  let s = state;
  for (; x + 1 < w; x += 2, s += 12) {
    // Three generations per recursion, renamed from step to step instead of shifted; a…c for
    // column x, e…h for column x + 1.
    let a1 = f[s]!, a2 = f[s + 1]!, b1 = f[s + 2]!, b2 = f[s + 3]!, c1 = f[s + 4]!, c2 = f[s + 5]!;
    let e1 = f[s + 6]!, e2 = f[s + 7]!, g1 = f[s + 8]!, g2 = f[s + 9]!, h1 = f[s + 10]!, h2 = f[s + 11]!;
    let sum = r32(f[t0 + x]! + f[u0 + x]!);
    let sum2 = r32(f[t0 + x + 1]! + f[u0 + x + 1]!);
    let a = r32(n1 * sum + r32(d1 * a1 - a2));
    let e = r32(n1 * sum2 + r32(d1 * e1 - e2));
    let b = r32(n3 * sum + r32(d3 * b1 - b2));
    let g = r32(n3 * sum2 + r32(d3 * g1 - g2));
    let c = r32(n5 * sum - c2);
    let h = r32(n5 * sum2 - h2);
    f[out + x] = r32(a + r32(b + c));
    f[out + x + 1] = r32(e + r32(g + h));
    sum = r32(f[t1 + x]! + f[u1 + x]!);
    sum2 = r32(f[t1 + x + 1]! + f[u1 + x + 1]!);
    a2 = r32(n1 * sum + r32(d1 * a - a1));
    e2 = r32(n1 * sum2 + r32(d1 * e - e1));
    b2 = r32(n3 * sum + r32(d3 * b - b1));
    g2 = r32(n3 * sum2 + r32(d3 * g - g1));
    c2 = r32(n5 * sum - c1);
    h2 = r32(n5 * sum2 - h1);
    f[out1 + x] = r32(a2 + r32(b2 + c2));
    f[out1 + x + 1] = r32(e2 + r32(g2 + h2));
    sum = r32(f[t2 + x]! + f[u2 + x]!);
    sum2 = r32(f[t2 + x + 1]! + f[u2 + x + 1]!);
    a1 = r32(n1 * sum + r32(d1 * a2 - a));
    e1 = r32(n1 * sum2 + r32(d1 * e2 - e));
    b1 = r32(n3 * sum + r32(d3 * b2 - b));
    g1 = r32(n3 * sum2 + r32(d3 * g2 - g));
    c1 = r32(n5 * sum - c);
    h1 = r32(n5 * sum2 - h);
    f[out2 + x] = r32(a1 + r32(b1 + c1));
    f[out2 + x + 1] = r32(e1 + r32(g1 + h1));
    sum = r32(f[t3 + x]! + f[u3 + x]!);
    sum2 = r32(f[t3 + x + 1]! + f[u3 + x + 1]!);
    a = r32(n1 * sum + r32(d1 * a1 - a2));
    e = r32(n1 * sum2 + r32(d1 * e1 - e2));
    b = r32(n3 * sum + r32(d3 * b1 - b2));
    g = r32(n3 * sum2 + r32(d3 * g1 - g2));
    c = r32(n5 * sum - c2);
    h = r32(n5 * sum2 - h2);
    f[out3 + x] = r32(a + r32(b + c));
    f[out3 + x + 1] = r32(e + r32(g + h));
    f[s] = a; f[s + 1] = a1; f[s + 2] = b; f[s + 3] = b1; f[s + 4] = c; f[s + 5] = c1;
    f[s + 6] = e; f[s + 7] = e1; f[s + 8] = g; f[s + 9] = g1; f[s + 10] = h; f[s + 11] = h1;
  }
  if (x < w) {
    for (let k = 0; k < 4; k++) {
      const top = k === 0 ? t0 : k === 1 ? t1 : k === 2 ? t2 : t3;
      const bottom = k === 0 ? u0 : k === 1 ? u1 : k === 2 ? u2 : u3;
      blurColumnsStep(f, top + x, bottom + x, s, out + k * stride + x, 1);
    }
  }
}

// ---- sRGB → linear → XYB, as the reference's colour management and ToXYB compute it ----

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
const LINEAR_OF_BYTE = Float64Array.from({ length: 256 }, (_, v) => linearFromSrgb(fr(v * BYTE_SCALE)));

/** ssimulacra2_main flattens transparency over these two greys (sRGB-encoded) and keeps the worse score. */
const BACKGROUNDS = [fr(0.1), fr(0.9)] as const;
/** Marks opaque images, whose pixels are taken as they are. */
const OPAQUE = -1;

/** AlphaBlend: mixes the encoded sample with the background before decoding to linear. */
function linearOnBackground(v: number, alpha: number, background: number): number {
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
function xybFromLinear(
  src: Float32Array, r0: number, g0: number, b0: number,
  dst: Float64Array, x0: number, y0: number, z0: number, w: number,
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

// ---- Images at each scale ----

interface Scale {
  width: number;
  height: number;
}

/**
 * The sizes the reference computes at: it checks the previous scale (not the new one) against
 * 8 px before halving, so the last scale can be as small as 4 px.
 */
function scaleSizes(width: number, height: number): Scale[] {
  const scales = [{ width, height }];
  while (scales.length < NUM_SCALES) {
    const last = scales[scales.length - 1]!;
    if (last.width < 8 || last.height < 8) break;
    scales.push({ width: (last.width + 1) >> 1, height: (last.height + 1) >> 1 });
  }
  return scales;
}

/** Writes row y of an image, in XYB, into three rows of `dst`. */
type RowWriter = (y: number, dst: Float64Array, o0: number, o1: number, o2: number) => void;
/** Writes row y of an image, in linear RGB, into three rows of `dst`. */
type LinearRowWriter = (y: number, dst: Float32Array, o0: number, o1: number, o2: number) => void;

/** An image at full size, before the pyramid: pixels decoded on demand, a row at a time. */
interface FullSize {
  linearRow: LinearRowWriter;
  xybRow: RowWriter;
}

/**
 * Scratch rows, `stride` (the full width) values each, shared by every scale and both images.
 * Float64, though every value in them is a float32 the reference would hold: reading and
 * writing float64 spares a conversion per access, the roundings are explicit anyway.
 */
class Workspace {
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
 * XYB of the opaque colours met so far, direct-mapped by a hash of the colour. A photo has a
 * few thousand to a few tens of thousands of distinct colours a megapixel, so nearly every
 * full-size pixel is a hit and skips three cube roots.
 */
class ColourCache {
  readonly keys = new Int32Array(1 << 16).fill(-1);
  readonly xyb = new Float32Array(3 << 16);
}

/**
 * Linear-RGB planes for scales 1…: each the 2×2 mean of the one above (Downsample, edge pixels
 * repeated), summed in float in the reference's order. One buffer for all scales, refilled
 * for the second background.
 */
class Pyramid {
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
      const writer: RowWriter = (y, dst, o0, o1, o2) => xybFromLinear(f, r + y * width, g + y * width, b + y * width, dst, o0, o1, o2, width);
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

function rgbaImage(data: Uint8Array | Uint8ClampedArray, width: number, background: number, colours: ColourCache): FullSize {
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
function indexedImage({ indices, palette, width }: IndexedImage, background: number): FullSize {
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
  const through = (table: Float32Array | Float64Array) => (y: number, dst: Float32Array | Float64Array, o0: number, o1: number, o2: number) => {
    for (let x = 0, i = y * width; x < width; x++, i++) {
      const e = indices[i]!;
      dst[o0 + x] = table[e]!;
      dst[o1 + x] = table[entries + e]!;
      dst[o2 + x] = table[2 * entries + e]!;
    }
  };
  return { linearRow: through(linear), xybRow: through(xyb) };
}

// ---- The maps and their norms ----

/**
 * What a channel goes through at one scale ([scale][channel]). The reference computes every
 * map and then weighs some norms by 0 (which ones depends on the number of scales, as the
 * weight index does): at six scales, full size needs the SSIM map for Y only.
 */
const NONE = 0;
/** The edge-difference maps only: mu1 and mu2. */
const EDGES = 1;
/** The SSIM map too: all five blurred quantities. */
const ALL = 2;
/** EDGES against a kept reference whose rows hold img1 − mu1 already: mu2 alone. */
const GIVEN_EDGES = 3;
/** mu1 alone, to make a kept reference's GIVEN_EDGES rows. */
const MU1 = 4;
/** The blurred quantities [FIRST, END) of each mode (0 mu1, 1 mu2, 2 sigma11, 3 sigma22, 4 sigma12). */
const FIRST = [0, 0, 0, 1, 0];
const END = [0, 2, 5, 2, 1];

function mapsNeeded(scaleCount: number): Uint8Array {
  const modes = new Uint8Array(scaleCount * 3);
  for (let c = 0; c < 3; c++) {
    for (let s = 0; s < scaleCount; s++) {
      // score()'s order: six weights per channel and scale, [norm][ssim, artifact, detail lost].
      const i = (c * scaleCount + s) * 6;
      const ssim = WEIGHTS[i] !== 0 || WEIGHTS[i + 3] !== 0;
      const edges = WEIGHTS[i + 1] !== 0 || WEIGHTS[i + 2] !== 0 || WEIGHTS[i + 4] !== 0 || WEIGHTS[i + 5] !== 0;
      modes[s * 3 + c] = ssim ? ALL : edges ? EDGES : NONE;
    }
  }
  return modes;
}

/**
 * Streams `height` rows through the vertical pass of the blur: `feed(last)` must have blurred
 * rows up to `last` horizontally into ws.blurredRow (each channel's quantities as its mode
 * says); `done(c, n, rows)` then finds the blurred rows n… of channel c at ws.out, quantity q
 * at ws.out + q · BLOCK · stride.
 */
function streamBlur(
  ws: Workspace, width: number, height: number, modes: ArrayLike<number>,
  feed: (last: number) => void, done: (c: number, n: number, rows: number) => void,
): void {
  const { f, stride } = ws;
  f.fill(0, ws.state, ws.state + 3 * 5 * 6 * stride);
  // Vertical step n reads horizontally blurred rows n − N − 1 and n + N − 1, zero outside.
  const above = (c: number, q: number, n: number) => (n - RADIUS - 1 >= 0 ? ws.blurredRow(c, q, n - RADIUS - 1) : ws.zero);
  const below = (c: number, q: number, n: number) => (n + RADIUS - 1 < height ? ws.blurredRow(c, q, n + RADIUS - 1) : ws.zero);
  let n = 1 - RADIUS;
  const single = () => {
    feed(n + RADIUS - 1);
    for (let c = 0; c < 3; c++) {
      const mode = modes[c]!;
      if (mode === NONE) continue;
      for (let q = FIRST[mode]!; q < END[mode]!; q++) {
        const state = ws.state + (c * 5 + q) * 6 * stride;
        blurColumnsStep(f, above(c, q, n), below(c, q, n), state, n >= 0 ? ws.out + q * BLOCK * stride : -1, width);
      }
      if (n >= 0) done(c, n, 1);
    }
    n++;
  };
  while (n < 0) single();
  for (; n + BLOCK <= height; n += BLOCK) {
    feed(n + BLOCK + RADIUS - 2);
    for (let c = 0; c < 3; c++) {
      const mode = modes[c]!;
      if (mode === NONE) continue;
      for (let q = FIRST[mode]!; q < END[mode]!; q++) {
        blurColumnsBlock(
          f,
          above(c, q, n), above(c, q, n + 1), above(c, q, n + 2), above(c, q, n + 3),
          below(c, q, n), below(c, q, n + 1), below(c, q, n + 2), below(c, q, n + 3),
          ws.state + (c * 5 + q) * 6 * stride,
          stride,
          ws.out + q * BLOCK * stride,
          width,
        );
      }
      done(c, n, BLOCK);
    }
  }
  while (n < height) single();
}

/**
 * For one scale: streams both images' XYB rows through the blur of the quantities each channel
 * needs (mu1, mu2, sigma11, sigma22, sigma12) and, as each output row completes, adds its SSIM
 * and edge-difference errors. Writes the reference's 6 + 12 averages for the scale to `out`,
 * 0 for the maps not needed.
 */
function scaleNorms(
  ws: Workspace, width: number, height: number, reference: RowWriter, candidate: RowWriter, modes: Uint8Array, out: Float64Array,
): void {
  const f = ws.f;
  const sums = new Float64Array(3 * 6);
  let fed = 0;
  const feed = (last: number) => {
    for (; fed <= last && fed < height; fed++) {
      const y = fed;
      reference(y, f, ws.xybRow(0, 0, y), ws.xybRow(0, 1, y), ws.xybRow(0, 2, y));
      candidate(y, f, ws.xybRow(1, 0, y), ws.xybRow(1, 1, y), ws.xybRow(1, 2, y));
      for (let c = 0; c < 3; c++) {
        const mode = modes[c]!;
        if (mode === NONE) continue;
        const a = ws.xybRow(0, c, y);
        const b = ws.xybRow(1, c, y);
        if (mode !== GIVEN_EDGES) blurRow(f, a, ws.blurredRow(c, 0, y), width);
        blurRow(f, b, ws.blurredRow(c, 1, y), width);
        if (mode !== ALL) continue;
        const p = ws.product;
        for (let x = 0; x < width; x++) f[p + x] = r32(f[a + x]! * f[a + x]!);
        blurRow(f, p, ws.blurredRow(c, 2, y), width);
        for (let x = 0; x < width; x++) f[p + x] = r32(f[b + x]! * f[b + x]!);
        blurRow(f, p, ws.blurredRow(c, 3, y), width);
        for (let x = 0; x < width; x++) f[p + x] = r32(f[a + x]! * f[b + x]!);
        blurRow(f, p, ws.blurredRow(c, 4, y), width);
      }
    }
  };
  const done = (c: number, n: number, rows: number) => {
    const mode = modes[c]!;
    for (let r = 0; r < rows; r++) {
      const row = ws.out + r * ws.stride;
      const gap = BLOCK * ws.stride;
      const img1 = ws.xybRow(0, c, n + r);
      const img2 = ws.xybRow(1, c, n + r);
      if (mode === ALL) rowErrors(f, row, gap, img1, img2, width, sums, c * 6);
      else if (mode === EDGES) rowEdges(f, row, gap, img1, img2, width, sums, c * 6);
      else givenRowEdges(f, row + gap, img1, img2, width, sums, c * 6);
    }
  };
  streamBlur(ws, width, height, modes, feed, done);
  const perPixel = 1 / (width * height);
  for (let c = 0; c < 3; c++) {
    const s = c * 6;
    out[c * 2] = perPixel * sums[s]!;
    out[c * 2 + 1] = Math.sqrt(Math.sqrt(perPixel * sums[s + 1]!));
    out[6 + c * 4] = perPixel * sums[s + 2]!;
    out[6 + c * 4 + 1] = Math.sqrt(Math.sqrt(perPixel * sums[s + 3]!));
    out[6 + c * 4 + 2] = perPixel * sums[s + 4]!;
    out[6 + c * 4 + 3] = Math.sqrt(Math.sqrt(perPixel * sums[s + 5]!));
  }
}

/**
 * Replaces one kept reference plane (`width` × `height` floats at `at`) by img1 − mu1, the
 * float the edge-difference maps take from the reference, for a channel in EDGES mode: its
 * comparisons then blur the candidate alone.
 */
function keepEdgeDifferences(ws: Workspace, plane: Float32Array, at: number, width: number, height: number): void {
  const f = ws.f;
  let fed = 0;
  const feed = (last: number) => {
    for (; fed <= last && fed < height; fed++) {
      const row = ws.xybRow(0, 0, fed);
      for (let x = 0, i = at + fed * width; x < width; x++, i++) f[row + x] = plane[i]!;
      blurRow(f, row, ws.blurredRow(0, 0, fed), width);
    }
  };
  // Row n is rewritten only once the blur has read it (it is fed ahead), from the copy in ws.
  const done = (_c: number, n: number, rows: number) => {
    for (let r = 0; r < rows; r++) {
      const img1 = ws.xybRow(0, 0, n + r);
      const mu1 = ws.out + r * ws.stride;
      for (let x = 0, i = at + (n + r) * width; x < width; x++, i++) plane[i] = r32(f[img1 + x]! - f[mu1 + x]!);
    }
  };
  streamBlur(ws, width, height, [MU1, NONE, NONE], feed, done);
}

/**
 * SSIMMap and EdgeDiffMap for one row of one channel, continuing the sums at sums[at…at+5]; the
 * row's mu1, mu2, sigma11, sigma22 and sigma12 are `gap` apart from `out`.
 */
function rowErrors(f: Float64Array, out: number, gap: number, img1: number, img2: number, w: number, sums: Float64Array, at: number): void {
  const m1 = out;
  const m2 = out + gap;
  const s11 = out + 2 * gap;
  const s22 = out + 3 * gap;
  const s12 = out + 4 * gap;
  // The image-wide sums run in the reference's order (row by row, left to right).
  let ssim = sums[at]!, ssim4 = sums[at + 1]!, artifact = sums[at + 2]!, artifact4 = sums[at + 3]!;
  let lost = sums[at + 4]!, lost4 = sums[at + 5]!;
  for (let x = 0; x < w; x++) {
    const mu1 = f[m1 + x]!;
    const mu2 = f[m2 + x]!;
    // Without SSIM's luminance denominator: ssimulacra2 drops it on purpose (values are already
    // perceptually uniform), so the mean term is just 1 − (mu1 − mu2)².
    const dm = r32(mu1 - mu2);
    const numM = r32(1 - r32(dm * dm));
    const numS = r32(2 * r32(f[s12 + x]! - r32(mu1 * mu2)) + C2);
    const denomS = r32(r32(r32(f[s11 + x]! - r32(mu1 * mu1)) + r32(f[s22 + x]! - r32(mu2 * mu2))) + C2);
    const d = 1 - r32(r32(numM * numS) / denomS);
    // max(d, 0) without a branch, which would be a coin toss in smooth areas: (d + |d|) / 2 is exact.
    const dp = (d + Math.abs(d)) * 0.5;
    const dp2 = dp * dp;
    ssim += dp;
    ssim4 += dp2 * dp2;
    const e = (1 + Math.abs(r32(f[img2 + x]! - mu2))) / (1 + Math.abs(r32(f[img1 + x]! - mu1))) - 1;
    // e > 0: the candidate has an edge where the reference is smooth (ringing, banding, blocks);
    // e < 0: the reference has an edge the candidate smoothed away (blur, smearing).
    const up = (e + Math.abs(e)) * 0.5;
    const down = (Math.abs(e) - e) * 0.5;
    const up2 = up * up;
    const down2 = down * down;
    artifact += up;
    artifact4 += up2 * up2;
    lost += down;
    lost4 += down2 * down2;
  }
  sums[at] = ssim;
  sums[at + 1] = ssim4;
  sums[at + 2] = artifact;
  sums[at + 3] = artifact4;
  sums[at + 4] = lost;
  sums[at + 5] = lost4;
}

/** EdgeDiffMap alone for one row (rowErrors without the SSIM map), continuing sums[at+2…at+5]. */
function rowEdges(f: Float64Array, out: number, gap: number, img1: number, img2: number, w: number, sums: Float64Array, at: number): void {
  const m1 = out;
  const m2 = out + gap;
  let artifact = sums[at + 2]!, artifact4 = sums[at + 3]!, lost = sums[at + 4]!, lost4 = sums[at + 5]!;
  for (let x = 0; x < w; x++) {
    const e = (1 + Math.abs(r32(f[img2 + x]! - f[m2 + x]!))) / (1 + Math.abs(r32(f[img1 + x]! - f[m1 + x]!))) - 1;
    const up = (e + Math.abs(e)) * 0.5;
    const down = (Math.abs(e) - e) * 0.5;
    const up2 = up * up;
    const down2 = down * down;
    artifact += up;
    artifact4 += up2 * up2;
    lost += down;
    lost4 += down2 * down2;
  }
  sums[at + 2] = artifact;
  sums[at + 3] = artifact4;
  sums[at + 4] = lost;
  sums[at + 5] = lost4;
}

/** rowEdges against a kept reference: its row holds img1 − mu1 (`diff1`), mu2 is at `mu2`. */
function givenRowEdges(f: Float64Array, mu2: number, diff1: number, img2: number, w: number, sums: Float64Array, at: number): void {
  let artifact = sums[at + 2]!, artifact4 = sums[at + 3]!, lost = sums[at + 4]!, lost4 = sums[at + 5]!;
  for (let x = 0; x < w; x++) {
    const e = (1 + Math.abs(r32(f[img2 + x]! - f[mu2 + x]!))) / (1 + Math.abs(f[diff1 + x]!)) - 1;
    const up = (e + Math.abs(e)) * 0.5;
    const down = (Math.abs(e) - e) * 0.5;
    const up2 = up * up;
    const down2 = down * down;
    artifact += up;
    artifact4 += up2 * up2;
    lost += down;
    lost4 += down2 * down2;
  }
  sums[at + 2] = artifact;
  sums[at + 3] = artifact4;
  sums[at + 4] = lost;
  sums[at + 5] = lost4;
}

// ---- The score ----

const WEIGHTS = [
  0.0, 0.0007376606707406586, 0.0, 0.0, 0.0007793481682867309, 0.0, 0.0, 0.0004371155730107379, 0.0,
  1.1041726426657346, 0.00066284834129271, 0.00015231632783718752, 0.0, 0.0016406437456599754, 0.0,
  1.8422455520539298, 11.441172603757666, 0.0, 0.0007989109436015163, 0.000176816438078653, 0.0,
  1.8787594979546387, 10.94906990605142, 0.0, 0.0007289346991508072, 0.9677937080626833, 0.0,
  0.00014003424285435884, 0.9981766977854967, 0.00031949755934435053, 0.0004550992113792063, 0.0, 0.0,
  0.0013648766163243398, 0.0, 0.0, 0.0, 0.0, 0.0, 7.466890328078848, 0.0, 17.445833984131262,
  0.0006235601634041466, 0.0, 0.0, 6.683678146179332, 0.00037724407979611296, 1.027889937768264,
  225.20515300849274, 0.0, 0.0, 19.213238186143016, 0.0011401524586618361, 0.001237755635509985,
  176.39317598450694, 0.0, 0.0, 24.43300999870476, 0.28520802612117757, 0.0004485436923833408, 0.0, 0.0,
  0.0, 34.77906344483772, 44.835625328877896, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
  0.0008680556573291698, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0005313191874358747, 0.0, 0.00016533814161379112,
  0.0, 0.0, 0.0, 0.0, 0.0, 0.0004179171803251336, 0.0017290828234722833, 0.0, 0.0020827005846636437,
  0.0, 0.0, 8.826982764996862, 23.19243343998926, 0.0, 95.1080498811086, 0.9863978034400682,
  0.9834382792465353, 0.0012286405048278493, 171.2667255897307, 0.9807858872435379, 0.0, 0.0, 0.0,
  0.0005130064588990679, 0.0, 0.00010854057858411537,
];

/** Msssim::Score over per-scale norms laid out as scaleNorms writes them (18 a scale). */
function score(norms: Float64Array, scaleCount: number): number {
  let ssim = 0;
  let i = 0;
  // The weight index runs on regardless of the scale count, as in the reference: with fewer
  // than six scales a channel's terms pick up the next channel's weights.
  for (let c = 0; c < 3; c++) {
    for (let s = 0; s < scaleCount; s++) {
      const at = s * 18;
      for (let n = 0; n < 2; n++) {
        ssim += WEIGHTS[i++]! * Math.abs(norms[at + c * 2 + n]!);
        ssim += WEIGHTS[i++]! * Math.abs(norms[at + 6 + c * 4 + n]!);
        ssim += WEIGHTS[i++]! * Math.abs(norms[at + 6 + c * 4 + n + 2]!);
      }
    }
  }
  ssim *= 0.9562382616834844;
  ssim = 2.326765642916932 * ssim - 0.020884521182843837 * ssim * ssim + 6.248496625763138e-5 * ssim * ssim * ssim;
  return ssim > 0 ? 100 - 10 * Math.pow(ssim, 0.6276336467831387) : 100;
}

// ---- Entry points ----

/** SSIMULACRA 2 of `candidate` against `reference`: 100 = identical, ~90 visually lossless at 1:1, ~70 high quality, ~50 medium; can go negative. */
export function ssimulacra2(reference: RawImage, candidate: RawImage): number {
  checkSize(reference, candidate);
  const { width, height } = reference;
  const scales = scaleSizes(width, height);
  const ws = new Workspace(width);
  const referencePyramid = new Pyramid(scales);
  const candidatePyramid = new Pyramid(scales);
  return worstOver(backgroundsFor(isOpaque(reference.data), isOpaque(candidate.data)), (background) => {
    const referenceImage = rgbaImage(reference.data, width, background, ws.colours);
    const candidateImage = rgbaImage(candidate.data, width, background, ws.colours);
    return scoreScales(
      ws,
      scales,
      referencePyramid.fill(referenceImage.linearRow, ws.linear).xybRows(referenceImage.xybRow),
      candidatePyramid.fill(candidateImage.linearRow, ws.linear).xybRows(candidateImage.xybRow),
    );
  });
}

/** Scores many candidates against one reference whose conversion and per-scale statistics are computed once. Palette images are scored through their palette without being expanded to RGBA. */
export function ssimulacra2Against(reference: RawImage): (candidate: RawImage | IndexedImage) => number {
  const { width, height } = reference;
  const scales = scaleSizes(width, height);
  const referenceOpaque = isOpaque(reference.data);
  // An opaque reference looks the same over any background: its XYB at every scale is kept (the
  // smaller scales add a third), so a comparison converts only the candidate. Where a channel
  // needs only the edge-difference maps, img1 − mu1 is kept in place of img1, and comparisons
  // blur the candidate alone. One with transparency differs per background, so a copy of its
  // pixels is kept instead (the caller may reuse its buffer).
  let kept: RowWriter[] | undefined;
  let keptModes: Uint8Array | undefined;
  let referencePixels: Uint8Array | undefined;
  if (referenceOpaque) {
    const ws = new Workspace(width);
    const image = rgbaImage(reference.data, width, OPAQUE, ws.colours);
    const smaller = new Pyramid(scales).fill(image.linearRow, ws.linear).keepXyb();
    const all = [planes(image.xybRow, width, height), ...smaller];
    keptModes = mapsNeeded(scales.length);
    all.forEach((p, s) => {
      for (let c = 0; c < 3; c++) {
        if (keptModes![s * 3 + c] !== EDGES) continue;
        keepEdgeDifferences(ws, p.f, p.offset + c * p.width * p.height, p.width, p.height);
        keptModes![s * 3 + c] = GIVEN_EDGES;
      }
    });
    kept = all.map(planeReader);
  } else {
    referencePixels = Uint8Array.from(reference.data);
  }

  return (candidate) => {
    checkSize(reference, candidate);
    const indexed = 'indices' in candidate;
    const ws = new Workspace(width);
    const candidatePyramid = new Pyramid(scales);
    const referencePyramid = kept ? undefined : new Pyramid(scales);
    const candidateOpaque = indexed ? isIndexedOpaque(candidate) : isOpaque(candidate.data);
    return worstOver(backgroundsFor(referenceOpaque, candidateOpaque), (background) => {
      let referenceRows = kept;
      if (!referenceRows) {
        const image = rgbaImage(referencePixels!, width, background, ws.colours);
        referenceRows = referencePyramid!.fill(image.linearRow, ws.linear).xybRows(image.xybRow);
      }
      const image = indexed ? indexedImage(candidate, background) : rgbaImage(candidate.data, width, background, ws.colours);
      const candidateRows = candidatePyramid.fill(image.linearRow, ws.linear).xybRows(image.xybRow);
      return scoreScales(ws, scales, referenceRows, candidateRows, keptModes);
    });
  };
}

/** Three float planes of width × height, one after another from `offset`. */
interface Planes {
  f: Float32Array;
  offset: number;
  width: number;
  height: number;
}

/** Stores the rows `source` writes as float planes. */
function planes(source: RowWriter, width: number, height: number): Planes {
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
function planeReader({ f, offset, width, height }: Planes): RowWriter {
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

function scoreScales(ws: Workspace, scales: Scale[], reference: RowWriter[], candidate: RowWriter[], modes = mapsNeeded(scales.length)): number {
  const norms = new Float64Array(scales.length * 18);
  scales.forEach(({ width, height }, s) => {
    scaleNorms(ws, width, height, reference[s]!, candidate[s]!, modes.subarray(3 * s, 3 * s + 3), norms.subarray(s * 18, s * 18 + 18));
  });
  return score(norms, scales.length);
}

/** Transparency anywhere means scoring over both backgrounds (ssimulacra2_main keeps the worse). */
function backgroundsFor(referenceOpaque: boolean, candidateOpaque: boolean): readonly number[] {
  return referenceOpaque && candidateOpaque ? [OPAQUE] : BACKGROUNDS;
}

function worstOver(backgrounds: readonly number[], scoreOn: (background: number) => number): number {
  let worst = Infinity;
  for (const background of backgrounds) worst = Math.min(worst, scoreOn(background));
  return worst;
}

function checkSize(reference: RawImage, candidate: RawImage | IndexedImage): void {
  if (candidate.width !== reference.width || candidate.height !== reference.height) {
    throw new Error(`cannot score ${candidate.width}×${candidate.height} against ${reference.width}×${reference.height}`);
  }
}

function isOpaque(data: Uint8Array | Uint8ClampedArray): boolean {
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

function isIndexedOpaque({ indices, palette }: IndexedImage): boolean {
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
