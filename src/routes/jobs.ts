import { Hono } from 'hono';
import { ApiError } from '../errors';
import { jobStub, ownedJob } from '../jobs/access';
import { jobView } from '../jobs/views';
import type { AppEnv } from '../types';

export const jobRoutes = new Hono<AppEnv>()
  .get('/:id', async (c) => {
    const job = await ownedJob(c.env, c.req.param('id'), c.get('account').id);
    return c.json(await jobView(job, c.env.SIGNING_SECRET));
  })
  .get('/:id/download', async (c) => {
    const job = await ownedJob(c.env, c.req.param('id'), c.get('account').id);
    if (job.status !== 'succeeded') {
      throw new ApiError('not_ready', `Job ${job.id} is ${job.status}; its output can be downloaded once it has succeeded`);
    }
    const { url } = await jobView(job, c.env.SIGNING_SECRET);
    // A succeeded job that is not removed (ownedJob answers 410 for those) always has its link.
    return c.redirect(url!, 302);
  })
  .delete('/:id', async (c) => {
    const job = await ownedJob(c.env, c.req.param('id'), c.get('account').id);
    await jobStub(c.env, job.id).delete();
    return c.body(null, 204);
  });
