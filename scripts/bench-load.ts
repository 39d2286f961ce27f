/**
 * The Worker under load: many concurrent clients against `wrangler dev` on loopback, async
 * jobs alongside, and the time our own code spends outside the codecs per request.
 *
 *   npm run bench:load -- [images…] [--duration 20] [--connections 32] [--jobs 100] [--port 8795]
 *
 * 1. Load: autocannon keeps `--connections` clients busy for `--duration` seconds, each
 *    cycling through JPEG and PNG uploads (default: small fixtures from test/fixtures), sent
 *    alternately as a raw body and as a multipart form. A quarter of the way in, `--jobs`
 *    async compressions (`async=true`) are submitted at once.
 * 2. Jobs: every job is polled (round robin, `--poll-rate` a second) until it is final
 *    (`succeeded`, `failed`, `canceled`); one still not final `--job-timeout` seconds after
 *    submission is lost.
 * 3. Own code: the V8 sampling profiler of the isolate that runs the Worker (and, locally,
 *    its Durable Objects and queue consumers), reached over the workerd runtime's inspector,
 *    records `--profile-requests` compressions (4 at a time), then 200 `GET /v1/usage` (one
 *    at a time; auth, rate limit, a Durable Object call, no codec work). Each sample goes to
 *    the module its function comes from in the bundle: codecs (wasm, the jSquash glue,
 *    src/codecs, ssim.js), our pixel work around them (src/pipeline, exifr,
 *    image-size, crc-32), or our own code (everything else: routes, auth, limits, storage,
 *    jobs, Durable Objects, Hono, Zod, the runtime's JS); a built-in counts for its JS caller.
 *    Samples count as the sampling interval, so time the isolate was not running (I/O waits,
 *    workerd's own work, the local storage simulators) counts for nobody; the same total with
 *    every gap charged to the sample before it is printed as an upper bound, and the latency
 *    of the usage requests as a cross-check. In-Worker timers cannot do this: in production
 *    Date.now() stands still while code runs. Under wrangler dev it does advance (a 1 s busy
 *    loop reads 983 ms), but using it would mean instrumenting src/.
 *
 * Every request uses one key (default `ck_dev_local`, 1000 requests a minute). Requests other
 * than the load wait for the key's next minute when its budget (X-RateLimit-Remaining) runs
 * low; a 429 is counted apart from errors, never hidden. Exit status 1 if anything failed or
 * a job was lost.
 *
 * wrangler dev runs one isolate, so throughput is one core's, and the isolate interleaves every
 * open request at its awaits: latency is about connections × CPU per request, and a run
 * should last a few times that for req/s to mean much. Requests still open when the time is
 * up are shown, not counted. Numbers from a busy machine are not benchmark results.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { type DevServer, startDevServer } from './dev-server.ts';
import { BUNDLE_PRELUDE, type Bundle, Inspector, type Profile, inspectorUrl, readBundles } from './inspector.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    duration: { type: 'string', default: '20' },
    connections: { type: 'string', default: '32' },
    timeout: { type: 'string', default: '60', description: 'seconds before a load request counts as timed out' },
    jobs: { type: 'string', default: '100' },
    'job-timeout': { type: 'string', default: '120' },
    'poll-rate': { type: 'string', default: '5' },
    'profile-requests': { type: 'string', default: '40' },
    port: { type: 'string', default: '8795' },
    key: { type: 'string', default: 'ck_dev_local' },
    options: { type: 'string', default: '', description: 'extra query options for every compression, e.g. quality=80' },
  },
});

const fixture = (path: string) => new URL(`../test/fixtures/${path}`, import.meta.url).pathname;
const imagePaths = positionals.length
  ? positionals
  : ['exif-orientation/Landscape_5.jpg', 'pngsuite/basn6a08.png', 'photos/firstgeneration-480.jpg', 'photos/city-400.png'].map(fixture);
const images = imagePaths.map((path) => ({ name: basename(path), bytes: readFileSync(path) }));
const port = Number(values.port);
const auth = { Authorization: `Bearer ${values.key}` };
const query = values.options ? `?${values.options}` : '';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const ms = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
const row = (...cells: unknown[]) => console.log(`| ${cells.join(' | ')} |`);

// ---------------------------------------------------------------- requests outside the load

/** The key's per-minute budget as the server last reported it. */
const budget = { remaining: Infinity, resetsAt: 0, throttled: 0 };

