import { MEMORY_BUDGET_MIB } from '../pipeline/admission';

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
