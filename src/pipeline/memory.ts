import type { ImageFormat } from '../schemas/options';

/**
 * What decides a compression's memory: the output format, and for two of them more. Lossless
 * WebP runs libwebp's lossless encoder (an ARGB copy, a hash chain and backward references for
 * the whole image); AVIF with transparency runs a second AV1 encoder for the alpha plane.
 */
export type MemoryProfile = ImageFormat | 'webp-lossless' | 'avif-alpha';

export interface OutputTraits {
  lossless: boolean;
  /** Whether the image has transparency (before decoding: whether it may). */
  alpha: boolean;
}

export function memoryProfile(format: ImageFormat, { lossless, alpha }: OutputTraits): MemoryProfile {
  if (format === 'webp' && lossless) return 'webp-lossless';
  if (format === 'avif' && alpha) return 'avif-alpha';
  return format;
}

/**
 * Peak memory one compression adds to an isolate, as an upper bound fitted to
 * `npm run bench:memory` readings (README, "Memory"): peak MiB ≈ fixed + perMegapixel × MP,
 * with every reading at or under the line. JPEG, PNG and lossy WebP are nearly flat because
 * large images take the memory-lean paths (`MEMORY_THRESHOLDS` in `src/codecs/wasm.ts`, the
 * banded WebP encoder and its alpha coder); lossless WebP and AVIF hold whole images several
 * times over. Re-measure after changing any of it.
 */
export const PEAK_MEMORY_MIB: Record<MemoryProfile, { fixed: number; perMegapixel: number }> = {
  jpeg: { fixed: 107, perMegapixel: 1.6 },
  webp: { fixed: 72, perMegapixel: 4.5 },
  'webp-lossless': { fixed: 31, perMegapixel: 28 },
  png: { fixed: 108, perMegapixel: 1.6 },
  avif: { fixed: 30, perMegapixel: 60 },
  'avif-alpha': { fixed: 10, perMegapixel: 205 },
};

/** What one compression may use: an isolate's 128 MB, read as MiB as Cloudflare's limits are, the bound the performance issue sets for peak growth. */
export const MEMORY_BUDGET_MIB = 128;

/** Readings went up to 12 MP; limits do not extrapolate past what was measured. */
const MEASURED_UP_TO_PIXELS = 12_000_000;

/**
 * Enlarging costs more than decoding an image of the output's size: the source's decode and a
 * new full-size output are both held. Readings with an enlarging `width` (README, "Memory"):
 * JPEG and PNG 84–110 MiB up to 8.2 MP, 136–167 from 9.6 MP; WebP 90–97 at 8 MP, 104–115 at
 * 10.7; AVIF 102 at 1.0 MP, 132 at 1.3. An enlarged output is held to these sizes.
 */
export const ENLARGED_MAX_PIXELS: Record<ImageFormat, number> = { jpeg: 8_000_000, png: 8_000_000, webp: 8_000_000, avif: 1_000_000 };

/**
 * The profile a special one adds to: lossless WebP and transparent AVIF were measured from
 * 0.2 MP up, and below that their lines fall under their format's, whose work they include.
 */
const BASE_PROFILE: Partial<Record<MemoryProfile, ImageFormat>> = { 'webp-lossless': 'webp', 'avif-alpha': 'avif' };

type Line = { fixed: number; perMegapixel: number };
const lineAt = ({ fixed, perMegapixel }: Line, pixels: number) => fixed + (perMegapixel * pixels) / 1e6;
const lineLimit = ({ fixed, perMegapixel }: Line, budgetMiB: number) => Math.floor(((budgetMiB - fixed) / perMegapixel) * 1e6);
const linesOf = (profile: MemoryProfile): Line[] => [PEAK_MEMORY_MIB[profile], ...(BASE_PROFILE[profile] ? [PEAK_MEMORY_MIB[BASE_PROFILE[profile]!]] : [])];

/** What compressing an image of `pixels` (the larger of input and output) with `profile` is predicted to add to an isolate at its peak. */
export function predictedPeakMiB(profile: MemoryProfile, pixels: number): number {
  return Math.max(...linesOf(profile).map((line) => lineAt(line, pixels)));
}

/** The largest image (input or output, in pixels) whose compression with `profile` fits the budget. */
export function maxPixelsWithinBudget(profile: MemoryProfile, budgetMiB = MEMORY_BUDGET_MIB): number {
  return Math.max(0, Math.min(MEASURED_UP_TO_PIXELS, ...linesOf(profile).map((line) => lineLimit(line, budgetMiB))));
}