function noteBudget(response: Response): void {
  const remaining = response.headers.get('x-ratelimit-remaining');
  const reset = response.headers.get('x-ratelimit-reset');
  if (remaining !== null && reset !== null)
    Object.assign(budget, { remaining: Number(remaining), resetsAt: Date.now() + Number(reset) * 1000 });
}

/** Waits for the key's next window unless `needed` requests (and a margin for the load) fit in this one. */
async function reserve(url: string, needed: number): Promise<void> {
  noteBudget(await fetch(`${url}/v1/usage`, { headers: auth }));
  if (budget.remaining >= needed + 20) return;
  const wait = budget.resetsAt - Date.now() + 1000;
  console.log(
    `  (waiting ${(wait / 1000).toFixed(0)} s for the key's next minute: ${budget.remaining} requests left in this one, ${needed} needed)`,
  );
  await sleep(wait);
}

/** A request outside the load; a 429 is counted and waited out (Retry-After), then sent again. */
async function api(url: string, path: string, init: RequestInit = {}): Promise<Response> {
  for (;;) {
    const response = await fetch(url + path, { ...init, headers: { ...auth, ...init.headers } });
    noteBudget(response);
    if (response.status !== 429) return response;
    budget.throttled++;
    await response.arrayBuffer();
    await sleep(Number(response.headers.get('retry-after') ?? 1) * 1000 + 250);
  }
}

const compressBody = (image: (typeof images)[number]): RequestInit => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/octet-stream' },
  body: new Uint8Array(image.bytes),
});

// ---------------------------------------------------------------------------------- load

interface Histogram {
  average: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  total: number;
  sent?: number;
}
interface LoadResult {
  duration: number;
  latency: Histogram;
  requests: Histogram;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number }>;
}
interface LoadRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  onResponse: (status: number, body: string, context: object, headers: Record<string, string>) => void;
}
interface LoadClient {
  setRequests(requests: LoadRequest[]): void;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  timeout: number;
  requests: LoadRequest[];
  setupClient: (client: LoadClient) => void;
}) => Promise<LoadResult>;
// No type declarations ship with autocannon; the interfaces above are the part used here.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

/** Answers that were not a compressed image, by status, with the first body of each. */
const loadFailures = new Map<string, { count: number; example: string }>();

function loadRequests(): LoadRequest[] {
  const onResponse: LoadRequest['onResponse'] = (status, body, _context, headers) => {
    const ok = status === 200 && Object.keys(headers).some((name) => name.toLowerCase() === 'x-format');
    if (ok) return;
    const kind = status === 200 ? '200 without X-Format' : String(status);
    const seen = loadFailures.get(kind) ?? { count: 0, example: body.slice(0, 300) };
    seen.count++;
    loadFailures.set(kind, seen);
  };
  return images.map((image, i) => {
    const path = `/v1/compress${query}`;
    // Alternate the two upload shapes: a raw body, and a multipart form with a `file` field.
    if (i % 2 === 0)
      return { method: 'POST', path, headers: { ...auth, 'content-type': 'application/octet-stream' }, body: image.bytes, onResponse };
    const boundary = `----bench-load-${i}`;
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${image.name}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
      ),
      image.bytes,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    return { method: 'POST', path, headers: { ...auth, 'content-type': `multipart/form-data; boundary=${boundary}` }, body, onResponse };
  });
}

