import { describe, expect, it } from 'vitest';
import { ROUTES, app } from '../../../src/app';
import { openApiDocument } from '../../../src/routes/openapi';
import { api } from '../../helpers';

type Document = {
  paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
  components: { schemas: Record<string, unknown> };
};

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
/** Hono's `:id` as OpenAPI's `{id}`. */
const toOpenApiPath = (path: string) => path.replace(/:(\w+)/g, '{$1}');

/** What the app really answers: its registered handlers, not middleware or the 405 fallbacks. */
function answeredRoutes(): string[] {
  return [...new Set(app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${toOpenApiPath(r.path)}`))].sort();
}

function documentedRoutes(doc: Document): string[] {
  return Object.entries(doc.paths)
    .flatMap(([path, item]) =>
      Object.keys(item)
        .filter((key) => METHODS.includes(key))
        .map((method) => `${method.toUpperCase()} ${path}`),
    )
    .sort();
}

describe('the OpenAPI document', () => {
  it('documents exactly the routes the app answers, and the 405 table knows them all', async () => {
    const doc = (await (await api('/v1/openapi.json')).json()) as Document;
    expect(documentedRoutes(doc)).toEqual(answeredRoutes());
    const table = Object.entries(ROUTES)
      .flatMap(([path, methods]) => methods.map((method) => `${method} ${toOpenApiPath(path)}`))
      .sort();
    expect(table).toEqual(answeredRoutes());
  });

  it('gives every operation a success answer and its errors, and names every component it refers to', () => {
    const doc = openApiDocument() as Document;
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(item).filter(([key]) => METHODS.includes(key))) {
        const codes = Object.keys(operation.responses ?? {});
        expect(
          codes.some((code) => /^[23]/.test(code)),
          `${method} ${path}`,
        ).toBe(true);
        if (path !== '/docs')
          expect(
            codes.some((code) => /^5/.test(code)),
            `${method} ${path}`,
          ).toBe(true);
      }
    }
    const refs = [...JSON.stringify(doc).matchAll(/"#\/components\/schemas\/(\w+)"/g)].map((m) => m[1]!);
    for (const name of new Set(refs)) expect(doc.components.schemas, name).toHaveProperty(name);
  });

  it('documents the options from the validation schema', async () => {
    const doc = (await (await api('/v1/openapi.json')).json()) as {
      components: { schemas: { CompressOptions: { properties: Record<string, unknown> } } };
    };
    expect(Object.keys(doc.components.schemas.CompressOptions.properties)).toContain('max_width');
  });
});

describe('/docs', () => {
  it('is public, renders the document with Scalar, and says what to do when the renderer cannot load', async () => {
    const response = await api('/docs');
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toContain('/v1/openapi.json');
    expect(html).toMatch(/cdn\.jsdelivr\.net\/npm\/@scalar\/api-reference@[\d.]+\/esm\.js/);
    expect(html).toContain('id="docs-offline"');
    const post = await api('/docs', { method: 'POST' });
    expect(post.status).toBe(405);
  });
});
