import { codecSource } from './codecs/wasm';
import { isolateMemory } from './limits/isolate-memory';
import {
  MEMORY_BUDGET_MIB,
  enlarges,
  pairMarginMiB,
  predictedInputPeakMiB,
  predictedPeakMiB,
  reservedProfile,
  worstOverFormats,
} from './pipeline/admission';
import {
  type CompressResult,
  type ImageLimits,
  type Inspection,
  type PipelineOptions,
  type ProgressListener,
  compressImage,
  inspectImage,
} from './pipeline/compress';

/*
 * The application service: a compression within the isolate's memory. The synchronous route
 * and the queue consumer both call this; neither knows of codecs or memory lines.
 */

/**
 * A compression with fresh codecs, admitted by the isolate's memory gate at its predicted
 * peak. `plan` saves reading the header again when the caller has already inspected it.
 */
export async function compressWithinMemory(
  bytes: Uint8Array,
  options: PipelineOptions,
  limits: ImageLimits,
  onProgress?: ProgressListener,
  plan?: Inspection,
): Promise<CompressResult> {
  plan ??= await inspectImage(bytes, options, limits);
  return isolateMemory.run(reservationMiB(plan, options), () => compressImage(bytes, options, codecSource.create(), limits, onProgress));
}

/**
 * What a compression reserves at the gate: the worst over the formats its output may take of
 * that output's line or its input's decoding line, whichever is higher, plus the margin of a
 * heavy decoder and encoder together. An enlargement reserves the whole budget: its readings are
 * bounded only at its own limit (`ENLARGED_MAX_PIXELS`), and some ran over the lines there.
 */
export function reservationMiB(plan: Inspection, options: PipelineOptions): number {
  if (enlarges(plan.resize, plan.input)) return MEMORY_BUDGET_MIB;
  const inputPeak = predictedInputPeakMiB(plan.inputKind, plan.input.width * plan.input.height);
  return worstOverFormats(plan, options, (format, pixels) => {
    const profile = reservedProfile(plan, options, format);
    return Math.max(predictedPeakMiB(profile, pixels), inputPeak) + pairMarginMiB(profile, plan.inputKind);
  });
}