async function runLoad(url: string): Promise<LoadResult> {
  const requests = loadRequests();
  let next = 0;
  return autocannon({
    url,
    connections: Number(values.connections),
    duration: Number(values.duration),
    timeout: Number(values.timeout),
    requests,
    // Each client starts at a different image, so the mix holds from the first second.
    setupClient: (client) => {
      const start = next++ % requests.length;
      client.setRequests([...requests.slice(start), ...requests.slice(0, start)]);
    },
  });
}

// ---------------------------------------------------------------------------------- jobs

const FINAL = new Set(['succeeded', 'failed', 'canceled']);

interface Job {
  id?: string;
  image: string;
  submittedAt: number;
  status: string;
  finalAt?: number;
  error?: string;
  /** Polls answered with anything but 200 (or 410 for an expired job). */
  pollErrors: number;
}

async function submitJobs(url: string, count: number): Promise<Job[]> {
  await reserve(url, count);
  return Promise.all(
    Array.from({ length: count }, async (_, i): Promise<Job> => {
      const image = images[i % images.length]!;
      const submittedAt = Date.now();
      const response = await api(url, `/v1/compress?async=true${values.options ? `&${values.options}` : ''}`, compressBody(image));
      const body = (await response.json().catch(() => ({}))) as { id?: string; status?: string; error?: { code: string; message: string } };
      if (response.status !== 202 || !body.id) {
        const error = `HTTP ${response.status} ${body.error?.code ?? ''} ${body.error?.message ?? ''}`;
        return { image: image.name, submittedAt, status: 'not submitted', error, pollErrors: 0 };
      }
      return { id: body.id, image: image.name, submittedAt, status: body.status ?? 'queued', pollErrors: 0 };
    }),
  );
}

/** Polls every unfinished job in turn, at most `--poll-rate` requests a second, until all are final or time runs out. */
async function awaitJobs(url: string, jobs: Job[]): Promise<void> {
  const timeoutMs = Number(values['job-timeout']) * 1000;
  const interval = 1000 / Number(values['poll-rate']);
  const pending = jobs.filter((job) => job.id && !FINAL.has(job.status));
  while (pending.length) {
    const job = pending.shift()!;
    const started = Date.now();
    if (started - job.submittedAt > timeoutMs) {
      // Out of time: one last look, then it stays lost.
      if (!(await poll(url, job))) continue;
    } else if (!(await poll(url, job))) {
      pending.push(job);
    }
    if (budget.remaining < 20) await sleep(Math.max(0, budget.resetsAt - Date.now()) + 1000);
    await sleep(Math.max(0, interval - (Date.now() - started)));
  }
}

/** True once the job is final. */
async function poll(url: string, job: Job): Promise<boolean> {
  const response = await api(url, `/v1/jobs/${job.id}`);
  const body = (await response.json().catch(() => ({}))) as { status?: string; error?: { code: string; message: string } };
  if (response.status === 410) job.status = 'expired';
  else if (response.status !== 200) {
    job.pollErrors++;
    job.error = `poll: HTTP ${response.status} ${body.error?.code ?? ''}`;
  } else job.status = body.status ?? 'unknown';
  if (body.error && job.status === 'failed') job.error = `${body.error.code}: ${body.error.message}`;
  if (FINAL.has(job.status) || job.status === 'expired') {
    job.finalAt = Date.now();
    return true;
  }
  return false;
}

// ----------------------------------------------------------------------- own-code profile

type Bucket = 'codecs' | 'pipeline' | 'own' | 'gc' | 'program' | 'idle';

