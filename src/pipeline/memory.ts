import type { ImageFormat } from '../schemas/options';

/**
 * Peak memory one compression adds to an isolate, as an upper bound fitted to
 * `npm run bench:memory` readings (README, "Memory"): peak MiB ≈ fixed + perMegapixel × MP,
 * by output format, with every measured point at or under the line. The figures are this
 * design's (a fresh codec instance per operation, RGBA pixels); re-measure after changing it.
 */
export const PEAK_MEMORY_MIB: Record<ImageFormat, { fixed: number; perMegapixel: number }> = {
  jpeg: { fixed: 6, perMegapixel: 21.5 },
  webp: { fixed: 15, perMegapixel: 17.3 },
  png: { fixed: 8, perMegapixel: 27.3 },
  avif: { fixed: 60, perMegapixel: 30.6 },
};

/** What one compression may use of the 128 MB isolate; the rest is the isolate's own heap and code. */
export const MEMORY_BUDGET_MIB = 100;

/** What compressing an image of `pixels` (the larger of input and output) to `format` is predicted to add to an isolate at its peak. */
export function predictedPeakMiB(format: ImageFormat, pixels: number): number {
  const { fixed, perMegapixel } = PEAK_MEMORY_MIB[format];
  return fixed + (perMegapixel * pixels) / 1e6;
}

/** The largest image (input or output, in pixels) whose compression to `format` fits the budget. */
export function maxPixelsWithinBudget(format: ImageFormat, budgetMiB = MEMORY_BUDGET_MIB): number {
  const { fixed, perMegapixel } = PEAK_MEMORY_MIB[format];
  return Math.max(0, Math.floor(((budgetMiB - fixed) / perMegapixel) * 1e6));
}
