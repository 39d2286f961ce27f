import type { ImageFormat } from '../schemas/options';

/**
 * Compression time per megapixel by output format, `quality=smart`: the slowest reading per
 * format of `npm run bench:memory` at 3 to 12 MP (docs/measurements.md, "Memory"; wall time of the request
 * on loopback, so an upper bound): JPEG 0.53, WebP 0.65, PNG 0.79, AVIF 2.5 s/MP.
 */
export const SECONDS_PER_MEGAPIXEL: Record<ImageFormat, number> = { jpeg: 0.55, webp: 0.65, png: 0.8, avif: 2.5 };

/** A queue consumer waits up to its `max_batch_timeout` (1 s, wrangler.toml) before it runs. */
const QUEUE_OVERHEAD_SECONDS = 1;
/** For a URL not fetched yet, nothing is known of the image: assume a 4 MP photo. */
const UNKNOWN_PIXELS = 4e6;

/** Predicted compute of one compression, in seconds. */
export const computeSeconds = (format: ImageFormat, pixels: number) => (SECONDS_PER_MEGAPIXEL[format] * pixels) / 1e6;

/** The most compute a synchronous answer may take when `SYNC_COMPUTE_SECONDS` is not set. */
export const DEFAULT_SYNC_COMPUTE_SECONDS = 2;

/** For the job's `estimated_seconds`: the compute, plus the wait for the queue. */
export function estimateSeconds(format: ImageFormat, pixels: number | undefined): number {
  return Math.ceil(QUEUE_OVERHEAD_SECONDS + computeSeconds(format, pixels ?? UNKNOWN_PIXELS));
}