/** Which bucket a bundled module belongs to. */
function bucketOf(module: string): Bucket {
  // wasm-instantiate-shim.js is the runtime's WebAssembly.Instance wrapper, called by src/codecs.
  if (/^wasm$|^wasm-instantiate-shim\.js$|@jsquash\/|\/ssim\.js\/|^src\/codecs\//.test(module)) return 'codecs';
  if (/^src\/pipeline\/|\/exifr\/|\/image-size\/|\/crc-32\//.test(module)) return 'pipeline';
  return 'own';
}

interface Attribution {
  /** Sampled time (samples × the sampling interval), and the same with unsampled gaps charged to the sample before them. */
  ms: Record<Bucket, number>;
  withGaps: Record<Bucket, number>;
  /** The time the profile spans. */
  profiledMs: number;
  /** Milliseconds by module and by function, for the own and pipeline buckets. */
  modules: Record<'own' | 'pipeline', Map<string, number>>;
  functions: Record<'own' | 'pipeline', Map<string, number>>;
}

/** Self time of every sample, in buckets; a built-in (no script) counts for its nearest JS caller. */
function attribute(profile: Profile, scriptUrls: Map<string, string>, bundles: Map<string, Bundle>): Attribution {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);

  const where = new Map<number, { bucket: Bucket; module: string; fn: string }>();
  const locate = (id: number): { bucket: Bucket; module: string; fn: string } => {
    const known = where.get(id);
    if (known) return known;
    const { callFrame } = nodes.get(id)!;
    const name = callFrame.functionName;
    let found: { bucket: Bucket; module: string; fn: string };
    if (name === '(garbage collector)') found = { bucket: 'gc', module: name, fn: name };
    else if (name === '(program)') found = { bucket: 'program', module: name, fn: name };
    else if (name === '(idle)' || name === '(root)') found = { bucket: 'idle', module: name, fn: name };
    else {
      const url = scriptUrls.get(callFrame.scriptId) ?? callFrame.url;
      const module = url
        ? (bundles.get(callFrame.scriptId)?.moduleOf(callFrame.lineNumber) ?? (url.startsWith('wasm:') ? 'wasm' : url))
        : undefined;
      const parent = parents.get(id);
      const caller = parent === undefined ? undefined : locate(parent);
      if (module && module !== BUNDLE_PRELUDE) found = { bucket: bucketOf(module), module, fn: `${name || '(anonymous)'} (${module})` };
      // A built-in, or one of esbuild's helpers (`__name`), counts for its caller.
      else if (caller && caller.bucket !== 'idle') found = { ...caller, fn: `${name || '(native)'} ← ${caller.fn}` };
      else found = { bucket: 'own', module: '(runtime, no JS caller)', fn: name || '(runtime, no JS caller)' };
    }
    where.set(id, found);
    return found;
  };

  // Each sample stands for the sampling interval, measured as the most common gap between
  // samples (the requested 250 µs plus the sampler's overhead). Longer gaps are time the
  // isolate was not sampled: not entered (waiting for I/O, the thread running workerd's own
  // work or the local KV/R2/DO storage simulators), or the sampler starved of CPU. `withGaps`
  // charges each gap to the sample before it, as DevTools does: an upper bound, since that
  // charges the call that started a wait (a Durable Object call, a storage put) for the wait.
  const deltas = profile.timeDeltas.slice(1);
  const interval = mostCommon(deltas.map((delta) => Math.round(delta / 25) * 25)) / 1000;
  const empty = (): Record<Bucket, number> => ({ codecs: 0, pipeline: 0, own: 0, gc: 0, program: 0, idle: 0 });
  const result: Attribution = {
    ms: empty(),
    withGaps: empty(),
    profiledMs: deltas.reduce((sum, d) => sum + d, 0) / 1000,
    modules: { own: new Map(), pipeline: new Map() },
    functions: { own: new Map(), pipeline: new Map() },
  };
  profile.samples.forEach((id, i) => {
    const { bucket, module, fn } = locate(id);
    result.ms[bucket] += interval;
    result.withGaps[bucket] += Math.max(interval, (deltas[i] ?? 0) / 1000);
    if (bucket !== 'own' && bucket !== 'pipeline') return;
    result.modules[bucket].set(module, (result.modules[bucket].get(module) ?? 0) + interval);
    result.functions[bucket].set(fn, (result.functions[bucket].get(fn) ?? 0) + interval);
  });
  return result;
}

function mostCommon(numbers: number[]): number {
  const counts = new Map<number, number>();
  for (const n of numbers) counts.set(n, (counts.get(n) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 0;
}

/** Runs `count` calls of `request`, `concurrency` at a time, and returns each one's milliseconds. */
async function run(
  count: number,
  concurrency: number,
  request: (i: number) => Promise<Response>,
): Promise<{ latencies: number[]; failures: string[] }> {
  const latencies: number[] = [];
  const failures: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < count; i = next++) {
        const started = performance.now();
        const response = await request(i);
        await response.arrayBuffer();
        latencies.push(performance.now() - started);
        if (!response.ok) failures.push(`HTTP ${response.status}`);
      }
    }),
  );
  return { latencies: latencies.sort((a, b) => a - b), failures };
}

