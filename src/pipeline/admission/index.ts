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
} from './memory-lines';

export * from './memory-lines';

/*
 * Memory admission, in one place. A Worker isolate has 128 MB, shared by the requests it
 * serves at once; a compression's peak is predicted from measured lines (`./memory-lines.ts`) and the
 * work is admitted, refused with the reason a user can act on, or reserved for the worst
 * case that only decoding decides (transparency). The gate that holds reservations while
 * compressions run is `limits/isolate-memory.ts`.
 */

/** The output's traits for the memory model. */
export const traitsOf = (plan: Inspection, options: PipelineOptions): OutputTraits => ({
  lossless: options.lossless,
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
function memoryPixelLimit(profile: MemoryProfile, enlarged: boolean, budgetMiB: number): number {
  const limit = maxPixelsWithinBudget(profile, budgetMiB);
  return enlarged ? Math.min(limit, ENLARGED_MAX_PIXELS) : limit;
}

/** The memory profile of a compression's output in `format`. */
export const reservedProfile = (plan: Inspection, options: PipelineOptions, format: ImageFormat): MemoryProfile =>
  memoryProfile(format, traitsOf(plan, options));

/**
 * Every format the output may end up in. `format=auto` keeps the input's format unless the
 * client accepts AVIF or WebP: then those compete with it, each at its own calibrated target
 * for the mode, and the smallest wins (as image CDNs negotiate). A modern format over its
 * memory limit stays out, and so does the input's own format when another one fits;
 * everything but the input's format stays out for `lossless`.
 */
export function possibleOutputFormats(plan: Inspection, options: PipelineOptions): ImageFormat[] {
  if (options.format !== 'auto' || !options.accept?.length || options.lossless) return [plan.outputFormat];
  // Not lossless from here on (that returned above).
  const traits = traitsOf(plan, options);
  const modern = options.accept.filter(
    (format) => (format === 'webp' || format === 'avif') && format !== plan.outputFormat && fitsMemory(plan, format, traits),
  );
  const own = fitsMemory(plan, plan.outputFormat, traits) || modern.length === 0 ? [plan.outputFormat] : [];
  return [...own, ...modern];
}

/** The worst, over the formats the output may end up in, of a per-format figure (memory, compute) of the work's pixels. */
export function worstOverFormats(
  plan: Inspection,
  options: PipelineOptions,
  figure: (format: ImageFormat, pixels: number) => number,
): number {
  return Math.max(...possibleOutputFormats(plan, options).map((format) => figure(format, workPixels(plan))));
}

/** The plan's pixel limit, and the tighter one of what fits an isolate's memory for this output (by default lossy; for an input of a heavy kind, its own line and a heavy pair's margin). */
export function pixelLimit(format: ImageFormat, limits: ImageLimits, traits: OutputTraits = { lossless: false }): number {
  const profile = memoryProfile(format, traits);
  const budget = MEMORY_BUDGET_MIB - pairMarginMiB(profile, traits.input);
  return Math.min(limits.maxPixels, maxPixelsWithinBudget(profile, budget), maxInputPixelsWithinBudget(traits.input, budget));
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

/** The output, as the limits speak of it: "webp output", "lossless webp output". */
const outputDescription = (format: ImageFormat, profile: MemoryProfile) =>
  profile === 'webp-lossless' ? `lossless ${format} output` : `${format} output`;

const INPUT_DESCRIPTIONS: Record<InputKind, string> = {
  avif: 'an AVIF input',
  'avif-alpha': 'an AVIF input with an alpha plane',
  'webp-lossless': 'a lossless WebP input',
  'webp-alpha': 'a lossy WebP input with transparency',
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
    const limit = Math.min(limits.maxPixels, memoryPixelLimit(profile, enlarged, budget), inputLimit);
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

export type Admission = { verdict: 'yes' } | { verdict: 'no'; error: ApiError };

/** Whether a compression may start, from the header alone. */
export function admit(plan: Inspection, options: PipelineOptions, limits: ImageLimits): Admission {
  // With format=auto the input's own format may give way to one that fits.
  const [first] = possibleOutputFormats(plan, options);
  const problem = pixelProblem(plan, first!, traitsOf(plan, options), limits);
  return problem ? { verdict: 'no', error: problem } : { verdict: 'yes' };
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
