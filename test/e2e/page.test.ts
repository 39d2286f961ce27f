import { readFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { type Browser, type Download, type Locator, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';

/**
 * The web page at `/`, driven in headless Chromium against the running Worker: what a person
 * sees and downloads must be what the API gives for the same file and options.
 */

// Callbacks given to page.evaluate run in Chromium; the project compiles against the Worker's types, not the DOM's.
declare const document: any, window: any, MutationObserver: any, getComputedStyle: any, DataTransfer: any, ClipboardEvent: any;

const serverUrl = inject('serverUrl');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const JPEG = 'test/fixtures/photos/firstgeneration-480.jpg';
const PNG = 'test/fixtures/photos/goldfish-400.png';
const SMALL_PNG = 'test/fixtures/photos/city-400.png';
const DEV_KEY = 'ck_dev_local';
/** Long enough for a smart search on a loaded two-core machine. */
const SETTLE_MS = 90_000;

let browser: Browser;

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
});

afterAll(async () => {
  await browser?.close();
});

interface OpenPage {
  page: Page;
  /** Uncaught exceptions and console errors in the page; every test expects none it did not cause. */
  problems: string[];
}

async function openPage(viewport = { width: 1280, height: 900 }): Promise<OpenPage> {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(SETTLE_MS);
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // A failed request is logged by Chromium as a console error; the tests that cause one say so.
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  const response = await page.goto(`${serverUrl}/`);
  expect(response?.status()).toBe(200);
  return { page, problems };
}

/** The same file and options straight to the API, the way curl would send them. */
async function compressWithApi(path: string, fields: Record<string, string>, name = path.split('/').pop()!) {
  const form = new FormData();
  form.append('file', new Blob([await readFile(path)]), name);
  for (const [field, value] of Object.entries(fields)) form.append(field, value);
  const response = await fetch(`${serverUrl}/v1/compress`, { method: 'POST', headers: { Authorization: `Bearer ${DEV_KEY}` }, body: form });
  return { status: response.status, headers: response.headers, bytes: Buffer.from(await response.arrayBuffer()) };
}

async function apiError(body: Blob, name: string) {
  const form = new FormData();
  form.append('file', body, name);
  const response = await fetch(`${serverUrl}/v1/compress`, { method: 'POST', headers: { Authorization: `Bearer ${DEV_KEY}` }, body: form });
  const json = (await response.json()) as { error: { code: string; message: string } };
  return { status: response.status, ...json.error };
}

const row = (page: Page, name: string) => page.locator('.result', { has: page.locator('.result-name', { hasText: name }) });

/** Waits until the file's row is done or failed, and says which (with the error text). */
async function settled(page: Page, name: string): Promise<{ state: string; error: string }> {
  const item = row(page, name);
  await item.and(page.locator('[data-state="done"], [data-state="failed"]')).waitFor({ timeout: SETTLE_MS });
  const error = item.locator('.result-error');
  return { state: (await item.getAttribute('data-state'))!, error: (await error.isVisible()) ? ((await error.textContent()) ?? '') : '' };
}

async function downloadOf(page: Page, trigger: () => Promise<void>): Promise<{ download: Download; bytes: Buffer }> {
  const [download] = await Promise.all([page.waitForEvent('download'), trigger()]);
  return { download, bytes: await readFile((await download.path())!) };
}

const sizeShown = async (item: Locator, which: 'before' | 'after') => {
  const data = item.locator(`.size-${which} data`);
  return { bytes: Number(await data.getAttribute('value')), text: (await data.textContent())! };
};

