// The SSIM and edge-difference maps of a scale and their norms, and the edge differences a
// kept reference holds in place of its pixels.

import { BLOCK, blurRow } from './blur';
import { fr, r32 } from './rounding';
import { WEIGHTS } from './score';
import { ALL, EDGES, GIVEN_EDGES, MU1, NONE, type Workspace, streamBlur } from './stream';
import type { RowWriter } from './xyb';

const C2 = fr(0.0009);

export function mapsNeeded(scaleCount: number): Uint8Array {
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
 * For one scale: streams both images' XYB rows through the blur of the quantities each channel
 * needs (mu1, mu2, sigma11, sigma22, sigma12) and, as each output row completes, adds its SSIM
 * and edge-difference errors. Writes the reference's 6 + 12 averages for the scale to `out`,
 * 0 for the maps not needed.
 */
export function scaleNorms(
  ws: Workspace,
  width: number,
  height: number,
  reference: RowWriter,
  candidate: RowWriter,
  modes: Uint8Array,
  out: Float64Array,
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
      if (mode === ALL) rowSsim(f, row, BLOCK * ws.stride, width, sums, c * 6);
      // A kept reference's row holds img1 − mu1 already: the zero row stands for its mu1.
      const mu1 = mode === GIVEN_EDGES ? ws.zero : row;
      rowEdges(f, mu1, row + BLOCK * ws.stride, ws.xybRow(0, c, n + r), ws.xybRow(1, c, n + r), width, sums, c * 6 + 2);
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
export function keepEdgeDifferences(ws: Workspace, plane: Float32Array, at: number, width: number, height: number): void {
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
 * SSIMMap for one row of one channel, continuing the sums at sums[at], sums[at + 1] (image-wide
 * sums run in the reference's order: row by row, left to right); the row's mu1, mu2, sigma11,
 * sigma22 and sigma12 are `gap` apart from `out`.
 */
function rowSsim(f: Float64Array, out: number, gap: number, w: number, sums: Float64Array, at: number): void {
  const m1 = out;
  const m2 = out + gap;
  const s11 = out + 2 * gap;
  const s22 = out + 3 * gap;
  const s12 = out + 4 * gap;
  let ssim = sums[at]!;
  let ssim4 = sums[at + 1]!;
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
  }
  sums[at] = ssim;
  sums[at + 1] = ssim4;
}

/** EdgeDiffMap for one row of one channel, continuing the sums at sums[at…at+3]. */
function rowEdges(f: Float64Array, mu1: number, mu2: number, img1: number, img2: number, w: number, sums: Float64Array, at: number): void {
  let artifact = sums[at]!;
  let artifact4 = sums[at + 1]!;
  let lost = sums[at + 2]!;
  let lost4 = sums[at + 3]!;
  for (let x = 0; x < w; x++) {
    const e = (1 + Math.abs(r32(f[img2 + x]! - f[mu2 + x]!))) / (1 + Math.abs(r32(f[img1 + x]! - f[mu1 + x]!))) - 1;
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
  sums[at] = artifact;
  sums[at + 1] = artifact4;
  sums[at + 2] = lost;
  sums[at + 3] = lost4;
}
