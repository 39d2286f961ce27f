import type { ImageFormat } from '../schemas/options';

/**
 * Peak memory one compression adds to an isolate, as an upper bound fitted to
 * `npm run bench:memory` readings at 2 to 12 MP (README, "Memory"): peak MiB ≈ fixed +
 * perMegapixel × MP, by output format, with every reading at or under the line. JPEG and PNG
 * are nearly flat because large images take the memory-lean paths (`MEMORY_THRESHOLDS` in
 * `src/codecs/wasm.ts`); WebP and AVIF encoders hold whole images. Re-measure after changing it.
 */
export const PEAK_MEMORY_MIB: Record<ImageFormat, { fixed: number; perMegapixel: number }> = {
  jpeg: { fixed: 107, perMegapixel: 1.6 },
  webp: { fixed: 58, perMegapixel: 13.4 },
  png: { fixed: 108, perMegapixel: 1.6 },
  avif: { fixed: 30, perMegapixel: 60 },
};

/** What one compression may use: an isolate's 128 MB, read as MiB as Cloudflare's limits are, the bound the performance issue sets for peak growth. */
export const MEMORY_BUDGET_MIB = 128;

/** Readings went up to 12 MP; limits do not extrapolate past what was measured. */
const MEASURED_UP_TO_PIXELS = 12_000_000;

/**
 * Enlarging costs more than decoding an image of the output's size: the source's decode and a
 * new full-size output are both held. Readings with an enlarging `width` (README, "Memory"):
 * JPEG and PNG 84–110 MiB up to 8.2 MP, 136–167 from 9.6 MP; WebP 103 at 3.5 MP, 125 at 4.2,
 * 153 at 4.8; AVIF 102 at 1.0 MP, 132 at 1.3. An enlarged output is held to these sizes.
 */
export const ENLARGED_MAX_PIXELS: Record<ImageFormat, number> = { jpeg: 8_000_000, png: 8_000_000, webp: 3_500_000, avif: 1_000_000 };

/** What compressing an image of `pixels` (the larger of input and output) to `format` is predicted to add to an isolate at its peak. */
export function predictedPeakMiB(format: ImageFormat, pixels: number): number {
  const { fixed, perMegapixel } = PEAK_MEMORY_MIB[format];
  return fixed + (perMegapixel * pixels) / 1e6;
}

/** The largest image (input or output, in pixels) whose compression to `format` fits the budget. */
export function maxPixelsWithinBudget(format: ImageFormat, budgetMiB = MEMORY_BUDGET_MIB): number {
  const { fixed, perMegapixel } = PEAK_MEMORY_MIB[format];
  return Math.max(0, Math.min(MEASURED_UP_TO_PIXELS, Math.floor(((budgetMiB - fixed) / perMegapixel) * 1e6)));
}
