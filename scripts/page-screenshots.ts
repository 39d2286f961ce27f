import { chromium } from 'playwright-core';
import { type DevServer, freePort, startDevServer } from './dev-server.ts';

/**
 * Screenshots of the web page for the docs, after real compressions, in headless Chromium:
 * docs/screenshots/page-desktop.png (1280 wide, with one refused file), page-compare.png (its
 * before/after view) and page-phone.png (375 wide).
 *
 *   node scripts/page-screenshots.ts [server url]    # without a url, starts wrangler dev on a free port
 */

const FILES = [
  'test/fixtures/photos/firstgeneration-480.jpg',
  'test/fixtures/photos/goldfish-400.png',
  'test/fixtures/natural/bird-384.jpg',
];
/** A text file, so that the desktop shot also shows how an error reads. */
const NOT_AN_IMAGE = { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('These are notes, not an image.\n') };
const SHOTS = [
  { path: 'docs/screenshots/page-desktop.png', viewport: { width: 1280, height: 800 }, withError: true },
  { path: 'docs/screenshots/page-phone.png', viewport: { width: 375, height: 740 }, withError: false },
];

let server: DevServer | undefined;
const url = process.argv[2] ?? (server = await startDevServer(await freePort())).url;
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true });
try {
  for (const shot of SHOTS) {
    const page = await browser.newPage({ viewport: shot.viewport, deviceScaleFactor: 1, colorScheme: 'light' });
    await page.goto(`${url}/`);
    await page.selectOption('#format', 'webp');
    await page.setInputFiles('#file-input', FILES);
    if (shot.withError) await page.setInputFiles('#file-input', [NOT_AN_IMAGE]);
    await page
      .locator('.result[data-state="done"]')
      .nth(FILES.length - 1)
      .waitFor({ timeout: 120_000 });
    if (shot.withError) await page.locator('.result[data-state="failed"]').waitFor();
    await page.screenshot({ path: shot.path, fullPage: true });
    console.log(`wrote ${shot.path}`);
    if (shot.withError) {
      await page.locator('.result .compare').nth(1).click();
      await page.locator('#compare-after').evaluate((img) => (img as HTMLImageElement).decode());
      await page.screenshot({ path: 'docs/screenshots/page-compare.png' });
      console.log('wrote docs/screenshots/page-compare.png');
    }
    await page.close();
  }
} finally {
  await browser.close();
  server?.stop();
}
