import type { ImageFormat } from '../schemas/options';
import { MEMORY_THRESHOLDS, OXIPNG_MAX_ROWS } from '../codecs/thresholds';
import { IMAGE_FORMATS } from './image-formats';
import { scoringSamplePixels } from './smart';

/**
 * Predicted compute of one compression, from what the codecs do: decode the input's pixels,
 * resize, encode the output's pixels and rows, and for a search, its trials. Each format's
 * figures are in its descriptor (`image-formats.ts`); how they were measured is in
 * docs/measurements.md, "Cost model", and `npm run bench:cost` prints each prediction beside
 * the time it measured.
 */
export interface Work {
  inputFormat: ImageFormat;
  inputPixels: number;
  outputFormat: ImageFormat;
  outputWidth: number;
  outputRows: number;
  resized: boolean;
  lossless: boolean;
  /** `quality=smart` without `target_size`: trials on a sample of the output. */
  smart: boolean;
  /** `target_size`: trials on the whole output. */
  targetSize: boolean;
}

const PER_MP = 1e-6;

/**
 * oxipng's costs stop where the runtime's deflate takes over: past `OXIPNG_MAX_ROWS`, and past
 * `pngStream` pixels lossless or `indexedOxipng` as a palette; then PNG costs what quantising
 * and the row-streaming writer cost.
 */
const STREAMED_PNG_PER_ROW = 2e-7;
const STREAMED_PNG_PER_MEGAPIXEL = 0.3;
const RESIZE = 0.1;
/**
 * Trials a smart search is counted at: most take two to four, at most six (`smart.ts`). The
 * per-trial figures are fitted on the searches measured; the few longest, on the most textured
 * photos, run over (docs/measurements.md, "Cost model").
 */
const SMART_TRIALS = 3;
/** A `target_size` bisection over qualities 1..100, each trial a full encode. */
const TARGET_SIZE_TRIALS = 7;

/** Predicted compute of one compression, in seconds. */
export function computeSeconds(work: Work): number {
  const { outputFormat: format } = work;
  const { cost } = IMAGE_FORMATS[format];
  const outputPixels = work.outputWidth * work.outputRows;
  const decode = IMAGE_FORMATS[work.inputFormat].cost.decodePerMegapixel * work.inputPixels * PER_MP;
  const resize = work.resized ? RESIZE * Math.max(work.inputPixels, outputPixels) * PER_MP : 0;
  const rows =
    format === 'png'
      ? cost.perRow * Math.min(work.outputRows, OXIPNG_MAX_ROWS) + STREAMED_PNG_PER_ROW * work.outputRows
      : cost.perRow * work.outputRows;
  const streamed = format === 'png' && outputPixels > (work.lossless ? MEMORY_THRESHOLDS.pngStream : MEMORY_THRESHOLDS.indexedOxipng);
  const perMegapixel = streamed ? STREAMED_PNG_PER_MEGAPIXEL : work.lossless ? cost.encodeLosslessPerMegapixel : cost.encodePerMegapixel;
  const encodeOnce = perMegapixel * outputPixels * PER_MP + rows;
  if (work.lossless) return decode + resize + encodeOnce;
  if (work.targetSize) return decode + resize + TARGET_SIZE_TRIALS * encodeOnce;
  if (!work.smart) return decode + resize + encodeOnce;
  const sample = scoringSamplePixels(work.outputWidth, work.outputRows);
  return decode + resize + SMART_TRIALS * cost.trialPerMegapixel * sample * PER_MP + encodeOnce;
}

/** A queue consumer waits up to its `max_batch_timeout` (1 s, wrangler.toml) before it runs. */
const QUEUE_OVERHEAD_SECONDS = 1;

/** The most compute a synchronous answer may take when `SYNC_COMPUTE_SECONDS` is not set. */
export const DEFAULT_SYNC_COMPUTE_SECONDS = 5;

/** For a URL not fetched yet, nothing is known of the image: a 4 MP JPEG photo, smart quality, to JPEG. */
export const UNKNOWN_WORK: Work = {
  inputFormat: 'jpeg',
  inputPixels: 4e6,
  outputFormat: 'jpeg',
  outputWidth: 2000,
  outputRows: 2000,
  resized: false,
  lossless: false,
  smart: true,
  targetSize: false,
};

/** For the job's `estimated_seconds`: the compute, plus the wait for the queue. */
export const estimateSeconds = (computeSeconds: number) => Math.ceil(QUEUE_OVERHEAD_SECONDS + computeSeconds);
