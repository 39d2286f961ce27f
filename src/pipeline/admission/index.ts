import { ApiError } from '../../errors';
import type { ImageFormat } from '../../schemas/options';
import type { ImageLimits, Inspection, PipelineOptions } from '../compress';
import type { ResizePlan, Size } from '../geometry';
import { type Work, computeSeconds } from '../cost';
import { IMAGE_FORMATS } from '../image-formats';
import {
  ENLARGED_MAX_PIXELS,
  type InputKind,
  maxInputPixelsWithinBudget,
  maxPixelsWithinBudget,
  MEMORY_BUDGET_MIB,
  type MemoryProfile,
  memoryProfile,
  type OutputTraits,
  pairMarginMiB,
  predictedPeakMiB,
} from './memory-lines';

export * from './memory-lines';

/*
 * Memory admission, in one place. A Worker isolate has 128 MB, shared by the requests it
 * serves at once; a compression's peak is predicted from measured lines (`./memory-lines.ts`) and the
 * work is admitted, refused with the reason a user can act on, or reserved for the worst
 * case that only decoding decides (transparency). The gate that holds reservations while
 * compressions run is `limits/isolate-memory.ts`.
 */

/**
 * The output's traits for the memory model. An AVIF input with an alpha plane counts as
 * transparent whatever its pixels: its decoder holds that plane beside the encoder, a pair
 * measured only with transparent pixels.
 */
export const traitsOf = (plan: Inspection, options: PipelineOptions, alpha: boolean): OutputTraits => ({
  lossless: options.lossless,
  alpha: alpha || plan.inputKind === 'avif-alpha',
  input: plan.inputKind,
});

/** No plan's ceiling: what fits an isolate's memory alone. */
const MEMORY_ONLY: ImageLimits = { maxPixels: Infinity };

/** The pixels a compression works on: the larger of input and output. */
const workPixels = (plan: Inspection) => Math.max(plan.input.width * plan.input.height, plan.outputSize.width * plan.outputSize.height);

/** Whether the work is within what one compression to `format` may use of an isolate's memory. */
function fitsMemory(plan: Inspection, format: ImageFormat, traits: OutputTraits): boolean {
  return !pixelProblem(plan, format, traits, MEMORY_ONLY);
}

/** The most pixels an image may have for one compression with `profile` to fit an isolate's memory; an enlarged output has its own, lower limit. */
function memoryPixelLimit(profile: MemoryProfile, format: ImageFormat, enlarged: boolean, budgetMiB: number): number {
  return enlarged
    ? Math.min(maxPixelsWithinBudget(profile, budgetMiB), ENLARGED_MAX_PIXELS[format])
    : maxPixelsWithinBudget(profile, budgetMiB);
}

/**
 * The memory to reserve for an output of `format`: the heaviest of what is known only once
 * decoded and would then be admitted (a larger one is refused once decoded, before any
 * encoding): transparency, for any input but JPEG.
 */
export function reservedProfile(plan: Inspection, options: PipelineOptions, format: ImageFormat): MemoryProfile {
  const [opaque, ...others] = undecidedCases(plan).map(({ alpha }) => traitsOf(plan, options, alpha));
  const peak = (profile: MemoryProfile) => predictedPeakMiB(profile, workPixels(plan)) + pairMarginMiB(profile, plan.inputKind);
  return [opaque!, ...others.filter((traits) => fitsMemory(plan, format, traits))]
    .map((traits) => memoryProfile(format, traits))
    .reduce((heaviest, profile) => (peak(profile) > peak(heaviest) ? profile : heaviest));
}

/** What only decoding tells, each way it can turn out, the plain case first: transparency (never in a JPEG). */
function undecidedCases(plan: Inspection): { alpha: boolean }[] {
  const alphas = IMAGE_FORMATS[plan.input.format].alpha ? [false, true] : [false];
  return alphas.map((alpha) => ({ alpha }));
}

/**
 * Every format the output may end up in. `format=auto` keeps the input's format unless the
 * client accepts AVIF or WebP: then those compete with it, each at its own calibrated target
 * for the mode, and the smallest wins (as image CDNs negotiate). A modern format over its
 * memory limit stays out, and so does the input's own format when another one fits;
 * everything but the input's format stays out for `lossless`. `alpha`: whether the image is
 * transparent (known once decoded).
 */
export function possibleOutputFormats(plan: Inspection, options: PipelineOptions, alpha: boolean): ImageFormat[] {
  if (options.format !== 'auto' || !options.accept?.length || options.lossless) return [plan.outputFormat];
  // Not lossless from here on (that returned above).
  const traits = traitsOf(plan, options, alpha);
  const modern = options.accept.filter(
    (format) => (format === 'webp' || format === 'avif') && format !== plan.outputFormat && fitsMemory(plan, format, traits),
  );
  const own = fitsMemory(plan, plan.outputFormat, traits) || modern.length === 0 ? [plan.outputFormat] : [];
  return [...own, ...modern];
}

/**
 * The worst, over the formats the output may end up in, of a per-format figure (memory,
 * compute) of the work's pixels. Which formats those are depends on what only decoding tells
 * (an RGBA PNG may be opaque): every way is counted.
 */
export function worstOverFormats(
  plan: Inspection,
  options: PipelineOptions,
  figure: (format: ImageFormat, pixels: number) => number,
): number {
  const everyWay = new Set(undecidedCases(plan).flatMap(({ alpha }) => possibleOutputFormats(plan, options, alpha)));
  return Math.max(...[...everyWay].map((format) => figure(format, workPixels(plan))));
}