/** Requests without codec work profiled after the compressions: auth, rate limit, a Durable Object call, JSON. */
const NO_CODEC_REQUESTS = 200;

interface ProfiledPhase {
  label: string;
  count: number;
  latencies: number[];
  failures: string[];
  attribution: Attribution;
}

async function profileOwnCode(url: string, workerdPid: number): Promise<ProfiledPhase[]> {
  const compressions = Number(values['profile-requests']);
  await reserve(url, compressions + NO_CODEC_REQUESTS + 10);
  const inspector = await Inspector.connect(await inspectorUrl(workerdPid));
  try {
    await inspector.send('Profiler.setSamplingInterval', { interval: 250 });
    const record = async (label: string, count: number, concurrency: number, request: (i: number) => Promise<Response>) => {
      await inspector.send('Profiler.start');
      const outcome = await run(count, concurrency, request);
      await sleep(200); // the requests' waitUntil work (rate-limit flush, usage accounting)
      const { profile } = await inspector.send<{ profile: Profile }>('Profiler.stop');
      return { label, count, ...outcome, profile };
    };
    const phases = [
      await record(`POST /v1/compress, 4 at a time`, compressions, 4, (i) =>
        api(url, `/v1/compress${query}`, compressBody(images[i % images.length]!)),
      ),
      await record('GET /v1/usage, one at a time', NO_CODEC_REQUESTS, 1, () => api(url, '/v1/usage')),
    ];

    const bundles = await readBundles(inspector);
    return phases.map(({ profile, ...phase }) => ({ ...phase, attribution: attribute(profile, inspector.scripts, bundles) }));
  } finally {
    inspector.close();
  }
}

/** wrangler reloads the runtime when a file it watches changes, which ends an inspector session: warm the new one and profile again. */
async function profileRetrying(server: DevServer): Promise<ProfiledPhase[]> {
  for (let attempt = 1; ; attempt++) {
    const pid = server.runtimePid();
    try {
      if (!pid) throw new Error('no workerd runtime process under wrangler');
      return await profileOwnCode(server.url, pid);
    } catch (error) {
      if (attempt === 3) throw error;
      await sleep(5000);
      const reloaded = server.runtimePid() !== pid ? 'wrangler reloaded the runtime' : 'the runtime process is the same';
      console.log(`  (profiling failed: ${(error as Error).message}; ${reloaded}; warming it and profiling again)`);
      await warm(server.url);
    }
  }
}

/** The key's month so far, as `GET /v1/usage` reports it. */
async function usage(url: string): Promise<{ compressions: number; activeJobs: number }> {
  const body = (await (await api(url, '/v1/usage')).json()) as { usage: { compressions: number }; concurrent_jobs: { active: number } };
  return { compressions: body.usage.compressions, activeJobs: body.concurrent_jobs.active };
}

/** Every codec and code path compiled once, outside the measurements. */
async function warm(url: string): Promise<void> {
  for (const image of images) await (await api(url, `/v1/compress${query}`, compressBody(image))).arrayBuffer();
}

// ---------------------------------------------------------------------------------- main

