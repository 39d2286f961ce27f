import type { ImageFormat } from '../../schemas/options';

// The measured memory lines: what one compression adds to an isolate at its peak. The readings
// behind each are in docs/measurements.md, "The lines and the readings behind them".

/** A fitted line: peak MiB ≈ fixed + perMegapixel × MP. */
type Line = { fixed: number; perMegapixel: number };
const lineAt = ({ fixed, perMegapixel }: Line, pixels: number) => fixed + (perMegapixel * pixels) / 1e6;
const lineLimit = ({ fixed, perMegapixel }: Line, budgetMiB: number) => Math.floor(((budgetMiB - fixed) / perMegapixel) * 1e6);

/**
 * What decides a compression's memory: the output format, and for lossless WebP more: libwebp's
 * lossless encoder holds an ARGB copy, a hash chain and backward references for the whole image.
 * AVIF needs no profile of its own for transparency or for an AVIF input: its grid cells bound
 * the alpha encoder's memory as they do the colour's, and an AVIF input's decoder has its own
 * line (`INPUT_PEAK_MEMORY_MIB`).
 */
export type MemoryProfile = ImageFormat | 'webp-lossless';

export interface OutputTraits {
  lossless: boolean;
  /** The input, where its decoding holds more than a JPEG's or PNG's. */
  input?: InputKind;
}

export function memoryProfile(format: ImageFormat, { lossless }: OutputTraits): MemoryProfile {
  return format === 'webp' && lossless ? 'webp-lossless' : format;
}

/**
 * Peak memory one compression adds to an isolate, as an upper bound fitted to
 * `npm run bench:memory` readings (docs/measurements.md, "Memory"): peak MiB ≈ fixed + perMegapixel × MP,
 * with every reading at or under the line. JPEG, PNG and lossy WebP are nearly flat because
 * large images take the memory-lean paths (`MEMORY_THRESHOLDS` in `src/codecs/thresholds.ts`, the
 * banded WebP encoder and its alpha coder); lossless WebP holds whole images several times over,
 * and AVIF holds one grid cell's encoder (`src/codecs/avif/encoder.ts`) beside a smart search's
 * decoder and scorer. Re-measure after changing any of it.
 */
export const PEAK_MEMORY_MIB: Record<MemoryProfile, Line> = {
  jpeg: { fixed: 107, perMegapixel: 1.6 },
  webp: { fixed: 72, perMegapixel: 4.5 },
  'webp-lossless': { fixed: 31, perMegapixel: 28 },
  png: { fixed: 108, perMegapixel: 1.6 },
  // Photos, artwork, screenshots and transparent images alike (docs/avif.md, "Memory").
  avif: { fixed: 105, perMegapixel: 1.6 },
};

/**
 * Inputs whose decoding holds more than a JPEG's or PNG's (on which the lines above were
 * measured): libavif's decoder keeps the AV1 frame, its reference buffers and the RGB
 * conversion, with a second plane for alpha; libwebp's lossless decoder keeps ARGB and its
 * transforms' buffers, and its lossy one decodes an alpha channel whole, through a lossless
 * decoder's 4 bytes a pixel. Their own lines, fitted to whole compressions of such inputs to JPEG,
 * PNG and WebP (docs/measurements.md, "Memory"), bound the input's pixels.
 */
export type InputKind = 'avif' | 'avif-alpha' | 'webp-lossless' | 'webp-alpha';

export const INPUT_PEAK_MEMORY_MIB: Record<InputKind, Line> = {
  avif: { fixed: 72, perMegapixel: 28 },
  'avif-alpha': { fixed: 40, perMegapixel: 56 },
  'webp-lossless': { fixed: 100, perMegapixel: 6.2 },
  'webp-alpha': { fixed: 24, perMegapixel: 13.5 },
};