/** The plan's pixel limit, and the tighter one of what fits an isolate's memory for this output (by default lossy and opaque; with a heavy pair's margin for an input that is one). */
export function pixelLimit(format: ImageFormat, limits: ImageLimits, traits: OutputTraits = { lossless: false, alpha: false }): number {
  const profile = memoryProfile(format, traits);
  return Math.min(limits.maxPixels, maxPixelsWithinBudget(profile, MEMORY_BUDGET_MIB - pairMarginMiB(profile, traits.input)));
}

/**
 * Whether a resize makes either dimension of what it reads (the crop, or the whole image)
 * larger: then a new full-size output is held beside the source's decode (`resizeInStrips`).
 */
export function enlarges(resize: ResizePlan | undefined, input: Size): boolean {
  if (!resize) return false;
  const region = resize.crop ?? input;
  return resize.size.width > region.width || resize.size.height > region.height;
}

/** The output, as the limits speak of it: "webp output", "lossless webp output", "avif output with transparency". */
function outputDescription(format: ImageFormat, profile: MemoryProfile): string {
  if (profile === 'webp-lossless') return `lossless ${format} output`;
  if (profile === 'avif-alpha') return `${format} output with transparency`;
  if (profile === 'avif-from-avif') return `${format} output from an AVIF input`;
  return `${format} output`;
}

const INPUT_DESCRIPTIONS: Record<InputKind, string> = {
  avif: 'an AVIF input',
  'avif-alpha': 'an AVIF input with an alpha plane',
  'webp-lossless': 'a lossless WebP input',
};

/** Megapixels as the messages print them; a limit is rounded down, so an image over it never reads as equal. */
function megapixels(pixels: number, round: (n: number) => number = Math.round): string {
  const digits = pixels < 1e6 ? 2 : 1;
  return `${(round((pixels / 1e6) * 10 ** digits) / 10 ** digits).toFixed(digits)} MP`;
}

/** Why the work does not fit an encoder, the plan's pixel limit or an isolate's memory for this output, if it does not. */
export function pixelProblem(plan: Inspection, format: ImageFormat, traits: OutputTraits, limits: ImageLimits): ApiError | undefined {
  const { width, height } = plan.outputSize;
  const { maxOutputSide } = IMAGE_FORMATS[format];
  if (Math.max(width, height) > maxOutputSide) {
    return new ApiError(
      'image_too_large',
      `The output would be ${width}×${height}; ${format} images can be at most ${maxOutputSide} pixels on a side`,
      { param: 'width' },
    );
  }
  const profile = memoryProfile(format, traits);
  const budget = MEMORY_BUDGET_MIB - pairMarginMiB(profile, plan.inputKind);
  for (const [which, size] of [
    ['input', plan.input],
    ['output', plan.outputSize],
  ] as const) {
    const pixels = size.width * size.height;
    const enlarged = which === 'output' && enlarges(plan.resize, plan.input);
    const inputLimit = which === 'input' ? maxInputPixelsWithinBudget(plan.inputKind, budget) : Infinity;
    const limit = Math.min(limits.maxPixels, memoryPixelLimit(profile, format, enlarged, budget), inputLimit);
    if (pixels <= limit) continue;
    const reason =
      limit >= limits.maxPixels
        ? ''
        : limit === inputLimit
          ? ` for ${INPUT_DESCRIPTIONS[plan.inputKind!]} (what decoding it may use of a Worker's memory)`
          : enlarged
            ? ` for an enlarged ${outputDescription(format, profile)} (what one compression may use of a Worker's memory)`
            : ` for ${outputDescription(format, profile)} (what one compression may use of a Worker's memory)`;
    return new ApiError(
      'image_too_large',
      `The ${which} image is ${size.width}×${size.height} (${megapixels(pixels)}); the limit is ${megapixels(limit, Math.floor)}${reason}`,
      { param: which === 'output' ? 'width' : undefined },
    );
  }
  return undefined;
}

/** Told how far a compression has got, in percent, for job progress. */

export type Admission =
  | { verdict: 'yes' }
  | { verdict: 'no'; error: ApiError }
  /** Fits if the pixels turn out opaque; transparent ones are judged once decoded, before encoding. */
  | { verdict: 'after-decoding'; ifTransparent: ApiError };

/** Whether a compression may start, from the header alone. */
export function admit(plan: Inspection, options: PipelineOptions, limits: ImageLimits): Admission {
  // With format=auto the input's own format may give way to one that fits.
  const [first] = possibleOutputFormats(plan, options, false);
  const opaque = pixelProblem(plan, first!, traitsOf(plan, options, false), limits);
  if (opaque) return { verdict: 'no', error: opaque };
  if (!IMAGE_FORMATS[plan.input.format].alpha) return { verdict: 'yes' };
  const [firstTransparent] = possibleOutputFormats(plan, options, true);
  const transparent = pixelProblem(plan, firstTransparent!, traitsOf(plan, options, true), limits);
  return transparent ? { verdict: 'after-decoding', ifTransparent: transparent } : { verdict: 'yes' };
}

/** The compute a compression is predicted to take, in seconds: the worst of the formats it may end in. */
export function predictedSeconds(plan: Inspection, options: PipelineOptions): number {
  return worstOverFormats(plan, options, (format) => computeSeconds(workOf(plan, options, format)));
}

function workOf(plan: Inspection, options: PipelineOptions, format: ImageFormat): Work {
  return {
    inputFormat: plan.input.format,
    inputPixels: plan.input.width * plan.input.height,
    outputFormat: format,
    outputWidth: plan.outputSize.width,
    outputRows: plan.outputSize.height,
    resized: plan.resize !== undefined,
    lossless: options.lossless || (format === 'png' && options.quality === 100),
    smart: options.quality === 'smart' && options.target_size === undefined,
    targetSize: options.target_size !== undefined,
  };
}
