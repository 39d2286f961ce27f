import { Hono } from 'hono';
import { monthBounds, monthOf } from '../accounts/usage';
import { accountStub } from '../jobs/access';
import { planLimits } from '../auth/plans';
import type { Usage } from '../schemas/responses';
import type { AppEnv } from '../types';

export const usageRoutes = new Hono<AppEnv>().get('/usage', async (c) => {
  const { id, plan } = c.get('account');
  const month = monthOf(Date.now());
  const { usage, activeJobs } = await accountStub(c.env, id).report(month);
  const { start, end } = monthBounds(month);
  return c.json({
    success: true,
    plan: planLimits(plan),
    period: { start: start.toISOString(), end: end.toISOString() },
    usage: {
      compressions: usage.compressions,
      compressions_remaining: Math.max(0, plan.monthlyCompressions - usage.compressions),
      bytes_in: usage.bytesIn,
      bytes_out: usage.bytesOut,
      bytes_saved: usage.bytesIn - usage.bytesOut,
    },
    concurrent_jobs: { active: activeJobs, limit: plan.maxConcurrentJobs },
  } satisfies Usage);
});
