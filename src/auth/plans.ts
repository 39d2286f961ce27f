/** Every limit the code enforces comes from the caller's plan. */
export interface Plan {
  name: string;
  /** Largest accepted input, in bytes. */
  maxFileBytes: number;
  /** Largest input or output image, in pixels. Each output format has a tighter limit from its measured memory use (src/pipeline/memory.ts). */
  maxPixels: number;
  /** How long stored outputs and their links live. */
  outputTtlSeconds: number;
}

const MB = 1024 * 1024;

export const PLANS = {
  dev: { name: 'dev', maxFileBytes: 25 * MB, maxPixels: 40_000_000, outputTtlSeconds: 3600 },
} as const satisfies Record<string, Plan>;

export type PlanName = keyof typeof PLANS;
