/**
 * The cost model (src/pipeline/cost.ts) against measured time, in one run:
 *
 *   npm run bench:cost -- <folder> [--sizes 0.25,1,2,4] [--formats jpeg,webp,png,avif] [--limit 3] [--port 8795]
 *
 * Each photo of the folder is scaled to each size (JPEG q92), and sent to `wrangler dev` for
 * every output format, once at a fixed quality and once with `quality=smart`; a few extreme
 * shapes (1-pixel-wide PNGs) are added. The Worker runs with a sync budget high enough that
 * nothing becomes a job. "measured" is the request's wall time less the same-length request
 * that fails fast (auth, rate limit, admission, HTTP); "predicted" is `computeSeconds` of
 * the same work. A ratio under 1 is an under-prediction: a request the model would keep
 * synchronous when it should not.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { type Work, computeSeconds } from '../src/pipeline/cost.ts';
import type { ImageFormat } from '../src/schemas/options.ts';
import { startDevServer } from './dev-server.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    sizes: { type: 'string', default: '0.25,1,2,4' },
    formats: { type: 'string', default: 'jpeg,webp,png,avif' },
    limit: { type: 'string', default: '3' },
    port: { type: 'string', default: '8795' },
  },
});
if (positionals.length !== 1) {
  console.error('usage: npm run bench:cost -- <folder> [--sizes 0.25,1,2,4] [--formats jpeg,webp,png,avif] [--limit 3]');
  process.exit(2);
}
const formats = values.formats.split(',') as ImageFormat[];
const FIXED_QUALITY: Record<ImageFormat, number> = { jpeg: 75, webp: 80, png: 80, avif: 50 };

interface Case {
  name: string;
  bytes: Buffer;
  type: string;
  inputFormat: ImageFormat;
  width: number;
  height: number;
}

async function photoCases(folder: string): Promise<Case[]> {
  const files = readdirSync(folder)
    .filter((f) => /\.(jpe?g|png|webp)$/i.test(f))
    .sort()
    .slice(0, Number(values.limit));
  const cases: Case[] = [];
  for (const file of files) {
    const source = sharp(readFileSync(join(folder, file))).rotate();
    const { width, height } = await source.clone().metadata();
    for (const mp of values.sizes.split(',').map(Number)) {
      const scale = Math.min(1, Math.sqrt((mp * 1e6) / (width! * height!)));
      const { data, info } = await source
        .clone()
        .resize(Math.round(width! * scale))
        .jpeg({ quality: 92 })
        .toBuffer({ resolveWithObject: true });
      cases.push({
        name: `${file.slice(0, -extname(file).length)}@${mp}`,
        bytes: data,
        type: 'image/jpeg',
        inputFormat: 'jpeg',
        width: info.width,
        height: info.height,
      });
    }
  }
  return cases;
}

/** A grey PNG of width × height, a few hundred bytes however many rows. */
function greyPng(width: number, height: number): Case {
  const row = Buffer.alloc(1 + width, 128);
  row[0] = 0;
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 0, 0, 0, 0], 8);
  const bytes = Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(Array.from({ length: height }, () => row)))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
  return { name: `grey ${width}×${height}`, bytes, type: 'image/png', inputFormat: 'png', width, height };
}

function crc32(bytes: Buffer): number {
  let crc = -1;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return crc ^ -1;
}

const server = await startDevServer(Number(values.port), { SYNC_COMPUTE_SECONDS: '100000', ASYNC_THRESHOLD_BYTES: String(1 << 30) });
const AUTH = { Authorization: 'Bearer ck_dev_local' };

async function timed(body: Buffer, type: string, query: string): Promise<{ status: number; ms: number }> {
  const start = performance.now();
  const response = await fetch(`${server.url}/v1/compress?${query}`, {
    method: 'POST',
    headers: { ...AUTH, 'Content-Type': type },
    body: new Uint8Array(body),
  });
  await response.arrayBuffer();
  return { status: response.status, ms: performance.now() - start };
}

try {
  const cases = [...(await photoCases(positionals[0]!)), greyPng(1, 200_000), greyPng(16, 100_000)];
  // Code loaded and compiled before anything is timed.
  for (const format of formats) await timed(cases[0]!.bytes, cases[0]!.type, `format=${format}&quality=smart`);

  console.log('| image | MP | format | quality | measured s | predicted s | predicted ÷ measured |');
  console.log('|---|---|---|---|---|---|---|');
  const ratios: Record<string, number[]> = {};
  for (const c of cases) {
    const overhead = await timed(Buffer.alloc(c.bytes.length), c.type, 'format=jpeg');
    const shapes = c.inputFormat === 'png' ? (['png'] as ImageFormat[]) : formats;
    for (const format of shapes) {
      for (const quality of [String(FIXED_QUALITY[format]), 'smart']) {
        const { status, ms } = await timed(c.bytes, c.type, `format=${format}&quality=${quality}`);
        const mp = (c.width * c.height) / 1e6;
        if (status !== 200) {
          console.log(`| ${c.name} | ${mp.toFixed(2)} | ${format} | ${quality} | HTTP ${status} | | |`);
          continue;
        }
        const work: Work = {
          inputFormat: c.inputFormat,
          inputPixels: c.width * c.height,
          outputFormat: format,
          outputWidth: c.width,
          outputRows: c.height,
          resized: false,
          lossless: false,
          smart: quality === 'smart',
          targetSize: false,
        };
        const measured = Math.max(ms - overhead.ms, 1) / 1000;
        const predicted = computeSeconds(work);
        (ratios[`${format} ${quality === 'smart' ? 'smart' : 'fixed'}`] ??= []).push(predicted / measured);
        console.log(
          `| ${c.name} | ${mp.toFixed(2)} | ${format} | ${quality} | ${measured.toFixed(2)} | ${predicted.toFixed(2)} | ${(predicted / measured).toFixed(2)} |`,
        );
      }
    }
  }
  console.log('\n| output | requests | predicted ÷ measured: lowest | median | highest |');
  console.log('|---|---|---|---|---|');
  for (const [key, list] of Object.entries(ratios)) {
    const sorted = [...list].sort((a, b) => a - b);
    console.log(
      `| ${key} | ${sorted.length} | ${sorted[0]!.toFixed(2)} | ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)} | ${sorted.at(-1)!.toFixed(2)} |`,
    );
  }
} finally {
  server.stop();
}