export function inputKind(format: ImageFormat, { alpha, lossless }: { alpha: boolean; lossless: boolean }): InputKind | undefined {
  if (format === 'avif') return alpha ? 'avif-alpha' : 'avif';
  if (format === 'webp' && lossless) return 'webp-lossless';
  if (format === 'webp' && alpha) return 'webp-alpha';
  return undefined;
}

/** What decoding an input of `kind` and `pixels` is predicted to add at the compression's peak. */
export function predictedInputPeakMiB(kind: InputKind | undefined, pixels: number): number {
  return kind ? lineAt(INPUT_PEAK_MEMORY_MIB[kind], pixels) : 0;
}

/** The largest input of `kind` that fits the budget (any input of another kind: no limit of its own). */
export function maxInputPixelsWithinBudget(kind: InputKind | undefined, budgetMiB = MEMORY_BUDGET_MIB): number {
  return kind ? Math.max(0, Math.min(MEASURED_UP_TO_PIXELS, lineLimit(INPUT_PEAK_MEMORY_MIB[kind], budgetMiB))) : Infinity;
}

/**
 * A heavy decoder and a heavy encoder in one compression hold both heaps at once, and the
 * larger of their two lines fell short by up to 9 MiB (a transparent 0.57 MP AVIF to AVIF read
 * 135.7 against 126.9; a 2 MP AVIF to lossless WebP 128.7 against 128; a transparent 3.4 MP
 * lossless WebP to lossless WebP 126.8 against 126.2). Such pairs add this margin.
 */
export const HEAVY_PAIR_MARGIN_MIB = 10;
const HEAVY_OUTPUTS: ReadonlySet<MemoryProfile> = new Set(['webp-lossless', 'avif']);

export function pairMarginMiB(profile: MemoryProfile, input: InputKind | undefined): number {
  return input && HEAVY_OUTPUTS.has(profile) ? HEAVY_PAIR_MARGIN_MIB : 0;
}

/** What one compression may use: an isolate's 128 MB, read as MiB as Cloudflare's limits are, the bound the performance issue sets for peak growth. */
export const MEMORY_BUDGET_MIB = 128;

/** Readings went up to 12 MP; limits do not extrapolate past what was measured. */
const MEASURED_UP_TO_PIXELS = 12_000_000;

/**
 * Enlarging costs more than decoding an image of the output's size: the source's decode and a
 * new full-size output are both held. Readings with an enlarging `width` (docs/measurements.md, "Memory"):
 * JPEG and PNG 84–110 MiB up to 8.2 MP, 136–167 from 9.6 MP; WebP 90–97 at 8 MP, 104–115 at
 * 10.7; AVIF 92–96 at 7.7 MP. An enlarged output, in any format, is held to 8 MP.
 */
export const ENLARGED_MAX_PIXELS = 8_000_000;

/**
 * The profile a special one adds to: lossless WebP was measured from 0.2 MP up, and below that
 * its line falls under that of the lossy work it includes.
 */
const BASE_PROFILES: Partial<Record<MemoryProfile, MemoryProfile[]>> = { 'webp-lossless': ['webp'] };

/** A profile's line and those of the profiles it adds to, down to its format's. */
const linesOf = (profile: MemoryProfile): Line[] => [PEAK_MEMORY_MIB[profile], ...(BASE_PROFILES[profile] ?? []).flatMap(linesOf)];

/** What compressing an image of `pixels` (the larger of input and output) with `profile` is predicted to add to an isolate at its peak. */
export function predictedPeakMiB(profile: MemoryProfile, pixels: number): number {
  return Math.max(...linesOf(profile).map((line) => lineAt(line, pixels)));
}

/** The largest image (input or output, in pixels) whose compression with `profile` fits the budget. */
export function maxPixelsWithinBudget(profile: MemoryProfile, budgetMiB = MEMORY_BUDGET_MIB): number {
  return Math.max(0, Math.min(MEASURED_UP_TO_PIXELS, ...linesOf(profile).map((line) => lineLimit(line, budgetMiB))));
}
