import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startDevServer } from './dev-server.ts';

/**
 * A screenshot of the API reference at /docs for the docs (docs/screenshots/docs.png):
 *
 *   node scripts/docs-screenshot.ts [--bundle-dir <dir>]
 *
 * /docs loads Scalar's renderer from its CDN. Where that cannot be reached, `--bundle-dir`
 * names an unpacked copy of the same package (`npm pack @scalar/api-reference@<version>`),
 * whose files are served in the CDN's place.
 */
const bundleDir = process.argv.includes('--bundle-dir') ? process.argv[process.argv.indexOf('--bundle-dir') + 1] : undefined;
const server = await startDevServer(8796);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1, colorScheme: 'light' });
  if (bundleDir) {
    // The pinned URL (src/routes/docs.ts) is …/@scalar/api-reference@<version>/<file>.
    await page.route(/\/@scalar\/api-reference@[^/]+\//, (route) => {
      const file = new URL(route.request().url()).pathname.replace(/^.*\/@scalar\/api-reference@[^/]+\//, '');
      return route.fulfill({ body: readFileSync(join(bundleDir, file)), contentType: 'text/javascript' });
    });
  }
  await page.goto(`${server.url}/docs`);
  await page.getByText('/v1/compress').first().waitFor({ timeout: 60_000 });
  await page.waitForTimeout(1000);
  await page.screenshot({ path: 'docs/screenshots/docs.png' });
  console.log('wrote docs/screenshots/docs.png');
} finally {
  await browser.close();
  server.stop();
}
