import type { TestProject } from 'vitest/node';
import { freePort, startDevServer } from '../../scripts/dev-server';

declare module 'vitest' {
  export interface ProvidedContext {
    serverUrl: string;
  }
}

/** One `wrangler dev` for every end-to-end test file, on a free loopback port. */
export default async function setup(project: TestProject) {
  // A busy machine can take a while to start wrangler and workerd.
  const server = await startDevServer(await freePort(), { RETRY_BASE_SECONDS: '0' }, 180);
  project.provide('serverUrl', server.url);
  return () => server.stop();
}
