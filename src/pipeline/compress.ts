import { ApiError } from '../errors';
import { type Codecs, DecodeError, type RawImage } from '../codecs/types';
import { IMAGE_FORMATS } from './image-formats';
import type { CompressOptions, ImageFormat } from '../schemas/options';
import { avifHasAlphaPlane, detectFormat, isLosslessWebp, isLossyWebpWithAlpha, readHeader } from './detect';
import { findStructuralDamage } from './structure';
import { type ResizePlan, type Size, planResize } from './geometry';
import { type InputKind, admit, inputKind, possibleOutputFormats } from './admission';
import { type CarriedMetadata, readMetadata, withUprightOrientation, writeMetadata } from './metadata';
import { applyOrientation, readOrientation, swapsAxes } from './orientation';
import { compositeOnWhite } from './pixels';
import { hasAlpha } from '../codecs/alpha';
import { resizeInStrips } from './resize';
import { lowestMeeting } from './search';
import { paletteBuilder } from './quantize';
import { type Encoded, PALETTE_STEPS, colorsForQuality, palettePng, smartLossy, smartPng } from './smart';

export interface ImageLimits {
  /** Largest decoded or output image, in pixels. */
  maxPixels: number;
}

export type PipelineOptions = Pick<
  CompressOptions,
  | 'format'
  | 'quality'
  | 'mode'
  | 'target_size'
  | 'width'
  | 'height'
  | 'max_width'
  | 'max_height'
  | 'fit'
  | 'lossless'
  | 'strip_metadata'
  | 'keep_icc'
> & {
  /** Modern formats the client accepts (from its Accept header): candidates for `format=auto`. */
  accept?: ImageFormat[];
};

export interface ImageInfo extends Size {
  format: ImageFormat;
  size: number;
}

export interface Inspection {
  input: ImageInfo;
  /** EXIF orientation, 1..8, applied to the pixels after decoding. */
  orientation: number;
  /** An input whose decoding holds more memory than a JPEG's or PNG's, if it is one. */
  inputKind?: InputKind;
  outputFormat: ImageFormat;
  resize?: ResizePlan;
  outputSize: Size;
}

export interface CompressResult {
  bytes: Uint8Array;
  input: ImageInfo;
  output: ImageInfo & {
    quality?: number;
    /** Palette size of a quantised PNG. */
    colors?: number;
    /** `quality=smart`: the perceptual score reached (metric: `METRIC`). */
    score?: number;
    /**
     * Whether the output reached what was asked for: with `target_size`, fits under it; with
     * smart quality, scores at least the mode's target. Unset for an explicit quality.
     */
    targetMet?: boolean;
  };
  /** False when the input came back unchanged because nothing smaller could be made. */
  compressed: boolean;
}

/**
 * Everything that can be decided from the header alone: the format (by content), the
 * dimensions, whether the work fits the limits, and the output's format and size.
 * Cheap, so it runs before any pixel is decoded; it needs only the file's first bytes.
 */
export async function inspectImage(bytes: Uint8Array, options: PipelineOptions, limits: ImageLimits): Promise<Inspection> {
  const detected = detectFormat(bytes);
  if (detected.kind === 'unsupported') {
    throw new ApiError('unsupported_format', `${detected.name} images are not supported; send JPEG, PNG, WebP or AVIF`);
  }
  if (detected.kind === 'damaged') {
    throw new ApiError('invalid_image', `The ${detected.format} image is corrupt: ${detected.reason}`);
  }
  if (detected.kind === 'unknown') {
    throw new ApiError('unsupported_format', 'The input is not a JPEG, PNG, WebP or AVIF image');
  }
  const header = readHeader(bytes);
  if (!header) throw new ApiError('invalid_image', `The ${detected.format} header is corrupt or truncated`);

  const orientation = await readOrientation(bytes);
  // Sizes are spoken of upright: a portrait photo stored sideways is portrait here.
  const upright = swapsAxes(orientation) ? { width: header.height, height: header.width } : header;
  const input: ImageInfo = { format: detected.format, size: bytes.byteLength, ...upright };
  const outputFormat = options.format === 'auto' ? input.format : options.format;
  if (options.lossless && !IMAGE_FORMATS[outputFormat].lossless) {
    throw new ApiError('invalid_param', `lossless is not available for ${outputFormat} output; use png, webp or avif`, {
      param: 'lossless',
    });
  }
  const resize = planResize(input, options);
  const outputSize = resize?.size ?? { width: input.width, height: input.height };
  const lossless = input.format === 'webp' && isLosslessWebp(bytes);
  const kind = inputKind(input.format, {
    alpha: input.format === 'avif' ? avifHasAlphaPlane(bytes) : input.format === 'webp' && !lossless && isLossyWebpWithAlpha(bytes),
    lossless,
  });
  const plan: Inspection = { input, orientation, inputKind: kind, outputFormat, resize, outputSize };
  const admission = admit(plan, options, limits);
  if (admission.verdict === 'no') throw admission.error;
  return plan;
}

