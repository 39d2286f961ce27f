import { ApiError } from '../errors';
import type { ImageFormat } from '../schemas/options';
import type { ImageLimits, Inspection, PipelineOptions } from './compress';
import type { ResizePlan, Size } from './geometry';
import { type Work, computeSeconds } from './cost';
import { IMAGE_FORMATS } from './image-formats';

/*
 * Memory admission, in one place. A Worker isolate has 128 MB, shared by the requests it
 * serves at once; a compression's peak is predicted from measured lines (below) and the
 * work is admitted, refused with the reason a user can act on, or reserved for the worst
 * case that only decoding decides (transparency). The gate that holds reservations while
 * compressions run is `limits/isolate-memory.ts`.
 */

/** A fitted line: peak MiB ≈ fixed + perMegapixel × MP. */
type Line = { fixed: number; perMegapixel: number };
const lineAt = ({ fixed, perMegapixel }: Line, pixels: number) => fixed + (perMegapixel * pixels) / 1e6;
const lineLimit = ({ fixed, perMegapixel }: Line, budgetMiB: number) => Math.floor(((budgetMiB - fixed) / perMegapixel) * 1e6);

/**
 * What decides a compression's memory: the output format, and for two of them more. Lossless
 * WebP runs libwebp's lossless encoder (an ARGB copy, a hash chain and backward references for
 * the whole image); AVIF with transparency runs a second AV1 encoder for the alpha plane, and
 * AVIF from AVIF holds both libavif heaps.
 */
export type MemoryProfile = ImageFormat | 'webp-lossless' | 'avif-alpha' | 'avif-from-avif';

export interface OutputTraits {
  lossless: boolean;
  /** Whether the image has transparency (known once decoded; the limits before decoding assume not). */
  alpha: boolean;
  /** The input, where its decoding holds more than a JPEG's or PNG's. */
  input?: InputKind;
}

/**
 * AVIF from AVIF holds both libavif heaps at once: the session's decoder keeps its high-water
 * mark from the input while the encoder runs (1.6 MP read 130 MiB, over AVIF's own line).
 */
export function memoryProfile(format: ImageFormat, { lossless, alpha, input }: OutputTraits): MemoryProfile {
  if (format === 'webp' && lossless) return 'webp-lossless';
  if (format === 'avif' && alpha) return 'avif-alpha';
  if (format === 'avif' && (input === 'avif' || input === 'avif-alpha')) return 'avif-from-avif';
  return format;
}

/**
 * Peak memory one compression adds to an isolate, as an upper bound fitted to
 * `npm run bench:memory` readings (docs/measurements.md, "Memory"): peak MiB ≈ fixed + perMegapixel × MP,
 * with every reading at or under the line. JPEG, PNG and lossy WebP are nearly flat because
 * large images take the memory-lean paths (`MEMORY_THRESHOLDS` in `src/codecs/wasm.ts`, the
 * banded WebP encoder and its alpha coder); lossless WebP and AVIF hold whole images several
 * times over. Re-measure after changing any of it.
 */
export const PEAK_MEMORY_MIB: Record<MemoryProfile, Line> = {
  jpeg: { fixed: 107, perMegapixel: 1.6 },
  webp: { fixed: 72, perMegapixel: 4.5 },
  'webp-lossless': { fixed: 31, perMegapixel: 28 },
  png: { fixed: 108, perMegapixel: 1.6 },
  // Our libavif + libaom build (grid cells above 2.1 MP, IntraBC off; docs/avif.md), photos,
  // artwork and screenshots alike, smart quality: 102.1 MiB at 1 MP, 101.6 at 2, 149.4 at 8.7
  // (flat-colour PNG), 167.7 at 12, 179.3 at 12 (screenshot PNG).
  avif: { fixed: 96, perMegapixel: 7 },
  // With transparency: 71.5 at 0.45, 113.2 at 1.0, 138.0 at 2.0, 237.9 at 12.
  'avif-alpha': { fixed: 90, perMegapixel: 25 },
  // Readings 81.5 MiB at 1 MP and 130.3 at 1.6 (AVIF photo to AVIF).
  'avif-from-avif': { fixed: 24, perMegapixel: 82 },
};

