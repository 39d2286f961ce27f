/**
 * Could other encoder settings buy bytes at an equal score? For each image of a folder and
 * each alternative mozjpeg or libwebp setting, encode at every quality of a grid, decode, score
 * (SSIMULACRA 2, smart quality's metric), and interpolate the bytes each setting needs to
 * reach the score our own settings reach at a reference quality. Prints the total bytes of
 * each setting against ours at equal score, and the chroma PSNR it gives up or gains.
 *
 *   npm run bench:settings -- <folder> [--format jpeg|webp] [--megapixels 0.5]
 *
 * Runs the same jSquash WebAssembly builds as the Worker, in Node (the settings, not the
 * runtime, are under test). Our settings: src/codecs/wasm.ts (mozjpeg: jSquash's defaults with
 * 4:2:0 below q90; libwebp: jSquash's defaults, which are libwebp's).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import decodeJpeg, { init as initJpegDecoder } from '@jsquash/jpeg/decode.js';
import encodeJpeg, { init as initJpegEncoder } from '@jsquash/jpeg/encode.js';
import { defaultOptions as mozjpegDefaults } from '@jsquash/jpeg/meta.js';
import decodeWebp, { init as initWebpDecoder } from '@jsquash/webp/decode.js';
import encodeWebp, { init as initWebpEncoder } from '@jsquash/webp/encode.js';
import { defaultOptions as webpDefaults } from '@jsquash/webp/meta.js';
import sharp from 'sharp';
import type { RawImage } from '../src/codecs/types.ts';
import { ssimulacra2 } from '../src/pipeline/ssimulacra2/index.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    format: { type: 'string', default: 'jpeg' },
    megapixels: { type: 'string', default: '0.5' },
  },
});
if (positionals.length !== 1 || !['jpeg', 'webp'].includes(values.format)) {
  console.error('usage: npm run bench:settings -- <folder> [--format jpeg|webp] [--megapixels 0.5]');
  process.exit(2);
}

const wasm = (path: string) => new WebAssembly.Module(readFileSync(new URL(`../node_modules/@jsquash/${path}`, import.meta.url)));
await initJpegEncoder(wasm('jpeg/codec/enc/mozjpeg_enc.wasm'));
await initJpegDecoder(wasm('jpeg/codec/dec/mozjpeg_dec.wasm'));
await initWebpEncoder(wasm('webp/codec/enc/webp_enc_simd.wasm'));
await initWebpDecoder(wasm('webp/codec/dec/webp_dec.wasm'));

type Options = Record<string, number | boolean>;
const ours = {
  jpeg: (quality: number): Options => ({ ...mozjpegDefaults, quality, auto_subsample: false, chroma_subsample: quality >= 90 ? 1 : 2 }),
  webp: (quality: number): Options => ({ ...webpDefaults, quality }),
}[values.format as 'jpeg' | 'webp'];

/** Each alternative changes one thing from our settings. */
const ALTERNATIVES: Record<string, Options> =
  values.format === 'jpeg'
    ? {
        'quant_table 0 (JPEG Annex K)': { quant_table: 0 },
        'quant_table 1 (flat)': { quant_table: 1 },
        'quant_table 2 (MS-SSIM tuned)': { quant_table: 2 },
        'quant_table 4 (PSNR-HVS-M tuned)': { quant_table: 4 },
        'quant_table 5 (Klein)': { quant_table: 5 },
        'quant_table 6 (Watson)': { quant_table: 6 },
        '4:4:4 chroma at every quality': { chroma_subsample: 1 },
        trellis_opt_table: { trellis_opt_table: true },
        trellis_multipass: { trellis_multipass: true },
        trellis_opt_zero: { trellis_opt_zero: true },
        'trellis_loops 2': { trellis_loops: 2 },
        'smoothing 10': { smoothing: 10 },
      }
    : {
        'method 6': { method: 6 },
        'method 5': { method: 5 },
        'sns_strength 25': { sns_strength: 25 },
        'sns_strength 80': { sns_strength: 80 },
        'filter_strength 30': { filter_strength: 30 },
        autofilter: { autofilter: 1 },
        'pass 3': { pass: 3 },
        'segments 1': { segments: 1 },
        use_sharp_yuv: { use_sharp_yuv: 1 },
      };
const QUALITIES = Array.from({ length: 16 }, (_, i) => 20 + i * 5);
const REFERENCE_QUALITIES = [50, 65, 75, 85];

