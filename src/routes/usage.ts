import { Hono } from 'hono';
import { monthBounds, monthOf } from '../accounts/usage';
import { accountStub } from '../jobs/access';
import type { AppEnv } from '../types';

export const usageRoutes = new Hono<AppEnv>().get('/usage', async (c) => {
  const { id, plan } = c.get('account');
  const month = monthOf(Date.now());
  const { usage, activeJobs } = await accountStub(c.env, id).report(month);
  const { start, end } = monthBounds(month);
  return c.json({
    success: true,
    plan: {
      name: plan.name,
      requests_per_minute: plan.requestsPerMinute,
      max_file_size: plan.maxFileBytes,
      max_pixels: plan.maxPixels,
      max_concurrent_jobs: plan.maxConcurrentJobs,
      monthly_compressions: plan.monthlyCompressions,
      output_retention_seconds: plan.outputTtlSeconds,
    },
    period: { start: start.toISOString(), end: end.toISOString() },
    usage: {
      compressions: usage.compressions,
      compressions_remaining: Math.max(0, plan.monthlyCompressions - usage.compressions),
      bytes_in: usage.bytesIn,
      bytes_out: usage.bytesOut,
      bytes_saved: usage.bytesIn - usage.bytesOut,
    },
    concurrent_jobs: { active: activeJobs, limit: plan.maxConcurrentJobs },
  });
});
