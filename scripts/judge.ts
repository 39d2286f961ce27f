/**
 * The judges the quality benchmarks share: SSIMULACRA 2 (our port, `src/pipeline/ssimulacra2/`,
 * held to libjxl's tool by `test/ssimulacra2.test.ts`) and butteraugli (libjxl's
 * `butteraugli_main`, Debian's `libjxl-devtools`; another path in `BUTTERAUGLI`), an
 * independent judge that smart quality never consults.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { ssimulacra2Against } from '../src/pipeline/ssimulacra2/index.ts';

const run = promisify(execFile);
const BUTTERAUGLI = process.env.BUTTERAUGLI ?? 'butteraugli_main';

export interface Pixels {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Any image sharp reads, as RGBA (no orientation applied: inputs are stored upright). */
export async function rgba(bytes: Uint8Array): Promise<Pixels> {
  const { data, info } = await sharp(bytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

/** Scores of candidates against one reference. `close()` removes the reference's file. */
export async function judgeAgainst(reference: Pixels) {
  const folder = mkdtempSync(join(tmpdir(), 'judge-'));
  const referencePath = join(folder, 'reference.png');
  writeFileSync(
    referencePath,
    await sharp(reference.data, { raw: { width: reference.width, height: reference.height, channels: 4 } })
      .png({ compressionLevel: 1 })
      .toBuffer(),
  );
  const s2 = ssimulacra2Against(reference);
  let next = 0;
  return {
    ssimulacra2: (candidate: Pixels) => s2(candidate),
    /** Butteraugli's 3-norm (below ~1: no visible difference at 1:1) and its maximum. */
    async butteraugli(candidate: Uint8Array): Promise<{ pnorm3: number; max: number }> {
      const path = join(folder, `candidate-${next++}.png`);
      writeFileSync(path, await sharp(candidate).png({ compressionLevel: 1 }).toBuffer());
      try {
        const { stdout } = await run(BUTTERAUGLI, [referencePath, path, '--pnorm', '3'], { maxBuffer: 1 << 20 });
        const max = Number(stdout.trim().split('\n')[0]);
        const pnorm3 = Number(stdout.match(/3-norm:\s*([\d.]+)/)?.[1]);
        return { pnorm3, max };
      } finally {
        rmSync(path, { force: true });
      }
    },
    close: () => rmSync(folder, { recursive: true, force: true }),
  };
}

/** Inputs over `maxPixels` are scaled down to fit, as a lossless PNG (the reference then). */
export async function loadInput(bytes: Uint8Array, maxPixels: number): Promise<{ bytes: Uint8Array; megapixels: number }> {
  const { width = 0, height = 0 } = await sharp(bytes).metadata();
  if (width * height <= maxPixels) return { bytes, megapixels: (width * height) / 1e6 };
  const scale = Math.sqrt(maxPixels / (width * height));
  const scaled = await sharp(bytes)
    .resize(Math.floor(width * scale))
    .png()
    .toBuffer();
  const meta = await sharp(scaled).metadata();
  return { bytes: new Uint8Array(scaled), megapixels: (meta.width! * meta.height!) / 1e6 };
}

/** Runs `work` over `items`, at most `limit` at once, in order of completion. */
export async function eachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let index = 0;
  const worker = async () => {
    while (index < items.length) await work(items[index++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** One compression by the Worker at `url`; inputs over its sync budget become jobs, followed to their output. */
export async function compressWithWorker(
  url: string,
  bytes: Uint8Array,
  query: string,
): Promise<{ status: number; bytes: Uint8Array; headers: Headers }> {
  const headers = { Authorization: 'Bearer ck_dev_local' };
  const response = await fetch(`${url}/v1/compress?${query}`, {
    method: 'POST',
    headers: { ...headers, 'Content-Type': 'application/octet-stream' },
    body: new Uint8Array(bytes),
  });
  if (response.status !== 202)
    return { status: response.status, bytes: new Uint8Array(await response.arrayBuffer()), headers: response.headers };
  const { id } = (await response.json()) as { id: string };
  for (;;) {
    await new Promise((r) => setTimeout(r, 250));
    const job = (await (await fetch(`${url}/v1/jobs/${id}`, { headers })).json()) as {
      status: string;
      url?: string;
      output?: { quality?: number; colors?: number; score?: { value: number }; target_met?: boolean };
    };
    if (job.status === 'succeeded') {
      const out = new Headers();
      if (job.output?.quality) out.set('x-quality', String(job.output.quality));
      if (job.output?.colors) out.set('x-colors', String(job.output.colors));
      if (job.output?.score) out.set('x-score', `ssimulacra2=${job.output.score.value}`);
      if (job.output?.target_met !== undefined) out.set('x-target-met', String(job.output.target_met));
      return { status: 200, bytes: new Uint8Array(await (await fetch(job.url!)).arrayBuffer()), headers: out };
    }
    if (job.status === 'failed' || job.status === 'canceled')
      return { status: 500, bytes: new TextEncoder().encode(JSON.stringify(job)), headers: new Headers() };
  }
}

type Pipeline = ReturnType<typeof sharp>;
/** The peer a Node user would pick, at its defaults (AVIF: sharp's q50, effort 4; PNG: libimagequant). */
export const SHARP_DEFAULTS = {
  jpeg: (s: Pipeline) => s.jpeg({ mozjpeg: true, quality: 80 }),
  webp: (s: Pipeline) => s.webp({ quality: 80 }),
  avif: (s: Pipeline) => s.avif({ quality: 50, effort: 4 }),
  png: (s: Pipeline) => s.png({ palette: true }),
} as const;
export type Format = keyof typeof SHARP_DEFAULTS;
