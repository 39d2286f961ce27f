import type { ImageFormat } from '../schemas/options';

/**
 * Compression time per megapixel by output format, `quality=smart`: the worst of the
 * corpus runs of `npm run bench:quality` (README "Against sharp", 3.3 MP inputs): JPEG
 * 1.13, WebP 1.0, PNG 2.95 s/MP. AVIF was not in that run: its figure is the fixed-quality
 * 0.42 s/MP of `npm run bench:memory` times the ~3× a smart search costs the others, an estimate.
 */
export const SECONDS_PER_MEGAPIXEL: Record<ImageFormat, number> = { jpeg: 1.1, webp: 1.0, png: 3.0, avif: 1.3 };

/** A queue consumer waits up to its `max_batch_timeout` (1 s, wrangler.toml) before it runs. */
const QUEUE_OVERHEAD_SECONDS = 1;
/** For a URL not fetched yet, nothing is known of the image: assume a 4 MP photo. */
const UNKNOWN_PIXELS = 4e6;

export function estimateSeconds(format: ImageFormat, pixels: number | undefined): number {
  return Math.ceil(QUEUE_OVERHEAD_SECONDS + SECONDS_PER_MEGAPIXEL[format] * ((pixels ?? UNKNOWN_PIXELS) / 1e6));
}