/** Stored entries of a zip (client-zip stores, it does not deflate), checked against their CRCs. */
function unzip(zip: Buffer): Map<string, Buffer> {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  expect(end).toBeGreaterThan(0);
  const count = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  const entries = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    expect(zip.readUInt32LE(offset)).toBe(0x02014b50);
    expect(zip.readUInt16LE(offset + 10)).toBe(0); // stored
    const crc = zip.readUInt32LE(offset + 16);
    const size = zip.readUInt32LE(offset + 20);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const local = zip.readUInt32LE(offset + 42);
    const name = zip.toString('utf8', offset + 46, offset + 46 + nameLength);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(start, start + size);
    expect(crc32(data) >>> 0, `CRC of ${name}`).toBe(crc);
    entries.set(name, Buffer.from(data));
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

describe('the page at /', () => {
  test('compresses picked files with the chosen options: shown sizes, downloads and the zip match the API', async () => {
    const { page, problems } = await openPage();
    // Served from 127.0.0.1, the page starts with the development key.
    await expect.poll(() => page.inputValue('#api-key')).toBe(DEV_KEY);
    await page.selectOption('#format', 'webp');
    await page.selectOption('#mode', 'size');
    await page.fill('#max-width', '320');
    await page.setInputFiles('#file-input', [JPEG, PNG]);

    const fields = { format: 'webp', mode: 'size', max_width: '320' };
    const downloads = new Map<string, Buffer>();
    for (const path of [JPEG, PNG]) {
      const name = path.split('/').pop()!;
      expect(await settled(page, name)).toEqual({ state: 'done', error: '' });
      const api = await compressWithApi(path, fields);
      expect(api.status).toBe(200);
      const item = row(page, name);

      const before = await sizeShown(item, 'before');
      const after = await sizeShown(item, 'after');
      expect(before.bytes).toBe((await readFile(path)).byteLength);
      expect(before.bytes).toBe(Number(api.headers.get('X-Original-Size')));
      expect(after.bytes).toBe(Number(api.headers.get('X-Compressed-Size')));
      expect(after.bytes).toBeLessThan(before.bytes);
      // The text is the same count for people: "22.6 kB" for 22592 bytes.
      expect(before.text).toBe(`${(before.bytes / 1000).toFixed(before.bytes < 10_000 ? 2 : before.bytes < 100_000 ? 1 : 0)} kB`);
      expect(await item.locator('.size-saving').textContent()).toBe(`${Number(api.headers.get('X-Savings-Percent')).toFixed(1)} %`);
      await expect.poll(() => item.locator('.result-state').textContent()).toMatch(/^Done: WEBP, 320×\d+$/);

      const { download, bytes } = await downloadOf(page, () => item.locator('.download').click());
      expect(download.suggestedFilename()).toBe(name.replace(/\.\w+$/, '.webp'));
      expect(bytes.equals(api.bytes)).toBe(true);
      downloads.set(download.suggestedFilename(), bytes);
    }
    await expect.poll(() => page.textContent('#summary')).toMatch(/^2 done: .+ saved\.$/);

    const zip = await downloadOf(page, () => page.click('#download-all'));
    expect(zip.download.suggestedFilename()).toBe('compressed-images.zip');
    const entries = unzip(zip.bytes);
    expect([...entries.keys()].sort()).toEqual([...downloads.keys()].sort());
    for (const [name, bytes] of downloads) expect(entries.get(name)!.equals(bytes), name).toBe(true);

    // The comparison shows the result at 1:1 and the divider follows the slider.
    await row(page, 'goldfish-400.png').locator('.compare').click();
    const dialog = page.locator('#compare');
    await expect.poll(() => dialog.isVisible()).toBe(true);
    await expect.poll(() => page.locator('#compare-after').evaluate((img) => img.complete && img.naturalWidth)).toBe(320);
    expect(await page.locator('#compare-stage').evaluate((el) => el.getBoundingClientRect().width)).toBe(320);
    await page.locator('#compare-position').fill('30');
    expect(await page.locator('#compare-after').evaluate((el) => el.style.clipPath)).toBe('inset(0px 0px 0px 30%)');
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.isVisible()).toBe(false);

    expect(problems).toEqual([]);
  });

  test("a file over the job threshold goes through a job, with its progress shown, and gives the API's bytes", async () => {
    const { page, problems } = await openPage();
    // Every state line the row shows, in order, however briefly.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { statesSeen: string[] }).statesSeen = seen;
      new MutationObserver(() => {
        const text = document.querySelector('.result-state')?.textContent;
        if (text && seen.at(-1) !== text) seen.push(text);
      }).observe(document.getElementById('results')!, { subtree: true, childList: true, characterData: true });
    });
    const requests: string[] = [];
    page.on('request', (request) =>
      requests.push(`${request.method()} ${new URL(request.url()).pathname}${new URL(request.url()).search}`),
    );
    await page.locator('summary', { hasText: 'More' }).click();
    await page.fill('#job-threshold', '0');
    await page.setInputFiles('#file-input', [PNG]);

    expect(await settled(page, 'goldfish-400.png')).toEqual({ state: 'done', error: '' });
    const posted = requests.find((r) => r.startsWith('POST /v1/compress'));
    expect(posted).toBe('POST /v1/compress?format=auto&mode=balanced&async=true');
    const polls = requests.filter((r) => /^GET \/v1\/jobs\/[^/]+$/.test(r));
    expect(polls.length).toBeGreaterThan(0);
    expect(requests).toContain(`${polls[0]}/download`);
    const states = (await page.evaluate(() => (window as unknown as { statesSeen: string[] }).statesSeen)).filter((s) => s !== 'Waiting');
    expect(states[0]).toMatch(/^Uploading \d+ %$/);
    // In order: the upload, the 202's job, the job's own progress (if a poll caught it running), the download.
    const queued = states.indexOf('Queued on the server');
    expect(queued).toBeGreaterThan(states.indexOf('Uploaded; creating a job…'));
    expect(states.indexOf('Uploaded; creating a job…')).toBeGreaterThan(0);
    for (const state of states.slice(queued + 1, -2)) expect(state).toMatch(/^Compressing \d+ %$|^Queued on the server$/);
    expect(states.at(-2)).toBe('Downloading the result…');
    expect(states.at(-1)).toMatch(/^Done: PNG, 400×\d+, by a job$/);

    const api = await compressWithApi(PNG, { format: 'auto', mode: 'balanced' });
    expect(api.status).toBe(200);
    const item = row(page, 'goldfish-400.png');
    expect((await sizeShown(item, 'after')).bytes).toBe(api.bytes.byteLength);
    const { download, bytes } = await downloadOf(page, () => item.locator('.download').click());
    expect(download.suggestedFilename()).toBe('goldfish-400.png');
    expect(bytes.equals(api.bytes)).toBe(true);
    expect(problems).toEqual([]);
  });

  test("each bad file shows the API's error in words, with its status, and the others still succeed", async () => {
    const { page, problems } = await openPage();
    const jpeg = await readFile(JPEG);
    const truncated = jpeg.subarray(0, Math.floor(jpeg.byteLength * 0.6));
    const text = Buffer.from('These are notes, not an image.\n');
    await page.setInputFiles('#file-input', [
      { name: 'notes.txt', mimeType: 'text/plain', buffer: text },
      { name: 'truncated.jpg', mimeType: 'image/jpeg', buffer: truncated },
      { name: 'firstgeneration-480.jpg', mimeType: 'image/jpeg', buffer: jpeg },
    ]);

    for (const [name, body] of [
      ['notes.txt', text],
      ['truncated.jpg', truncated],
    ] as const) {
      const expected = await apiError(new Blob([body]), name);
      expect(expected.status).toBeGreaterThanOrEqual(400);
      const result = await settled(page, name);
      expect(result).toEqual({ state: 'failed', error: `${expected.status} ${expected.code}: ${expected.message}` });
      await expect.poll(() => row(page, name).locator('.retry').isVisible()).toBe(true);
    }
    expect((await settled(page, 'firstgeneration-480.jpg')).state).toBe('done');
    await expect.poll(() => page.textContent('#summary')).toMatch(/^1 done: .+; 2 failed\.$/);
    // Chromium logs each failed response as a console error; nothing else may appear.
    expect(problems.filter((p) => !/status of 4\d\d/.test(p))).toEqual([]);
  });

  test('a network failure and a refused key are explained; the key entered is kept across visits', async () => {
    const { page } = await openPage();
    await page.route('**/v1/compress', (route) => route.abort('connectionreset'));
    await page.setInputFiles('#file-input', [JPEG]);
    const network = await settled(page, 'firstgeneration-480.jpg');
    expect(network.state).toBe('failed');
    expect(network.error).toMatch(/^Network error: the server could not be reached/);
    await page.unroute('**/v1/compress');
    await row(page, 'firstgeneration-480.jpg').locator('.remove').click();
    await expect.poll(() => page.locator('.result').count()).toBe(0);

    await page.fill('#api-key', 'ck_live_notARealKey');
    await page.reload();
    expect(await page.inputValue('#api-key')).toBe('ck_live_notARealKey');
    await page.setInputFiles('#file-input', [JPEG]);
    expect(await settled(page, 'firstgeneration-480.jpg')).toEqual({ state: 'failed', error: '401 unauthorized: Unknown API key' });

    // Retry uses the key as it is now. A short rate limit on the way is waited out, not shown as a failure.
    await page.fill('#api-key', DEV_KEY);
    let limited = 0;
    await page.route('**/v1/compress', (route) => {
      if (limited++ > 0) return route.continue();
      return route.fulfill({
        status: 429,
        headers: { 'Retry-After': '1', 'Content-Type': 'application/json' },
        body: JSON.stringify({
          success: false,
          id: 'r',
          error: { code: 'rate_limit_exceeded', message: "Over this plan's 30 requests per minute; try again in 1 s" },
        }),
      });
    });
    await row(page, 'firstgeneration-480.jpg').locator('.retry').click();
    await expect
      .poll(() => row(page, 'firstgeneration-480.jpg').locator('.result-state').textContent())
      .toBe('Over the rate limit; trying again in 1 s');
    expect(await settled(page, 'firstgeneration-480.jpg')).toEqual({ state: 'done', error: '' });
    expect(limited).toBe(2);
  });

  test('files dropped on the page or pasted are taken as picked ones are; names alike stay apart in the zip', async () => {
    const { page, problems } = await openPage();
    const base64 = (await readFile(SMALL_PNG)).toString('base64');
    /** A DataTransfer holding the fixture under each of `names`, built inside the page. */
    const transferOf = (names: string[]) =>
      page.evaluateHandle(
        ({ base64, names }) => {
          const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
          const transfer = new DataTransfer();
          for (const name of names) transfer.items.add(new File([bytes], name, { type: 'image/png' }));
          return transfer;
        },
        { base64, names },
      );

    const dropped = await transferOf(['dropped.png']);
    await page.dispatchEvent('#drop-zone', 'dragenter', { dataTransfer: dropped });
    expect(await page.locator('#drop-zone').getAttribute('class')).toContain('dragging');
    await page.dispatchEvent('#drop-zone', 'drop', { dataTransfer: dropped });
    expect(await page.locator('#drop-zone').getAttribute('class')).not.toContain('dragging');
    // Pasted screenshots all arrive as "image.png".
    const pasted = await transferOf(['image.png', 'image.png']);
    await page.evaluate((clipboardData) => document.dispatchEvent(new ClipboardEvent('paste', { clipboardData, bubbles: true })), pasted);

    await expect.poll(() => page.locator('.result').count()).toBe(3);
    const rowStates = () =>
      page
        .locator('.result')
        .evaluateAll((rows) =>
          rows.map(
            (r) => `${r.dataset.state}: ${r.querySelector('.result-state').textContent} ${r.querySelector('.result-error').textContent}`,
          ),
        );
    await expect.poll(rowStates, { timeout: SETTLE_MS }).toEqual(Array(3).fill(expect.stringMatching(/^done: Done: PNG/)));
    const api = await compressWithApi(SMALL_PNG, { format: 'auto', mode: 'balanced' });
    const afters = await page.locator('.size-after data').evaluateAll((cells) => cells.map((cell) => Number(cell.value)));
    expect(afters).toEqual([api.bytes.byteLength, api.bytes.byteLength, api.bytes.byteLength]);

    const zip = unzip((await downloadOf(page, () => page.click('#download-all'))).bytes);
    expect([...zip.keys()]).toEqual(['dropped.png', 'image.png', 'image-2.png']);
    for (const bytes of zip.values()) expect(bytes.equals(api.bytes)).toBe(true);
    expect(problems).toEqual([]);
  });

  test('at 375 px wide nothing overflows sideways, with results and the comparison open', async () => {
    const { page, problems } = await openPage({ width: 375, height: 740 });
    await page.setInputFiles('#file-input', [JPEG]);
    expect((await settled(page, 'firstgeneration-480.jpg')).state).toBe('done');
    const widest = () =>
      page.evaluate(() => {
        const boxes = [...document.querySelectorAll('body *')]
          .filter((el) => !el.closest('.visually-hidden, dialog:not([open]), .compare-view'))
          .map((el) => el.getBoundingClientRect())
          .filter((box) => box.width > 0);
        return {
          scrollWidth: document.documentElement.scrollWidth,
          right: Math.max(...boxes.map((box) => box.right)),
          left: Math.min(...boxes.map((box) => box.left)),
        };
      });
    const layout = await widest();
    expect(layout.scrollWidth).toBeLessThanOrEqual(375);
    expect(layout.right).toBeLessThanOrEqual(375);
    expect(layout.left).toBeGreaterThanOrEqual(0);

    // The 480 px image is wider than the phone: the view scrolls inside the dialog, the page does not.
    await row(page, 'firstgeneration-480.jpg').locator('.compare').click();
    const open = await widest();
    expect(open.scrollWidth).toBeLessThanOrEqual(375);
    expect(open.right).toBeLessThanOrEqual(375);
    const view = await page.locator('#compare-view').evaluate((el) => ({ scrollWidth: el.scrollWidth, clientWidth: el.clientWidth }));
    expect(view.scrollWidth).toBeGreaterThan(view.clientWidth);
    expect(problems).toEqual([]);
  });

  test('one flow by keyboard alone: choose a file, download it, compare', async () => {
    const { page, problems } = await openPage();
    // Listening before any key press: Chromium's file chooser is intercepted only once the listener is registered.
    const chooserOpened = page.waitForEvent('filechooser');
    const focusedId = () => page.evaluate(() => document.activeElement?.id ?? '');
    for (let presses = 0; (await focusedId()) !== 'drop-zone'; presses++) {
      expect(presses, 'Tab reaches the drop zone').toBeLessThan(15);
      await page.keyboard.press('Tab');
    }
    // Focus is visible where the keyboard put it.
    expect(await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)).not.toBe('none');
    await page.keyboard.press('Enter');
    const chooser = await chooserOpened;
    expect(chooser.isMultiple()).toBe(true);
    await chooser.setFiles(JPEG);
    expect((await settled(page, 'firstgeneration-480.jpg')).state).toBe('done');

    const item = row(page, 'firstgeneration-480.jpg');
    const isFocused = (locator: Locator) => locator.evaluate((el) => el === document.activeElement);
    for (let presses = 0; !(await isFocused(item.locator('.download'))); presses++) {
      expect(presses, 'Tab reaches the download link').toBeLessThan(15);
      await page.keyboard.press('Tab');
    }
    const api = await compressWithApi(JPEG, { format: 'auto', mode: 'balanced' });
    const { bytes } = await downloadOf(page, () => page.keyboard.press('Enter'));
    expect(bytes.equals(api.bytes)).toBe(true);

    await page.keyboard.press('Shift+Tab');
    expect(await isFocused(item.locator('.compare'))).toBe(true);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#compare').isVisible()).toBe(true);
    expect(await focusedId()).toBe('compare-position');
    for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowRight');
    expect(await page.inputValue('#compare-position')).toBe('55');
    expect(await page.locator('#compare-after').evaluate((el) => el.style.clipPath)).toBe('inset(0px 0px 0px 55%)');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('#compare').isVisible()).toBe(false);
    // Closing gives focus back to the button that opened the comparison.
    expect(await isFocused(item.locator('.compare'))).toBe(true);
    expect(problems).toEqual([]);
  });
});