export type ProgressListener = (percent: number) => void | Promise<void>;

/** Decode, resize, encode, and keep the input when nothing smaller comes out. */
export async function compressImage(
  bytes: Uint8Array,
  options: PipelineOptions,
  codecs: Codecs,
  limits: ImageLimits,
  onProgress: ProgressListener = () => {},
): Promise<CompressResult> {
  const plan = await inspectImage(bytes, options, limits);
  const { input } = plan;
  const damage = findStructuralDamage(input.format, bytes);
  if (damage) throw new ApiError('invalid_image', `The ${input.format} image is corrupt: ${damage}`);
  const metadata = await carriedMetadata(input.format, bytes, options);

  let image = applyOrientation(await decodeOrReject(codecs, input.format, bytes), plan.orientation);
  await onProgress(40);
  if (plan.resize) {
    image = await resizeInStrips(codecs, image, plan.resize);
    await onProgress(55);
  }
  // JPEG has no alpha: what is transparent would otherwise come out as whatever colour happens
  // to be stored under it, usually black (encodeBest flattens a copy).
  const transparent = IMAGE_FORMATS[input.format].alpha && hasAlpha(image);
  const candidates = autoCandidates(plan, options, metadata);
  const { format: chosenFormat, encoded } = await encodeBest(codecs, candidates, image, transparent, options);
  encoded.bytes = await writeMetadata(chosenFormat, encoded.bytes, metadata);
  const output: CompressResult['output'] = {
    format: chosenFormat,
    size: encoded.bytes.byteLength,
    width: image.width,
    height: image.height,
    quality: encoded.quality,
    colors: encoded.colors,
    score: encoded.score,
  };

  const sameShape = chosenFormat === input.format && image.width === input.width && image.height === input.height;
  if (sameShape && output.size >= input.size) {
    // The input itself meets any score target.
    return { bytes, input, output: { ...input, targetMet: targetMet(options, input.size, true) }, compressed: false };
  }
  return {
    bytes: encoded.bytes,
    input,
    output: { ...output, targetMet: targetMet(options, output.size, encoded.targetMet) },
    compressed: true,
  };
}

/**
 * The formats to try: a modern AVIF stays out when it would lose an ICC profile (colours would
 * shift). Memory was judged from the header (`admit`): transparency does not change it.
 */
function autoCandidates(plan: Inspection, options: PipelineOptions, metadata: CarriedMetadata): ImageFormat[] {
  return possibleOutputFormats(plan, options).filter((format) => format === plan.outputFormat || !(format === 'avif' && metadata.icc));
}

async function encodeBest(
  codecs: Codecs,
  formats: ImageFormat[],
  image: RawImage,
  transparent: boolean,
  options: PipelineOptions,
): Promise<{ format: ImageFormat; encoded: Encoded }> {
  let best: { format: ImageFormat; encoded: Encoded } | undefined;
  for (const format of formats) {
    // JPEG has no alpha; the other candidates keep it, so they get the pixels unflattened.
    const flatten = !IMAGE_FORMATS[format].alpha && transparent;
    const pixels = flatten ? compositeOnWhite(formats.length === 1 ? image : { ...image, data: image.data.slice() }) : image;
    const encoded = await encodeToTarget(codecs, format, pixels, options);
    if (!best || encoded.bytes.byteLength < best.encoded.bytes.byteLength) best = { format, encoded };
  }
  return best!;
}

