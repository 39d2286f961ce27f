import type { PlanLimits } from '../schemas/responses';
/** Every limit the code enforces comes from the caller's plan. */
export interface Plan {
  name: PlanName;
  requestsPerMinute: number;
  /** Largest accepted input, in bytes. */
  maxFileBytes: number;
  /**
   * Largest input or output image, in pixels: what the plan pays for. Each output format also
   * has a limit from its measured memory use (`pipeline/admission/`); the tighter one binds.
   */
  maxPixels: number;
  /** Queued plus running jobs at once; a batch needs one per item. */
  maxConcurrentJobs: number;
  /** Successful compressions per calendar month (UTC), sync and async together. */
  monthlyCompressions: number;
  /** How long stored outputs and their links live. */
  outputTtlSeconds: number;
}

const MB = 1024 * 1024;

export const PLAN_NAMES = ['free', 'pro', 'dev'] as const;
export type PlanName = (typeof PLAN_NAMES)[number];

export const PLANS: Record<PlanName, Plan> = {
  free: {
    name: 'free',
    requestsPerMinute: 30,
    maxFileBytes: 5 * MB,
    maxPixels: 8_000_000,
    maxConcurrentJobs: 5,
    monthlyCompressions: 500,
    outputTtlSeconds: 3600,
  },
  pro: {
    name: 'pro',
    requestsPerMinute: 600,
    maxFileBytes: 25 * MB,
    maxPixels: 40_000_000,
    maxConcurrentJobs: 100,
    monthlyCompressions: 50_000,
    outputTtlSeconds: 24 * 3600,
  },
  /** `ck_dev_local`, in development only: generous, so local work never trips a limit by accident. */
  dev: {
    name: 'dev',
    requestsPerMinute: 1000,
    maxFileBytes: 25 * MB,
    maxPixels: 40_000_000,
    maxConcurrentJobs: 200,
    monthlyCompressions: 1_000_000,
    outputTtlSeconds: 3600,
  },
};

/** A plan as the API shows it, in /v1/usage and (with a key) /v1/formats. */
export function planLimits(plan: Plan): PlanLimits {
  return {
    name: plan.name,
    requests_per_minute: plan.requestsPerMinute,
    max_file_size: plan.maxFileBytes,
    max_pixels: plan.maxPixels,
    max_concurrent_jobs: plan.maxConcurrentJobs,
    monthly_compressions: plan.monthlyCompressions,
    output_retention_seconds: plan.outputTtlSeconds,
  };
}