/**
 * Inputs whose decoding holds more than a JPEG's or PNG's (on which the lines above were
 * measured): libavif's decoder keeps the AV1 frame, its reference buffers and the RGB
 * conversion, with a second plane for alpha; libwebp's lossless decoder keeps ARGB and its
 * transforms' buffers. Their own lines, fitted to whole compressions of such inputs to JPEG,
 * PNG and WebP (docs/measurements.md, "Memory"), bound the input's pixels.
 */
export type InputKind = 'avif' | 'avif-alpha' | 'webp-lossless';

export const INPUT_PEAK_MEMORY_MIB: Record<InputKind, Line> = {
  // Readings 44–67 MiB at 1 MP, 53–88 at 1.6, 123 at 2, 174–191 at 4, 199–234 at 8, 276–322 at 12.
  avif: { fixed: 72, perMegapixel: 28 },
  // 75–90 MiB at 1 MP, 93–110 at 1.6, 152–156 at 2, 231–247 at 4.
  'avif-alpha': { fixed: 40, perMegapixel: 56 },
  // 35–71 MiB at 2 MP, 51–125 at 4, 72–82 at 6, 122 at 8, 154 at 12.
  'webp-lossless': { fixed: 100, perMegapixel: 6.2 },
};

export function inputKind(format: ImageFormat, { alpha, lossless }: { alpha: boolean; lossless: boolean }): InputKind | undefined {
  if (format === 'avif') return alpha ? 'avif-alpha' : 'avif';
  if (format === 'webp' && lossless) return 'webp-lossless';
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
 * lossless WebP to lossless WebP 126.8 against 126.2). Such pairs add this margin. AVIF from
 * AVIF was measured as a profile of its own.
 */
export const HEAVY_PAIR_MARGIN_MIB = 10;
const HEAVY_OUTPUTS: ReadonlySet<MemoryProfile> = new Set(['webp-lossless', 'avif', 'avif-alpha']);

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
 * 10.7; AVIF 102 at 1.0 MP, 132 at 1.3. An enlarged output is held to these sizes.
 */
export const ENLARGED_MAX_PIXELS: Record<ImageFormat, number> = { jpeg: 8_000_000, png: 8_000_000, webp: 8_000_000, avif: 1_000_000 };

/**
 * The profile a special one adds to: lossless WebP and transparent AVIF were measured from
 * 0.2 MP up, and below that their lines fall under those of the work they include.
 */
const BASE_PROFILES: Partial<Record<MemoryProfile, MemoryProfile[]>> = {
  'webp-lossless': ['webp'],
  'avif-alpha': ['avif'],
  'avif-from-avif': ['avif'],
};

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
  return enlarged ? Math.min(maxPixelsWithinBudget(profile, budgetMiB), ENLARGED_MAX_PIXELS[format]) : maxPixelsWithinBudget(profile, budgetMiB);
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
  const modern = options.accept.filter((format) => (format === 'webp' || format === 'avif') && format !== plan.outputFormat && fitsMemory(plan, format, traits));
  const own = fitsMemory(plan, plan.outputFormat, traits) || modern.length === 0 ? [plan.outputFormat] : [];
  return [...own, ...modern];
}

/**
 * The worst, over the formats the output may end up in, of a per-format figure (memory,
 * compute) of the work's pixels. Which formats those are depends on what only decoding tells
 * (an RGBA PNG may be opaque): every way is counted.
 */
export function worstOverFormats(plan: Inspection, options: PipelineOptions, figure: (format: ImageFormat, pixels: number) => number): number {
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
    return new ApiError('image_too_large', `The output would be ${width}×${height}; ${format} images can be at most ${maxOutputSide} pixels on a side`, { param: 'width' });
  }
  const profile = memoryProfile(format, traits);
  const budget = MEMORY_BUDGET_MIB - pairMarginMiB(profile, plan.inputKind);
  for (const [which, size] of [['input', plan.input], ['output', plan.outputSize]] as const) {
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
    return new ApiError('image_too_large', `The ${which} image is ${size.width}×${size.height} (${megapixels(pixels)}); the limit is ${megapixels(limit, Math.floor)}${reason}`, { param: which === 'output' ? 'width' : undefined });
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
    outputPixels: plan.outputSize.width * plan.outputSize.height,
    outputWidth: plan.outputSize.width,
    outputRows: plan.outputSize.height,
    resized: plan.resize !== undefined,
    lossless: options.lossless || (format === 'png' && options.quality === 100),
    smart: options.quality === 'smart' && options.target_size === undefined,
    targetSize: options.target_size !== undefined,
  };
}