async function load(path: string): Promise<RawImage> {
  const { width = 0, height = 0 } = await sharp(path).metadata();
  const scale = Math.min(1, Math.sqrt((Number(values.megapixels) * 1e6) / (width * height)));
  const { data, info } = await sharp(path)
    .resize(Math.max(1, Math.round(width * scale)))
    .flatten({ background: '#ffffff' })
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

/** PSNR of the two chroma planes (BT.601 Cb, Cr), in dB. */
function chromaPsnr(a: RawImage, b: RawImage): number {
  let squared = 0;
  for (let p = 0; p < a.data.length; p += 4) {
    const cb = (d: Uint8Array | Uint8ClampedArray) => -0.1687 * d[p]! - 0.3313 * d[p + 1]! + 0.5 * d[p + 2]!;
    const cr = (d: Uint8Array | Uint8ClampedArray) => 0.5 * d[p]! - 0.4187 * d[p + 1]! - 0.0813 * d[p + 2]!;
    squared += (cb(a.data) - cb(b.data)) ** 2 + (cr(a.data) - cr(b.data)) ** 2;
  }
  return 10 * Math.log10((255 * 255) / (squared / (a.data.length / 2)));
}

type Point = { quality: number; bytes: number; score: number; chroma: number };

async function curve(image: RawImage, options: (quality: number) => Options): Promise<Point[]> {
  const points: Point[] = [];
  for (const quality of QUALITIES) {
    const imageData = {
      ...image,
      data: new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.length),
      colorSpace: 'srgb',
    } as ImageData;
    const encoded =
      values.format === 'jpeg' ? await encodeJpeg(imageData, options(quality)) : await encodeWebp(imageData, options(quality));
    const decoded = values.format === 'jpeg' ? await decodeJpeg(encoded) : await decodeWebp(encoded);
    const back = { data: decoded.data, width: decoded.width, height: decoded.height };
    points.push({ quality, bytes: encoded.byteLength, score: ssimulacra2(image, back), chroma: chromaPsnr(image, back) });
  }
  return points;
}

/** Linear interpolation of `key` at `score` along the curve ordered by score; undefined when out of the grid's range. */
function atScore(points: Point[], score: number, key: 'bytes' | 'chroma'): number | undefined {
  const sorted = [...points].sort((a, b) => a.score - b.score);
  if (score < sorted[0]!.score) return undefined;
  for (let i = 1; i < sorted.length; i++) {
    const [low, high] = [sorted[i - 1]!, sorted[i]!];
    if (score <= high.score) return low[key] + ((score - low.score) / (high.score - low.score || 1)) * (high[key] - low[key]);
  }
  return undefined;
}

const files = readdirSync(positionals[0]!)
  .filter((f) => /\.(jpe?g|png|webp)$/i.test(extname(f)))
  .sort();
const images = await Promise.all(files.map((f) => load(join(positionals[0]!, f))));
console.log(`${values.format}: ${images.length} images at ≤ ${values.megapixels} MP, qualities ${QUALITIES[0]}–${QUALITIES.at(-1)}\n`);

const baseline = await Promise.all(images.map((image) => curve(image, ours)));
console.log(`| setting | ${REFERENCE_QUALITIES.map((q) => `bytes at the score of our q${q}`).join(' | ')} | chroma PSNR change |`);
console.log(`|---|${REFERENCE_QUALITIES.map(() => '---|').join('')}---|`);
for (const [name, change] of Object.entries(ALTERNATIVES)) {
  const cells: string[] = [];
  let chromaChange = 0;
  let chromaCount = 0;
  const alternative: Point[][] = [];
  for (const image of images) alternative.push(await curve(image, (quality) => ({ ...ours(quality), ...change })));
  for (const reference of REFERENCE_QUALITIES) {
    let theirs = 0;
    let mine = 0;
    images.forEach((_, i) => {
      const target = baseline[i]!.find((p) => p.quality === reference)!;
      const bytes = atScore(alternative[i]!, target.score, 'bytes');
      const chroma = atScore(alternative[i]!, target.score, 'chroma');
      if (bytes === undefined || chroma === undefined) return;
      theirs += bytes;
      mine += target.bytes;
      chromaChange += chroma - target.chroma;
      chromaCount++;
    });
    cells.push(mine ? `${((theirs / mine - 1) * 100).toFixed(1)}%` : 'out of range');
  }
  console.log(
    `| ${name} | ${cells.join(' | ')} | ${chromaCount ? `${(chromaChange / chromaCount).toFixed(2)} dB` : 'no image in range'} |`,
  );
}