console.log(
  `images: ${images.map((image) => `${image.name} (${image.bytes.byteLength} B)`).join(', ')}${values.options ? `; options ${values.options}` : ''}`,
);
const server = await startDevServer(port);
let failed = false;
try {
  await warm(server.url);
  await reserve(server.url, 300);
  const before = await usage(server.url);

  console.log(
    `\nload: ${values.connections} connections for ${values.duration} s, ${values.jobs} async jobs submitted ${Number(values.duration) / 4} s in`,
  );
  const load = runLoad(server.url);
  await sleep((Number(values.duration) * 1000) / 4);
  const jobs = await submitJobs(server.url, Number(values.jobs));
  const result = await load;
  // wrangler rebuilds and restarts the runtime when a file the bundle was built from changes
  // (with node_modules linked from another checkout, that checkout's package.json counts),
  // cutting open requests with a 503: such a run says nothing about the Worker.
  let restarted = server.runtimePid() !== server.workerdPid ? 'during the load' : '';

  const throttledLoad = result.statusCodeStats['429']?.count ?? 0;
  const loadErrors = result.errors + result.non2xx - throttledLoad;
  const completed = result.requests.total;
  // Requests still open when the time is up are cut off, counted by autocannon as neither answers nor errors.
  const unanswered = (result.requests.sent ?? completed) - completed - result.errors;
  console.log('\n| answers | req/s | latency p50 (ms) | p90 | p99 | max | non-2xx | 429 | errors | timeouts | open at the end |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  const { latency } = result;
  const perSecond = (completed / result.duration).toFixed(1);
  row(
    completed,
    perSecond,
    latency.p50,
    latency.p90,
    latency.p99,
    latency.max,
    result.non2xx,
    throttledLoad,
    result.errors,
    result.timeouts,
    unanswered,
  );
  for (const [kind, { count, example }] of loadFailures) console.log(`  ${count} × ${kind}: ${example}`);

  await awaitJobs(server.url, jobs);
  const count = (status: string) => jobs.filter((job) => job.status === status).length;
  const lost = jobs.filter((job) => job.id && !FINAL.has(job.status) && job.status !== 'expired');
  const turnaround = jobs
    .filter((job) => job.finalAt)
    .map((job) => (job.finalAt! - job.submittedAt) / 1000)
    .sort((a, b) => a - b);
  console.log('\n| jobs submitted | succeeded | failed | canceled | expired | lost | not accepted | time to final p50 (s) | max |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  const [median, slowest] = [percentile(turnaround, 50), turnaround.at(-1)].map((seconds) => seconds?.toFixed(1) ?? '-');
  row(
    jobs.length,
    count('succeeded'),
    count('failed'),
    count('canceled'),
    count('expired'),
    lost.length,
    count('not submitted'),
    median,
    slowest,
  );
  for (const job of jobs.filter((job) => job.error || lost.includes(job)))
    console.log(`  ${job.id ?? '-'} (${job.image}): ${job.status} ${job.error ?? ''}`);

  // The account's books: every compression answered 200 or succeeded as a job counts once, as
  // may those still open when the load stopped (the server finishes them); every job has left
  // the concurrency count once it is final.
  const after = await usage(server.url);
  const counted = after.compressions - before.compressions;
  const answered = (result.statusCodeStats['200']?.count ?? 0) + count('succeeded');
  const booksOk = counted >= answered && counted <= answered + unanswered && after.activeJobs === before.activeJobs;
  console.log(`\nusage: ${counted} compressions counted for ${answered} answered or succeeded (+ up to ${unanswered} cut off)`);
  console.log(`  active jobs ${before.activeJobs} before, ${after.activeJobs} after${booksOk ? '' : '  <-- MISMATCH'}`);

  restarted ||= server.runtimePid() !== server.workerdPid ? 'while the jobs ran' : '';
  if (restarted)
    console.log(
      `\nwrangler restarted the runtime ${restarted} (a file the bundle was built from changed): the numbers above span two isolates.`,
    );
  let profileFailed = false;
  const phases = await profileRetrying(server).catch((error: Error) => {
    console.log(`\nthe own-code profile failed: ${error.message}`);
    profileFailed = true;
    return [];
  });
  console.log(
    `\nCPU per request in the Worker's isolate (ms/request): V8 sampling profiler over the inspector, self time by bundle module`,
  );
  console.log(
    '| requests | count | latency p50 (ms) | codecs | pipeline around them | **own code** | own code, gaps charged | GC | native, no JS | sampled share of wall time |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const phase of phases) {
    const { ms: sampled, withGaps, profiledMs } = phase.attribution;
    const per = (bucket: Bucket) => ms(sampled[bucket] / phase.count);
    const share = `${((Object.values(sampled).reduce((sum, t) => sum + t, 0) / profiledMs) * 100).toFixed(0)}%`;
    const [p50, ownWithGaps] = [ms(percentile(phase.latencies, 50)), ms(withGaps.own / phase.count)];
    row(phase.label, phase.count, p50, per('codecs'), per('pipeline'), `**${per('own')}**`, ownWithGaps, per('gc'), per('program'), share);
  }
  console.log(
    '  codecs: wasm, jSquash glue, src/codecs, ssim.js. pipeline: src/pipeline, exifr, image-size, crc-32.\n' +
      '  own code: the rest of src/ (routes, auth, rate limit, storage, jobs, Durable Objects), Hono, Zod, runtime JS; a\n' +
      '  built-in counts for its JS caller. Each sample counts as the sampling interval; "gaps charged" also gives each\n' +
      '  unsampled gap (I/O wait, the local storage simulators, a starved sampler) to the sample before it: an upper bound.',
  );
  for (const phase of phases) {
    if (phase.failures.length)
      console.log(`  ${phase.label}: ${phase.failures.length} failed (${[...new Set(phase.failures)].join(', ')})`);
    const top = (entries: Map<string, number>, n: number) =>
      [...entries]
        .sort((a, b) => b[1] - a[1])
        .slice(0, n)
        .map(([name, total]) => `${ms(total / phase.count)} ${name}`)
        .join('\n    ');
    const { modules, functions } = phase.attribution;
    console.log(`  ${phase.label}, own code by module:\n    ${top(modules.own, 6)}`);
    console.log(`  own code by function (a built-in counts for its caller, after ←):\n    ${top(functions.own, 6)}`);
    if (functions.pipeline.size) console.log(`  pipeline by function:\n    ${top(functions.pipeline, 4)}`);
  }

  const reported = server
    .output()
    .split('\n')
    .filter((line) => /\[ERROR\]|Uncaught|failed:/.test(line));
  if (reported.length) console.log(`\nwrangler reported ${reported.length} error line(s), the last:\n  ${reported.slice(-3).join('\n  ')}`);

  const throttled = throttledLoad + budget.throttled;
  if (throttled) console.log(`\n${throttled} answers were 429 (the key's per-minute limit working as designed); not counted as errors.`);
  const failedJobs = count('failed') + count('not submitted');
  const pollErrors = jobs.reduce((sum, job) => sum + job.pollErrors, 0);
  const profileErrors = phases.reduce((sum, phase) => sum + phase.failures.length, 0);
  failed = loadErrors + failedJobs + lost.length + pollErrors + profileErrors > 0 || !booksOk || profileFailed || restarted !== '';
  if (restarted)
    console.log(`\nINVALID RUN: wrangler restarted the runtime ${restarted}; errors and counts above may come from that. Run again.`);
  console.log(
    failed
      ? `\nFAILED: ${loadErrors} load errors, ${failedJobs} failed or refused jobs, ${lost.length} lost jobs, ${pollErrors} failed polls, ` +
          `${profileErrors} failed profiled requests${booksOk ? '' : ', usage mismatch'}${profileFailed ? ', no profile' : ''}`
      : '\nOK: no errors, every job final',
  );
} finally {
  server.stop();
}
process.exit(failed ? 1 : 0);