/**
 * The ICC profile travels unless `keep_icc=false` (colours would shift without it); EXIF only
 * with `strip_metadata=false`, upright, since the orientation is in the pixels now.
 */
async function carriedMetadata(format: ImageFormat, bytes: Uint8Array, options: PipelineOptions): Promise<CarriedMetadata> {
  if (!options.keep_icc && options.strip_metadata) return {};
  const found = await readMetadata(format, bytes);
  return {
    icc: options.keep_icc ? found.icc : undefined,
    exif: !options.strip_metadata && found.exif ? withUprightOrientation(found.exif) : undefined,
  };
}

function targetMet(options: PipelineOptions, size: number, scoreMet: boolean | undefined): boolean | undefined {
  if (options.target_size !== undefined) return size <= options.target_size;
  return options.quality === 'smart' && !options.lossless ? scoreMet : undefined;
}

async function decodeOrReject(codecs: Codecs, format: ImageFormat, bytes: Uint8Array): Promise<RawImage> {
  try {
    return await codecs.decode(format, bytes);
  } catch (error) {
    if (error instanceof DecodeError)
      throw new ApiError(
        'invalid_image',
        `The ${format} image could not be decoded: it is corrupt, truncated, or uses features the decoder does not support`,
        { cause: error },
      );
    throw error;
  }
}

async function encodeToTarget(codecs: Codecs, format: ImageFormat, image: RawImage, options: PipelineOptions): Promise<Encoded> {
  const lossless = options.lossless || (format === 'png' && options.quality === 100);
  if (lossless) return { bytes: await codecs.encode(format, image, { quality: 100, lossless: true }) };
  if (format === 'png') {
    if (options.target_size !== undefined) return largestPaletteUnder(codecs, image, options.target_size);
    if (options.quality !== 'smart') return palettePng(codecs, image, colorsForQuality(options.quality));
    return smartPng(codecs, image, options.mode);
  }
  const encodeAt = async (quality: number): Promise<Encoded> => ({
    bytes: await codecs.encode(format, image, { quality, lossless: false }),
    quality,
  });
  if (options.quality !== 'smart') return encodeAt(options.quality);
  if (options.target_size !== undefined) return largestUnder(options.target_size, encodeAt);
  return smartLossy(codecs, format, image, options.mode);
}

/**
 * The most colours whose PNG fits (a PNG's size falls with its colours); the fewest colours'
 * result when none fits. Every try maps into the same index buffer: at 12 MP each would
 * otherwise leave 12 MB behind until the next collection.
 */
async function largestPaletteUnder(codecs: Codecs, image: RawImage, maxBytes: number): Promise<Encoded> {
  const fewestFirst = [...PALETTE_STEPS].reverse();
  const paletteFor = paletteBuilder(image);
  const indices = new Uint8Array(image.width * image.height);
  return largestFitting(fewestFirst.length, maxBytes, (i) => palettePng(codecs, image, fewestFirst[i]!, paletteFor, indices));
}

/** The highest quality, 1..100, whose output fits; the smallest result when none fits. */
function largestUnder(maxBytes: number, encodeAt: (quality: number) => Promise<Encoded>): Promise<Encoded> {
  return largestFitting(100, maxBytes, (i) => encodeAt(i + 1));
}

/**
 * Over `count` settings ordered from fewest bytes to most, the last whose output fits under
 * `maxBytes`; when none fits, the first (the fewest bytes). The search runs from most bytes
 * down, where fitting is what turns true.
 */
function largestFitting(count: number, maxBytes: number, attemptAt: (index: number) => Promise<Encoded>): Promise<Encoded> {
  return lowestMeeting(
    0,
    count - 1,
    (step) => attemptAt(count - 1 - step),
    (attempt) => attempt.bytes.byteLength <= maxBytes,
  );
}
