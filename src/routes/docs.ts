import { Scalar } from '@scalar/hono-api-reference';
import { Hono } from 'hono';
import type { AppEnv } from '../types';

/**
 * The renderer Scalar's page loads. Pinned, so the page does not change under a deployment;
 * served from jsDelivr because its ~5 MB would more than double the Worker's bundle.
 */
export const SCALAR_BUNDLE_URL = 'https://cdn.jsdelivr.net/npm/@scalar/api-reference@1.76.4/esm.js';

/**
 * Shown when the renderer cannot be fetched (no network, the CDN blocked): the page says so
 * and links the document itself, rather than staying blank. Registered before Scalar's own
 * script, so that script's load error is seen.
 */
const OFFLINE_NOTICE = `
    <div id="docs-offline" hidden style="font: 16px/1.5 system-ui, sans-serif; max-width: 42em; margin: 3em auto; padding: 0 1em">
      <h1>compress-worker API reference</h1>
      <p>The reference viewer could not be loaded: it comes from cdn.jsdelivr.net, which this browser cannot reach.</p>
      <p>The OpenAPI document it renders is at <a href="/v1/openapi.json">/v1/openapi.json</a>; any OpenAPI viewer or client generator reads it.
      <code>docs/reference.md</code> in the repository explains the API in prose.</p>
    </div>
    <noscript><p>This page needs JavaScript; the OpenAPI document is at <a href="/v1/openapi.json">/v1/openapi.json</a>.</p></noscript>
    <script>
      addEventListener('error', (event) => {
        if (event.target instanceof HTMLScriptElement) document.getElementById('docs-offline').hidden = false;
      }, true);
    </script>`;

const scalar = Scalar<AppEnv>({
  url: '/v1/openapi.json',
  pageTitle: 'compress-worker API reference',
  bundle: SCALAR_BUNDLE_URL,
  // A self-hosted page should not call third parties beyond the renderer itself: no usage
  // reports to Scalar, no fonts from its servers, no toolbar for Scalar's hosted services.
  telemetry: false,
  withDefaultFonts: false,
  showDeveloperTools: 'never',
});

/** The API reference, public: Scalar's page around /v1/openapi.json. */
export const docsRoutes = new Hono<AppEnv>().get('/', async (c, next) => {
  const page = (await scalar(c, next)) as Response;
  const html = (await page.text()).replace('<body>', `<body>${OFFLINE_NOTICE}`);
  return c.html(html, 200, { 'Cache-Control': 'public, max-age=300' });
});
