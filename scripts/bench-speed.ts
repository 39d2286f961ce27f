/**
 * Speed of our pipeline in workerd against native sharp (libvips), on the same images with
 * matched settings, in one run:
 *
 *   npm run bench -- <folder> [--formats jpeg,webp,png,avif] [--max-megapixels 1.2] [--runs 3]
 *                             [--quality jpeg=75,webp=80,avif=50,png=80] [--limit N] [--port 8792]
 *                             [--profile] [--profile-only] [--profile-runs 1] [--sampling-us 100] [--no-native-variants] [--verbose]
 *
 * Extra pseudo-formats for --formats: `png-lossless` and `webp-lossless` (our `lossless=true`).
 *
 * What is timed and how the settings are matched: docs/measurements.md, "How `npm run bench` measures".
 */
import { execFileSync } from 'node:child_process';
import { globSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { createServer } from 'node:net';
import { basename, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp, { type Sharp } from 'sharp';
import { startDevServer } from './dev-server.ts';
import { type Bundle, Inspector, type Profile, type ProfileNode, inspectorUrl, readBundles } from './inspector.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  allowNegative: true,
  options: {
    formats: { type: 'string', default: 'jpeg,webp,png,avif' },
    quality: { type: 'string', default: '' },
    'max-megapixels': { type: 'string', default: '1.2' },
    runs: { type: 'string', default: '3' },
    limit: { type: 'string', default: '0' },
    port: { type: 'string', default: '8792' },
    profile: { type: 'boolean', default: false },
    'profile-runs': { type: 'string', default: '1' },
    'sampling-us': { type: 'string', default: '100' },
    'profile-only': { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    'native-variants': { type: 'boolean', default: true },
    /** Internal: time sharp alone on a folder of prepared inputs and print JSON lines (a native variant's child). */
    'sharp-only': { type: 'boolean', default: false },
  },
});
if (positionals.length !== 1) {
  console.error('usage: npm run bench -- <folder> [--formats jpeg,webp,png,avif] [--max-megapixels 1.2] [--runs 3] [--profile]');
  process.exit(2);
}

type Format = 'jpeg' | 'webp' | 'png' | 'avif' | 'png-lossless' | 'webp-lossless';
const FORMATS: Format[] = ['jpeg', 'webp', 'png', 'avif', 'png-lossless', 'webp-lossless'];
const formats = values.formats.split(',') as Format[];
for (const format of formats) if (!FORMATS.includes(format)) throw new Error(`unknown format ${format}; one of ${FORMATS.join(', ')}`);
const QUALITY: Record<Format, number> = { jpeg: 75, webp: 80, avif: 50, png: 80, 'png-lossless': 100, 'webp-lossless': 100 };
for (const pair of values.quality.split(',').filter(Boolean)) {
  const [format, q] = pair.split('=') as [Format, string];
  if (!(format in QUALITY) || !(Number(q) >= 1 && Number(q) <= 100)) throw new Error(`bad --quality entry ${pair}`);
  QUALITY[format] = Number(q);
}
const runs = Math.max(1, Number(values.runs));
const maxPixels = Number(values['max-megapixels']) * 1e6;
/** The native goal the issue sets, as ours ÷ sharp time. */
const GOAL: Record<Format, number> = { jpeg: 1.5, webp: 1.5, 'webp-lossless': 1.5, png: 2, 'png-lossless': 2, avif: 2 };

sharp.concurrency(1);
sharp.cache(false);

// ---------------------------------------------------------------------------------------
// The two sides

interface Input {
  name: string;
  bytes: Buffer;
  width: number;
  height: number;
  megapixels: number;
  hasAlpha: boolean;
}

/** Our palette size for an explicit PNG quality (src/pipeline/smart.ts, colorsForQuality). */
const colorsForQuality = (quality: number) => Math.max(2, Math.min(256, Math.round((256 * quality) / 100)));

function sharpPipeline(format: Format, input: Input): Sharp {
  const q = QUALITY[format];
  const s = sharp(input.bytes).autoOrient().keepIccProfile();
  switch (format) {
    case 'jpeg':
      return (input.hasAlpha ? s.flatten({ background: '#ffffff' }) : s).jpeg({
        quality: q,
        mozjpeg: true,
        chromaSubsampling: q >= 90 ? '4:4:4' : '4:2:0',
      });
    case 'webp':
      return s.webp({ quality: q, effort: 4 });
    case 'webp-lossless':
      return s.webp({ lossless: true, quality: 100, effort: 4 });
    case 'avif':
      return s.avif({ quality: q, effort: 3, chromaSubsampling: '4:2:0', bitdepth: 8, tune: 'ssim' });
    case 'png':
      return s.png({ palette: true, colours: colorsForQuality(q), dither: 1, quality: 100, compressionLevel: 9 });
    case 'png-lossless':
      return s.png({ compressionLevel: 9, adaptiveFiltering: true });
  }
}

function ourQuery(format: Format): string {
  if (format === 'png-lossless') return 'format=png&lossless=true';
  if (format === 'webp-lossless') return 'format=webp&lossless=true';
  return `format=${format}&quality=${QUALITY[format]}`;
}

interface Timed {
  status: number;
  ms: number;
  bytes: number;
  /** False when our API answered with the input unchanged (nothing smaller came out). */
  compressed: boolean;
  error?: string;
}

async function ours(url: string, body: Uint8Array<ArrayBuffer>, query: string): Promise<Timed> {
  for (let attempt = 0; ; attempt++) {
    const started = performance.now();
    const response = await fetch(`${url}/v1/compress?${query}`, {
      method: 'POST',
      headers: { Authorization: 'Bearer ck_dev_local', 'Content-Type': 'application/octet-stream' },
      body,
    });
    const answer = new Uint8Array(await response.arrayBuffer());
    const ms = performance.now() - started;
    if (response.status === 429 && attempt < 5) {
      await new Promise((r) => setTimeout(r, 1000 * Number(response.headers.get('retry-after') ?? 5)));
      continue;
    }
    const error = response.status === 200 ? undefined : new TextDecoder().decode(answer).slice(0, 160);
    return { status: response.status, ms, bytes: answer.byteLength, compressed: response.headers.get('x-compressed') !== 'false', error };
  }
}

async function theirs(format: Format, input: Input): Promise<Timed> {
  const started = performance.now();
  const out = await sharpPipeline(format, input).toBuffer();
  return { status: 200, ms: performance.now() - started, bytes: out.byteLength, compressed: true };
}

const fmt = (n: number, digits = 0) => n.toFixed(digits);
/** Progress on stderr, with --verbose. */
const trace = (message: string) => values.verbose && console.error(`[bench] ${message}`);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function repeat(n: number, once: () => Promise<Timed>): Promise<Timed & { all: number[] }> {
  const results: Timed[] = [];
  for (let i = 0; i < n; i++) {
    const result = await once();
    results.push(result);
    if (result.status !== 200) break;
  }
  const all = results.map((r) => r.ms);
  return { ...results.at(-1)!, ms: median(all), all };
}

// ---------------------------------------------------------------------------------------
// Inputs

/** Re-encodes a scaled-down input in its own format, at high quality, so decoding costs what that format costs. */
function reencode(s: Sharp, format: string | undefined): Sharp {
  switch (format) {
    case 'jpeg':
      return s.jpeg({ quality: 95 });
    case 'webp':
      return s.webp({ quality: 95 });
    case 'heif':
      return s.avif({ quality: 80, effort: 4 });
    default:
      return s.png();
  }
}

async function loadInput(path: string): Promise<Input> {
  const original = readFileSync(path);
  const meta = await sharp(original).metadata();
  // Upright size, as our API reports it.
  let [width, height] = (meta.orientation ?? 1) >= 5 ? [meta.height, meta.width] : [meta.width, meta.height];
  let bytes = original;
  if (width * height > maxPixels) {
    const scale = Math.sqrt(maxPixels / (width * height));
    [width, height] = [Math.floor(width * scale), Math.floor(height * scale)];
    // Orientation goes into the pixels here, since the scaled copy carries no EXIF.
    bytes = await reencode(sharp(original).autoOrient().resize(width, height, { fit: 'fill' }).keepIccProfile(), meta.format).toBuffer();
  }
  const { isOpaque } = await sharp(bytes).stats();
  return { name: basename(path), bytes, width, height, megapixels: (width * height) / 1e6, hasAlpha: !isOpaque };
}

// ---------------------------------------------------------------------------------------
// Profile

/**
 * V8 names an unnamed wasm module's script `wasm://wasm/<hash of its bytes>`: compiling the
 * jSquash files here, under this process's own inspector, gives the same names workerd uses.
 */
async function wasmNames(): Promise<Map<string, string>> {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  const names = new Map<string, string>();
  let last = '';
  session.on('Debugger.scriptParsed', (m) => {
    if (m.params.url.startsWith('wasm://')) last = m.params.url;
  });
  await session.post('Debugger.enable');
  const jsquash = new URL('../node_modules/@jsquash/', import.meta.url).pathname;
  const ours = new URL('../src/codecs/', import.meta.url).pathname;
  // jSquash's as "<codec>: <file>", our own builds as "src/codecs/<path>".
  const label = (file: string) =>
    file.startsWith(jsquash) ? `${file.slice(jsquash.length).split('/')[0]}: ${basename(file)}` : `src/codecs/${file.slice(ours.length)}`;
  for (const file of [...globSync(`${jsquash}*/**/*.wasm`), ...globSync(`${ours}**/*.wasm`)]) {
    last = '';
    new WebAssembly.Module(readFileSync(file));
    await new Promise((r) => setImmediate(r));
    if (last) names.set(last, label(file));
  }
  await session.post('Debugger.disable');
  session.disconnect();
  return names;
}

/** What the tables group a bundled module under: its package, and for jSquash each codec's glue file. */
function placeOfModule(module: string): string {
  if (!module.startsWith('node_modules/')) return module;
  const parts = module.slice('node_modules/'.length).split('/');
  const pkg = parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  return pkg.startsWith('@jsquash/') ? `${pkg} JS glue (${parts.at(-1)})` : pkg;
}

/** The source where an anonymous function starts, to tell one from another. */
const snippet = (bundle: Bundle, line: number, column: number) =>
  (bundle.lines[line] ?? '')
    .slice(column, column + 48)
    .replace(/\|/g, '\\|')
    .replace(/`/g, "'");

async function profile(pid: number, url: string, input: Input) {
  trace('profile: naming wasm modules');
  const wasm = await wasmNames();
  trace('profile: finding the inspector');
  const target = await inspectorUrl(pid);
  trace(`profile: connecting to ${target}`);
  const inspector = await Inspector.connect(target, (message) => trace(`profile: ${message}`));
  const profileRuns = Math.max(1, Number(values['profile-runs']));
  console.log(
    `\n## Profile: ${input.name} (${fmt(input.megapixels, 2)} MP), ${profileRuns} request(s) per format, sampled every ${values['sampling-us']} µs\n`,
  );
  console.log('Self time in the Worker isolate. "(idle)" is the isolate waiting (request body, Durable Object, response).\n');
  try {
    await inspector.send('Profiler.setSamplingInterval', { interval: Number(values['sampling-us']) });
    const profiles: { format: Format; wall: number; profile: Profile }[] = [];
    for (const format of formats) {
      const body = new Uint8Array(input.bytes);
      await ours(url, body, ourQuery(format)); // hot again after whatever ran before
      trace(`profile: ${format}`);
      await inspector.send('Profiler.start');
      const started = performance.now();
      for (let i = 0; i < profileRuns; i++) await ours(url, body, ourQuery(format));
      const wall = performance.now() - started;
      const { profile } = await inspector.send<{ profile: Profile }>('Profiler.stop');
      profiles.push({ format, wall, profile });
    }
    const bundles = await readBundles(inspector);

    for (const { format, wall, profile } of profiles) {
      const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
      const parents = new Map<number, ProfileNode>();
      for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node);
      const placeOf = ({ callFrame }: ProfileNode): string => {
        if (callFrame.url.startsWith('wasm://')) return `wasm ${wasm.get(callFrame.url) ?? callFrame.url}`;
        const bundle = bundles.get(callFrame.scriptId);
        if (bundle) return placeOfModule(bundle.moduleOf(callFrame.lineNumber));
        if (!callFrame.url) return /^\(.*\)$/.test(callFrame.functionName) ? callFrame.functionName : 'runtime built-ins';
        return callFrame.url;
      };
      const byPlace = new Map<string, number>();
      const byFunction = new Map<string, number>();
      for (let i = 0; i < profile.samples.length; i++) {
        const node = nodes.get(profile.samples[i]!)!;
        // The time until the next sample is spent where this one was taken.
        const us = profile.timeDeltas[i + 1] ?? 0;
        const place = placeOf(node);
        byPlace.set(place, (byPlace.get(place) ?? 0) + us);
        // A built-in is named with its caller, which says more than the built-in alone.
        const parent = parents.get(node.id);
        const caller =
          place === 'runtime built-ins' && parent ? ` ← ${parent.callFrame.functionName || '(anonymous)'} (${placeOf(parent)})` : '';
        const { functionName, scriptId, lineNumber, columnNumber } = node.callFrame;
        const bundle = bundles.get(scriptId);
        const anonymous = !functionName && bundle ? `(anonymous: \`${snippet(bundle, lineNumber, columnNumber)}\`)` : '(anonymous)';
        const fn = `${functionName || anonymous}${caller} — ${place}`;
        byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
      }
      const total = [...byPlace.values()].reduce((a, b) => a + b, 0);
      const busy = total - (byPlace.get('(idle)') ?? 0);
      console.log(`### ${format}: wall ${fmt(wall / profileRuns)} ms per request, isolate busy ${fmt(busy / 1000 / profileRuns)} ms\n`);
      console.log('| where | ms per request | share of busy |');
      console.log('|---|---|---|');
      for (const [place, us] of [...byPlace].sort((a, b) => b[1] - a[1]).filter(([, us]) => us / total > 0.003)) {
        console.log(`| ${place} | ${fmt(us / 1000 / profileRuns, 1)} | ${place === '(idle)' ? '' : `${fmt((100 * us) / busy, 1)}%`} |`);
      }
      console.log('\n| top functions (self) | ms per request | share of busy |');
      console.log('|---|---|---|');
      for (const [fn, us] of [...byFunction]
        .filter(([fn]) => !fn.startsWith('(idle)'))
        .sort((a, b) => b[1] - a[1])
        .slice(0, 12)) {
        console.log(`| ${fn} | ${fmt(us / 1000 / profileRuns, 1)} | ${fmt((100 * us) / busy, 1)}% |`);
      }
      console.log('');
    }
  } finally {
    inspector.close();
  }
}

