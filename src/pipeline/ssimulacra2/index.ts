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

import type { IndexedImage, RawImage } from '../../codecs/types';
import { type Scale, Pyramid, planeReader, planes, scaleSizes } from './downscale';
import { indexedImage, isIndexedOpaque, isOpaque, rgbaImage } from './images';
import { keepEdgeDifferences, mapsNeeded, scaleNorms } from './maps';
import { score } from './score';
import { EDGES, GIVEN_EDGES, Workspace } from './stream';
import { BACKGROUNDS, OPAQUE, type RowWriter } from './xyb';

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
  // One workspace for the reference and every comparison: a search's trials would otherwise each
  // leave theirs behind as garbage, which the runtime need not collect before the final encode.
  const ws = new Workspace(width);
  if (referenceOpaque) {
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

  const candidatePyramid = new Pyramid(scales);
  const referencePyramid = kept ? undefined : new Pyramid(scales);
  return (candidate) => {
    checkSize(reference, candidate);
    const indexed = 'indices' in candidate;
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

function scoreScales(
  ws: Workspace,
  scales: Scale[],
  reference: RowWriter[],
  candidate: RowWriter[],
  modes = mapsNeeded(scales.length),
): number {
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
