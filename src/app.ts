import { Hono, type MiddlewareHandler } from 'hono';
import { authenticate, presentedKey } from './auth/keys';
import { codecFaultMessage, isCodecFault } from './codecs/faults';
import { ApiError } from './errors';
import { KvShardedRateLimiter, type RateLimiter } from './limits/rate-limiter';
import { batchRoutes } from './routes/batches';
import { compressRoutes } from './routes/compress';
import { docsRoutes } from './routes/docs';
import { jobRoutes } from './routes/jobs';
import { fileRoutes } from './routes/files';
import { metaRoutes } from './routes/meta';
import { usageRoutes } from './routes/usage';
import type { AppEnv } from './types';

/** Paths and the methods they answer, so that a known path with the wrong method gets 405, not 404. */
export const ROUTES: Record<string, string[]> = {
  '/docs': ['GET'],
  '/v1/health': ['GET'],
  '/v1/formats': ['GET'],
  '/v1/openapi.json': ['GET'],
  '/v1/compress': ['POST'],
  '/v1/files/:job_id/:name': ['GET'],
  '/v1/jobs/:id': ['GET', 'DELETE'],
  '/v1/jobs/:id/download': ['GET'],
  '/v1/batch': ['POST'],
  '/v1/batches/:id': ['GET'],
  '/v1/usage': ['GET'],
};

const PUBLIC_PATHS = new Set(['/v1/health', '/v1/formats', '/v1/openapi.json']);

export const app = new Hono<AppEnv>();

/** Gives every answer its request id, and renders whatever escaped the routes, Error or not. */
export const requestScope: MiddlewareHandler<AppEnv> = async (c, next) => {
  const requestId = crypto.randomUUID();
  c.set('requestId', requestId);
  try {
    await next();
  } catch (error) {
    // Hono's own handler sees only Errors; codecs built with Emscripten throw other things
    // (an ExitStatus, a number), which would otherwise leave as a bare 500 without JSON.
    c.res = renderError(error, requestId, c.req.path);
  }
  try {
    c.res.headers.set('X-Request-Id', requestId);
  } catch {
    // Headers of a response passed through unchanged are immutable: copy it.
    c.res = new Response(c.res.body, c.res);
    c.res.headers.set('X-Request-Id', requestId);
  }
};

app.use(requestScope);

app.use('/v1/*', async (c, next) => {
  if (PUBLIC_PATHS.has(c.req.path) || c.req.path.startsWith('/v1/files/') || !isKnownPath(c.req.path)) return next();
  const account = await authenticate(c.env, presentedKey(c.req.raw.headers), new URL(c.req.url).hostname);
  c.set('account', account);
  const decision = await rateLimiterFor(c.env.RATE_LIMITS).hit(account.id, account.plan.requestsPerMinute, (p) =>
    c.executionCtx.waitUntil(p),
  );
  const headers = {
    'X-RateLimit-Limit': String(decision.limit),
    'X-RateLimit-Remaining': String(decision.remaining),
    'X-RateLimit-Reset': String(decision.resetSeconds),
  };
  if (!decision.allowed) {
    throw new ApiError(
      'rate_limit_exceeded',
      `Over this plan's ${decision.limit} requests per minute; try again in ${decision.resetSeconds} s`,
      {
        headers: {
          ...headers,
          'Retry-After': String(decision.resetSeconds),
        },
      },
    );
  }
  try {
    await next();
  } finally {
    // On every authenticated answer, errors included (onError has already rendered them).
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  }
});

/** One limiter per isolate: its in-memory counts are what make it exact within the isolate. */
const limiters = new WeakMap<KVNamespace, RateLimiter>();
function rateLimiterFor(kv: KVNamespace): RateLimiter {
  let limiter = limiters.get(kv);
  if (!limiter) limiters.set(kv, (limiter = new KvShardedRateLimiter(kv)));
  return limiter;
}

app.route('/v1', metaRoutes);
app.route('/v1/compress', compressRoutes);
app.route('/v1/files', fileRoutes);
app.route('/v1/jobs', jobRoutes);
app.route('/v1', batchRoutes);
app.route('/v1', usageRoutes);
app.route('/docs', docsRoutes);

for (const [path, methods] of Object.entries(ROUTES)) {
  app.all(path, (c) => {
    throw new ApiError('method_not_allowed', `${c.req.method} is not allowed on ${c.req.path}; use ${methods.join(' or ')}`, {
      headers: {
        Allow: [...methods, ...(methods.includes('GET') ? ['HEAD'] : [])].join(', '),
      },
    });
  });
}

app.notFound((c) => renderError(new ApiError('not_found', `No route for ${c.req.method} ${c.req.path}`), c.get('requestId'), c.req.path));

app.onError((error, c) => renderError(error, c.get('requestId'), c.req.path));

function isKnownPath(path: string): boolean {
  return Object.keys(ROUTES).some((route) => routePattern(route).test(path));
}

const routePattern = (route: string) => new RegExp(`^${route.replace(/:\w+/g, '[^/]+')}$`);

/**
 * The one place errors become responses. Anything that is not an ApiError is an internal
 * fault: `compression_failed` where a compression runs, `internal_error` elsewhere.
 */
export function renderError(error: unknown, requestId: string, path = ''): Response {
  const apiError =
    error instanceof ApiError
      ? error
      : path === '/v1/compress'
        ? new ApiError(
            'compression_failed',
            isCodecFault(error) ? codecFaultMessage(error) : 'An internal error interrupted the compression; it is safe to retry',
          )
        : new ApiError('internal_error', 'An internal error interrupted the request; it is safe to retry');
  if (!(error instanceof ApiError)) console.error(`request ${requestId} failed:`, error);
  return Response.json(apiError.toBody(requestId), { status: apiError.status, headers: apiError.headers });
}