// ---------------------------------------------------------------------------------------
// Native with its SIMD held back

/**
 * sharp again with its libraries' SIMD held back, to tell how much of the gap to ours is SIMD
 * and how much is WebAssembly against native code. The switches are read when each library
 * first looks at the CPU, so each variant is a child process given the same bytes.
 * libjpeg-turbo's (mozjpeg's) `JSIMD_FORCESSE2` / `JSIMD_FORCENONE`, libaom's
 * `AOM_SIMD_CAPS_MASK` (0x13f: MMX to SSE4.2, no AVX), libvips' `VIPS_NOVECTOR` (its Highway
 * kernels). libwebp, libspng, zlib-ng and Highway's vector width have no switch and keep theirs.
 */
const NATIVE_VARIANTS = {
  // WebAssembly's SIMD is 128 bits wide: the most a WebAssembly build of these codecs could use.
  '128-bit SIMD': { JSIMD_FORCESSE2: '1', AOM_SIMD_CAPS_MASK: '0x13f' },
  'no SIMD': { JSIMD_FORCENONE: '1', AOM_SIMD_CAPS_MASK: '0', VIPS_NOVECTOR: '1' },
};
type NativeVariant = keyof typeof NATIVE_VARIANTS;

type SharpTime = { name: string; format: Format; ms: number };

