import { Validator } from '@seriousme/openapi-schema-validator';
import { chromium } from 'playwright-core';
import { beforeAll, describe, expect, inject, it } from 'vitest';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

type Operation = { responses: Record<string, { content?: Record<string, unknown>; headers?: Record<string, unknown> }> };
type Document = { openapi: string; paths: Record<string, Record<string, Operation>> };

/**
 * The contract's routes (docs/api.md) and the statuses it gives each, which the document must
 * list. Runs in Node: the validator compiles its schemas with ajv, which workerd forbids.
 */
const CONTRACT: Record<string, Record<string, string[]>> = {
  '/v1/compress': { post: ['200', '202', '400', '401', '413', '415', '422', '429', '500'] },
  '/v1/jobs/{id}': { get: ['200', '401', '404', '410', '429'], delete: ['204', '401', '404', '410', '429'] },
  '/v1/jobs/{id}/download': { get: ['302', '401', '404', '410', '422', '429'] },
  '/v1/batch': { post: ['202', '400', '401', '429'] },
  '/v1/batches/{id}': { get: ['200', '401', '404', '429'] },
  '/v1/usage': { get: ['200', '401', '429'] },
  '/v1/formats': { get: ['200', '401'] },
  '/v1/files/{job_id}/{name}': { get: ['200', '403', '410'] },
  '/v1/health': { get: ['200'] },
};

let doc: Document;
beforeAll(async () => {
  const response = await fetch(`${inject('serverUrl')}/v1/openapi.json`);
  expect(response.status).toBe(200);
  doc = (await response.json()) as Document;
});

describe('GET /v1/openapi.json', () => {
  it('is a valid OpenAPI document', async () => {
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toMatch(/^3\.1\./);
  });

  it("lists every route of the contract with the contract's statuses", () => {
    for (const [path, operations] of Object.entries(CONTRACT)) {
      for (const [method, statuses] of Object.entries(operations)) {
        const operation = doc.paths[path]?.[method];
        expect(operation, `${method.toUpperCase()} ${path}`).toBeDefined();
        expect(Object.keys(operation!.responses), `${method.toUpperCase()} ${path}`).toEqual(expect.arrayContaining(statuses));
      }
    }
  });

  it('documents the sync answer in both forms, with its result headers', () => {
    const ok = doc.paths['/v1/compress']!.post!.responses['200']!;
    expect(Object.keys(ok.content!)).toEqual(
      expect.arrayContaining(['image/jpeg', 'image/png', 'image/webp', 'image/avif', 'application/json']),
    );
    const contractHeaders = [
      'X-Original-Size',
      'X-Compressed-Size',
      'X-Savings-Percent',
      'X-Format',
      'X-Width',
      'X-Height',
      'X-Job-Id',
      'Content-Disposition',
    ];
    expect(Object.keys(ok.headers!)).toEqual(expect.arrayContaining([...contractHeaders, 'X-Colors', 'X-Request-Id', 'X-RateLimit-Limit']));
    expect(Object.keys(doc.paths['/v1/compress']!.post!.responses['429']!.headers!)).toContain('Retry-After');
  });
});

describe('GET /docs', () => {
  it('serves the reference page without a key, pointed at the document', async () => {
    const response = await fetch(`${inject('serverUrl')}/docs`);
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toContain('"url": "/v1/openapi.json"');
    expect(html).toContain('@scalar/api-reference@');
  });

  it('says so, and links the document, when the renderer cannot be fetched from its CDN', async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    try {
      const page = await browser.newPage();
      // As offline: whatever the network here, the CDN is unreachable for this page.
      await page.route('https://cdn.jsdelivr.net/**', (route) => route.abort('internetdisconnected'));
      await page.goto(`${inject('serverUrl')}/docs`);
      const notice = page.locator('#docs-offline');
      await notice.waitFor({ state: 'visible', timeout: 10_000 });
      expect(await notice.textContent()).toMatch(/could not be loaded/);
      expect(await notice.locator('a').getAttribute('href')).toBe('/v1/openapi.json');
    } finally {
      await browser.close();
    }
  });
});
