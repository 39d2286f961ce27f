/**
 * Peak memory of the Worker per request, measured on the workerd process that runs it.
 *
 *   npm run bench:memory -- <image> [--formats jpeg,webp,png,avif] [--sequence 30] [--port 8790] [--jobs] [--timeline]
 *
 * For each output format: reset the process's resident high-water mark (Linux
 * /proc/<pid>/clear_refs), send one compression, read VmHWM, and report the peak's growth
 * over the resident size just before. `--sequence N` then sends N requests cycling through
 * the formats and reports resident memory after each, to show growth from request to request.
 * `--timeline` also samples resident memory every 15 ms during each request and prints where
 * it moved by 3 MiB or more, to show which step of a compression holds its peak.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { type DevServer, memory, resetPeak, startDevServer } from './dev-server.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    formats: { type: 'string', default: 'jpeg,webp,png' },
    sequence: { type: 'string', default: '0' },
    port: { type: 'string', default: '8790' },
    options: { type: 'string', default: '', description: 'extra query options, e.g. quality=80' },
    jobs: { type: 'boolean', default: false },
    timeline: { type: 'boolean', default: false },
  },
});
if (positionals.length === 0) {
  console.error('usage: npm run bench:memory -- <image> [more images] [--formats jpeg,webp,png,avif] [--sequence N]');
  process.exit(2);
}

const formats = values.formats.split(',');
const port = Number(values.port);
const images = positionals.map((path) => ({ name: basename(path), bytes: readFileSync(path) }));
const tiny = readFileSync(new URL('../test/fixtures/pngsuite/basn6a08.png', import.meta.url));

async function compress(url: string, image: Buffer, format: string, options = values.options) {
  const started = performance.now();
  const auth = { Authorization: 'Bearer ck_dev_local' };
  const response = await fetch(`${url}/v1/compress?format=${format}&${options}`, {
    method: 'POST',
    headers: { ...auth, 'Content-Type': 'application/octet-stream' },
    body: new Uint8Array(image),
  });
  if (response.status !== 202) {
    await response.arrayBuffer();
    const [w, h] = [Number(response.headers.get('x-width')), Number(response.headers.get('x-height'))];
    return { status: String(response.status), ms: performance.now() - started, megapixels: w && h ? ((w * h) / 1e6).toFixed(1) : '?' };
  }
  // Too costly for a sync answer (the cost model sent it to a job): the queue consumer runs
  // in the same workerd process, so follow the job to its end.
  const { id } = (await response.json()) as { id: string };
  for (;;) {
    await new Promise((r) => setTimeout(r, 250));
    const job = (await (await fetch(`${url}/v1/jobs/${id}`, { headers: auth })).json()) as {
      status: string;
      output?: { width: number; height: number };
    };
    if (!['queued', 'processing'].includes(job.status)) {
      const megapixels = job.output ? ((job.output.width * job.output.height) / 1e6).toFixed(1) : '?';
      return { status: `job ${job.status}`, ms: performance.now() - started, megapixels };
    }
  }
}

/** A fresh isolate with the code and every codec already loaded once, so a reading is one request's own. */
async function warmServer(): Promise<DevServer> {
  // By default every compression is answered in the request, so the reading is the Worker's
  // alone; with --jobs the cost model sends large ones to the queue consumer, and the reading
  // also holds the local simulation of R2, Durable Objects and Queues, which runs in the same process.
  const server = await startDevServer(port, values.jobs ? {} : { SYNC_COMPUTE_SECONDS: '1000000', ASYNC_THRESHOLD_BYTES: '100000000' });
  // Without --options: with `width=3000` the warm-up would enlarge the tiny image to 9 MP and
  // leave the heaps grown, and the measured request would read as nearly free.
  for (const format of formats) await compress(server.url, tiny, format, '');
  return server;
}

console.log('| image | megapixels | output | status | peak growth (MiB) | time (ms) |');
console.log('|---|---|---|---|---|---|');
for (const image of images) {
  for (const format of formats) {
    const server = await warmServer();
    try {
      const before = memory(server.workerdPid).rss;
      resetPeak(server.workerdPid);
      const samples: [number, number][] = [];
      const started = performance.now();
      const sampler = values.timeline
        ? setInterval(() => samples.push([performance.now() - started, memory(server.workerdPid).rss - before]), 15)
        : undefined;
      const result = await compress(server.url, image.bytes, format);
      clearInterval(sampler);
      const growth = memory(server.workerdPid).hwm - before;
      console.log(
        `| ${image.name} | ${result.megapixels} | ${format} | ${result.status} | ${growth.toFixed(1)} | ${result.ms.toFixed(0)} |`,
      );
      if (values.timeline) console.log(`  resident above the start (ms: MiB): ${movedBy(samples, 3)}`);
    } finally {
      server.stop();
    }
  }
}

/** The samples where the value moved by `step` or more since the last one printed. */
function movedBy(samples: [number, number][], step: number): string {
  const printed: string[] = [];
  let last = Number.NEGATIVE_INFINITY;
  for (const [ms, mib] of samples) {
    if (Math.abs(mib - last) < step) continue;
    printed.push(`${ms.toFixed(0)}: ${mib.toFixed(0)}`);
    last = mib;
  }
  return printed.join(', ');
}

const rounds = Number(values.sequence);
if (rounds > 0) {
  const server = await warmServer();
  try {
    console.log(`\nsequence of ${rounds} requests over ${images.length} image(s) × ${formats.join('/')}:`);
    const start = memory(server.workerdPid).rss;
    resetPeak(server.workerdPid);
    const samples: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const result = await compress(server.url, images[i % images.length]!.bytes, formats[i % formats.length]!);
      if (!['200', 'job succeeded'].includes(result.status)) console.log(`request ${i}: ${result.status}`);
      samples.push(memory(server.workerdPid).rss - start);
    }
    const peak = memory(server.workerdPid).hwm - start;
    console.log(`resident above the start after each request (MiB): ${samples.map((s) => s.toFixed(0)).join(' ')}`);
    console.log(`peak over the sequence: ${peak.toFixed(1)} MiB above the start`);
  } finally {
    server.stop();
  }
}