function timeSharpVariant(variant: NativeVariant, inputs: Input[]): SharpTime[] {
  const folder = mkdtempSync(join(tmpdir(), 'bench-native-'));
  try {
    // Numbered so the child reads them in this order; their extensions only have to be known ones.
    for (const [i, input] of inputs.entries()) writeFileSync(join(folder, `${String(i).padStart(4, '0')}-${input.name}`), input.bytes);
    const args = [
      process.argv[1]!,
      folder,
      '--sharp-only',
      '--formats',
      formats.join(','),
      '--runs',
      String(runs),
      '--max-megapixels',
      '1000',
      '--quality',
      formats.map((f) => `${f}=${QUALITY[f]}`).join(','),
    ];
    const out = execFileSync(process.execPath, args, {
      env: { ...process.env, ...NATIVE_VARIANTS[variant] },
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    });
    return out
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as SharpTime)
      .map((time) => ({ ...time, name: time.name.replace(/^\d{4}-/, '') }));
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** The child's side: warm up, then one JSON line per image and format. */
async function printSharpTimes(inputs: Input[]) {
  for (const format of formats) await theirs(format, inputs[0]!);
  for (const input of inputs) {
    for (const format of formats) {
      const { ms } = await repeat(runs, () => theirs(format, input));
      console.log(JSON.stringify({ name: input.name, format, ms } satisfies SharpTime));
    }
  }
}

// ---------------------------------------------------------------------------------------
// Run

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer()
      .once('error', () => resolve(false))
      .once('listening', () => probe.close(() => resolve(true)))
      .listen(port, '127.0.0.1');
  });
}

