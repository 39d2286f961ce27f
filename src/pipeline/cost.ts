import type { ImageFormat } from '../schemas/options';

/**
 * Compression time per megapixel by output format, from `npm run bench:memory` timings
 * (one request at a time in wrangler dev on the benchmark machine, README "Memory"):
 * 12 MP took JPEG 1.26 s, WebP 1.0 s, PNG 7.6 s, AVIF 5.0 s.
 */
export const SECONDS_PER_MEGAPIXEL: Record<ImageFormat, number> = { jpeg: 0.11, webp: 0.09, png: 0.64, avif: 0.42 };

/** Queue pick-up and storage round trips, measured as the floor of a tiny async job locally. */
const QUEUE_OVERHEAD_SECONDS = 1;
/** For a URL not fetched yet, nothing is known of the image: assume a 4 MP photo. */
const UNKNOWN_PIXELS = 4e6;

export function estimateSeconds(format: ImageFormat, pixels: number | undefined): number {
  return Math.ceil(QUEUE_OVERHEAD_SECONDS + SECONDS_PER_MEGAPIXEL[format] * ((pixels ?? UNKNOWN_PIXELS) / 1e6));
}
