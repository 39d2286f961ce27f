import { app } from './app';

export { JobObject } from './jobs/job-object';

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