const port = Number(values.port);
if (!values['sharp-only'] && !(await portIsFree(port))) {
  // startDevServer would find someone else's server healthy and measure it.
  console.error(`port ${port} is in use; pick another with --port`);
  process.exit(1);
}

const folder = positionals[0]!;
let files = readdirSync(folder)
  .filter((f) => /^\.(jpe?g|png|webp|avif)$/i.test(extname(f)))
  .sort();
if (Number(values.limit) > 0) files = files.slice(0, Number(values.limit));
if (files.length === 0) {
  console.error(`no JPEG, PNG, WebP or AVIF files in ${folder}`);
  process.exit(2);
}
const inputs: Input[] = [];
for (const file of files) inputs.push(await loadInput(join(folder, file)));
if (values['sharp-only']) {
  await printSharpTimes(inputs);
  process.exit(0);
}

const tiny = readFileSync(new URL('../test/fixtures/pngsuite/basn6a08.png', import.meta.url));
const tinyInput: Input = { name: 'tiny', bytes: tiny, width: 32, height: 32, megapixels: 0.001, hasAlpha: true };

const server = await startDevServer(port, { SYNC_COMPUTE_SECONDS: '1000000' }); // every request answered in the request, as timed
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.stop(); // wrangler runs in its own process group: it would outlive us
    process.exit(130);
  });
}
try {
  // Warm-up, untimed: code loaded and compiled, then hot functions tiered up.
  for (const input of [tinyInput, inputs[0]!]) {
    for (const format of formats) {
      const our = await ours(server.url, new Uint8Array(input.bytes), ourQuery(format));
      const their = await theirs(format, input);
      trace(`warm-up ${input.name} → ${format}: ours HTTP ${our.status} ${fmt(our.ms)} ms, sharp ${fmt(their.ms)} ms`);
    }
  }
  if (!values['profile-only']) await timeAll(server.url);
  printMachine();
  if (values.profile || values['profile-only']) {
    const target = [...inputs].sort((a, b) => b.megapixels - a.megapixels)[0]!;
    await profile(server.workerdPid, server.url, target);
  }
} finally {
  server.stop();
}

