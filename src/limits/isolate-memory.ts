import { codecSource } from '../codecs/wasm';
import { type CompressResult, type ImageLimits, type Inspection, type PipelineOptions, type ProgressListener, compressImage, enlarges, inspectImage, reservedProfile, worstOverFormats } from '../pipeline/compress';
import { MEMORY_BUDGET_MIB, pairMarginMiB, predictedInputPeakMiB, predictedPeakMiB } from '../pipeline/memory';

/**
 * Admits work while the predicted peaks of everything running in this isolate fit a budget;
 * the rest waits its turn, first come first served. Every request an isolate serves at once
 * shares its 128 MB, so two 12 MP compressions must not overlap, while many small ones can.
 */
export class MemoryGate {
  private inUse = 0;
  private readonly waiting: { mib: number; admit: () => void }[] = [];

  constructor(readonly budgetMiB: number) {}

  async run<T>(peakMiB: number, work: () => Promise<T>): Promise<T> {
    // Anything over the whole budget was refused with 413 before it got here; clamp for safety.
    const mib = Math.min(Math.max(peakMiB, 0), this.budgetMiB);
    if (this.waiting.length === 0 && this.inUse + mib <= this.budgetMiB) this.inUse += mib;
    else await new Promise<void>((admit) => this.waiting.push({ mib, admit }));
    try {
      return await work();
    } finally {
      this.inUse -= mib;
      while (this.waiting.length > 0 && this.inUse + this.waiting[0]!.mib <= this.budgetMiB) {
        const next = this.waiting.shift()!;
        this.inUse += next.mib;
        next.admit();
      }
    }
  }

  get reservedMiB(): number {
    return this.inUse;
  }
}

/** One per isolate: module state lives as long as the isolate does. */
export const isolateMemory = new MemoryGate(MEMORY_BUDGET_MIB);

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
 * that output's line (the heavier of opaque and transparent, if the latter would be admitted,
 * known only once decoded: `reservedProfile`) or its input's decoding
 * line, whichever is higher, plus the margin of a heavy decoder and encoder together. An
 * enlargement reserves the whole budget: its readings are bounded only at its own limits
 * (`ENLARGED_MAX_PIXELS`), and some ran over the lines there (AVIF 87–102 MiB at 1.0 MP against 90).
 */
export function reservationMiB(plan: Inspection, options: PipelineOptions): number {
  if (enlarges(plan.resize, plan.input)) return MEMORY_BUDGET_MIB;
  const inputPeak = predictedInputPeakMiB(plan.inputKind, plan.input.width * plan.input.height);
  return worstOverFormats(plan, options, (format, pixels) => {
    const profile = reservedProfile(plan, options, format);
    return Math.max(predictedPeakMiB(profile, pixels), inputPeak) + pairMarginMiB(profile, plan.inputKind);
  });
}