async function timeAll(url: string) {
  type Row = { input: Input; format: Format; ours: Timed & { all: number[] }; overhead: number; sharp: Timed & { all: number[] } };
  const rows: Row[] = [];
  console.log(
    `inputs scaled to at most ${values['max-megapixels']} MP; median of ${runs} run(s); quality ${formats.map((f) => `${f} ${QUALITY[f]}`).join(', ')}`,
  );
  console.log('"overhead" = the same-length request failing fast (HTTP, auth, rate limit, admission); "net" = wall − overhead.');
  if (formats.includes('jpeg') && QUALITY.jpeg >= 80 && QUALITY.jpeg < 90) {
    console.log(
      `note: at JPEG q${QUALITY.jpeg} ours writes 4:2:2 (jSquash auto_subsample) and sharp 4:2:0: not matched; use q < 80 or ≥ 90`,
    );
  }
  console.log('');
  console.log(
    '| image | MP | format | ours wall ms | overhead ms | ours net ms | sharp ms | ours MP/s | sharp MP/s | ours ÷ sharp | ours bytes | sharp bytes |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const input of inputs) {
    const body = new Uint8Array(input.bytes);
    const junk = new Uint8Array(input.bytes.byteLength);
    const overhead = await repeat(runs, () => ours(url, junk, 'format=jpeg&quality=80'));
    if (overhead.status !== 415) {
      // e.g. 202: a body over ASYNC_THRESHOLD_BYTES becomes a job, which this does not time.
      console.log(
        `| ${input.name} | ${fmt(input.megapixels, 2)} | | the overhead probe answered HTTP ${overhead.status}, not 415: skipped |`,
      );
      continue;
    }
    for (const format of formats) {
      const our = await repeat(runs, () => ours(url, body, ourQuery(format)));
      if (our.status !== 200) {
        console.log(`| ${input.name} | ${fmt(input.megapixels, 2)} | ${format} | HTTP ${our.status}: ${our.error} |`);
        continue;
      }
      const their = await repeat(runs, () => theirs(format, input));
      const row = { input, format, ours: our, overhead: overhead.ms, sharp: their };
      rows.push(row);
      const net = Math.max(our.ms - overhead.ms, 0.1);
      console.log(
        `| ${input.name} | ${fmt(input.megapixels, 2)} | ${format} | ${fmt(our.ms)} | ${fmt(overhead.ms)} | ${fmt(net)} | ${fmt(their.ms)} | ${fmt(input.megapixels / (net / 1000), 2)} | ${fmt(input.megapixels / (their.ms / 1000), 2)} | ${fmt(net / their.ms, 2)} | ${our.bytes}${our.compressed ? '' : ' (input kept)'} | ${their.bytes} |`,
      );
      if (values.verbose)
        console.log(
          `|  | runs: ours ${our.all.map((x) => fmt(x)).join(' ')}; overhead ${overhead.all.map((x) => fmt(x)).join(' ')}; sharp ${their.all.map((x) => fmt(x)).join(' ')} |`,
        );
    }
  }

  const timed = [...new Set(rows.map((r) => r.input))];
  const variants = values['native-variants']
    ? (Object.keys(NATIVE_VARIANTS) as NativeVariant[]).map((variant) => ({ variant, times: timeSharpVariant(variant, timed) }))
    : [];
  const variantMs = (times: SharpTime[]) => (r: Row) => times.find((t) => t.name === r.input.name && t.format === r.format)?.ms ?? NaN;

  console.log('\nPer format (sums over the images above):\n');
  console.log(
    '| format | images | MP | ours wall s | ours net s | sharp s | ours MP/s | sharp MP/s | ours ÷ sharp | goal | ours bytes ÷ sharp bytes |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  const sums = formats.flatMap((format) => {
    const mine = rows.filter((r) => r.format === format);
    if (!mine.length) return [];
    const sum = (f: (r: Row) => number) => mine.reduce((a, r) => a + f(r), 0);
    const net = sum((r) => Math.max(r.ours.ms - r.overhead, 0.1)) / 1000;
    const native = sum((r) => r.sharp.ms) / 1000;
    return [{ format, mine, sum, net, native, ratio: net / native, variants: variants.map(({ times }) => sum(variantMs(times)) / 1000) }];
  });
  for (const { format, mine, sum, net, native, ratio } of sums) {
    const mp = sum((r) => r.input.megapixels);
    const wall = sum((r) => r.ours.ms) / 1000;
    console.log(
      `| ${format} | ${mine.length} | ${fmt(mp, 2)} | ${fmt(wall, 2)} | ${fmt(net, 2)} | ${fmt(native, 2)} | ${fmt(mp / net, 2)} | ${fmt(mp / native, 2)} | ${fmt(ratio, 2)} | ≤ ${GOAL[format]}: ${ratio <= GOAL[format] ? 'met' : 'not met'} | ${fmt(sum((r) => r.ours.bytes) / sum((r) => r.sharp.bytes), 2)} |`,
    );
  }
  if (!variants.length) return;
  const env = (variant: NativeVariant) =>
    Object.entries(NATIVE_VARIANTS[variant])
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
  console.log(
    `\nsharp with its SIMD held back (${variants.map(({ variant }) => `${variant}: ${env(variant)}`).join('; ')}), same bytes, in child processes:\n`,
  );
  console.log(
    `| format | sharp s | ${variants.map(({ variant }) => `sharp ${variant} s`).join(' | ')} | ours net s | ${variants.map(({ variant }) => `ours ÷ sharp ${variant}`).join(' | ')} |`,
  );
  console.log(`|---|---|${variants.map(() => '---|').join('')}---|${variants.map(() => '---|').join('')}`);
  for (const { format, net, native, variants: held } of sums) {
    console.log(
      `| ${format} | ${fmt(native, 2)} | ${held.map((t) => fmt(t, 2)).join(' | ')} | ${fmt(net, 2)} | ${held.map((t) => fmt(net / t, 2)).join(' | ')} |`,
    );
  }
}

function printMachine() {
  const cpu = cpus();
  const jsquash = ['jpeg', 'webp', 'avif', 'png', 'oxipng', 'resize']
    .map((p) => `${p} ${JSON.parse(readFileSync(new URL(`../node_modules/@jsquash/${p}/package.json`, import.meta.url), 'utf8')).version}`)
    .join(', ');
  const wrangler = JSON.parse(readFileSync(new URL('../node_modules/wrangler/package.json', import.meta.url), 'utf8')).version;
  const v = sharp.versions;
  console.log(
    `\nmachine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${fmt(totalmem() / 2 ** 30, 1)} GiB; ${process.platform} ${process.arch}`,
  );
  console.log(
    `versions: node ${process.versions.node}; wrangler ${wrangler}; @jsquash ${jsquash}; sharp ${v.sharp} (libvips ${v.vips}, mozjpeg ${v.mozjpeg}, libwebp ${v.webp}, libheif ${v.heif}, aom ${v.aom}, libimagequant ${v.imagequant}, libpng ${v.png}, zlib-ng ${v['zlib-ng']})`,
  );
}
