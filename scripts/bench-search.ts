/**
 * How many trials smart quality's search makes, and what stopping early costs in bytes:
 *
 *   npm run bench:search -- <folder> [--format avif] [--megapixels 2] [--limit 30]
 *
 * Each image, scaled to --megapixels, has its scoring sample encoded by the Worker's codecs (in
 * Node) at every quality of the format's smart range, each output decoded and judged as the
 * search judges it (SSIMULACRA 2, banding). The search (`searchGuide`, `lowestMeeting`) is then
 * replayed on those curves for each mode: its trials, against the lowest quality that meets
 * the target, and the bytes of each. The time a trial takes (encode, decode, judge) is printed
 * for the cost model.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import type { Codecs } from '../src/codecs/types.ts';
import { bandingAgainst } from '../src/pipeline/colour-shift.ts';
import { IMAGE_FORMATS } from '../src/pipeline/image-formats.ts';
import { lowestMeeting } from '../src/pipeline/search.ts';
import {
  BANDING_LIMIT,
  type LossyFormat,
  type Mode,
  SMART_TARGETS,
  type Trial,
  scoringSample,
  searchGuide,
} from '../src/pipeline/smart.ts';
import { ssimulacra2Against } from '../src/pipeline/ssimulacra2/index.ts';
import { median } from './judge.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    format: { type: 'string', default: 'avif' },
    megapixels: { type: 'string', default: '2' },
    limit: { type: 'string', default: '30' },
  },
});
const format = values.format as LossyFormat;
const range = IMAGE_FORMATS[format]?.smartSearch?.qualities;
if (positionals.length !== 1 || !range) {
  console.error('usage: npm run bench:search -- <folder> [--format avif|webp|jpeg] [--megapixels 2] [--limit 30]');
  process.exit(2);
}
const [floor, top] = range;
// By a computed path: the codec glue is typed for the Workers runtime, not for Node's lib.
const wasmCodecsPath = '../src/codecs/wasm.ts';
const { createWasmCodecs } = (await import(wasmCodecsPath)) as { createWasmCodecs: () => Codecs };
const codecs = createWasmCodecs();
const files = readdirSync(positionals[0]!)
  .filter((f) => /\.(jpe?g|png|webp)$/i.test(f))
  .sort()
  .slice(0, Number(values.limit));

interface Point {
  bytes: number;
  score: number;
  banding: number;
}
const curves: { name: string; points: Map<number, Point> }[] = [];
const seconds = { encode: [] as number[], decode: [] as number[], judge: [] as number[] };
let samplePixels = 0;
for (const file of files) {
  const source = sharp(join(positionals[0]!, file)).rotate();
  const { width, height } = await source.clone().metadata();
  const scale = Math.sqrt((Number(values.megapixels) * 1e6) / (width! * height!));
  const { data, info } = await source
    .resize(Math.round(width! * scale), Math.round(height! * scale), { fit: 'fill' })
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const sample = scoringSample({ data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height });
  samplePixels = sample.width * sample.height;
  const score = ssimulacra2Against(sample);
  const banding = bandingAgainst(sample);
  const points = new Map<number, Point>();
  for (let quality = floor; quality <= top; quality++) {
    const started = performance.now();
    const bytes = await codecs.encode(format, sample, { quality, lossless: false });
    const encoded = performance.now();
    let decoded = 0;
    const judged = await codecs.decodeBriefly(format, bytes, (image) => {
      decoded = performance.now();
      return { score: score(image), banding: banding(image) };
    });
    const ended = performance.now();
    seconds.encode.push((encoded - started) / 1000);
    seconds.decode.push((decoded - encoded) / 1000);
    seconds.judge.push((ended - decoded) / 1000);
    points.set(quality, { bytes: bytes.length, ...judged });
  }
  curves.push({ name: file, points });
  process.stderr.write(`${file}\n`);
}

const trialSeconds = median(seconds.encode) + median(seconds.decode) + median(seconds.judge);
console.log(
  `${format}, ${curves.length} images at ${values.megapixels} MP, sample ${(samplePixels / 1e6).toFixed(2)} MP. A trial's median: ` +
    `encode ${median(seconds.encode).toFixed(3)} s, decode ${median(seconds.decode).toFixed(3)} s, judge ${median(seconds.judge).toFixed(3)} s ` +
    `(${(trialSeconds / (samplePixels / 1e6)).toFixed(2)} s a megapixel of sample).\n`,
);
console.log('| mode | target | trials: mean | max | how many took 1, 2, 3… | bytes against the lowest quality that meets |');
console.log('|---|---|---|---|---|---|');
for (const [mode, target] of Object.entries(SMART_TARGETS)) {
  const counts: number[] = [];
  let bytes = 0;
  let lowestBytes = 0;
  for (const { points } of curves) {
    const meets = (p: Point) => p.score >= target && p.banding <= BANDING_LIMIT;
    let made = 0;
    const found = await lowestMeeting(
      floor,
      top,
      async (quality): Promise<Trial> => {
        made++;
        const p = points.get(quality)!;
        return { bytes: new Uint8Array(0), quality, score: p.score, banding: p.banding, targetMet: meets(p) };
      },
      (trial) => trial.targetMet!,
      searchGuide(format, mode as Mode, target),
    );
    counts.push(made);
    bytes += points.get(found.quality)!.bytes;
    let lowest = floor;
    while (lowest < top && !meets(points.get(lowest)!)) lowest++;
    lowestBytes += points.get(lowest)!.bytes;
  }
  const histogram = Array.from({ length: Math.max(...counts) }, (_, i) => counts.filter((n) => n === i + 1).length);
  const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
  console.log(
    `| ${mode} | ${target} | ${mean.toFixed(2)} | ${Math.max(...counts)} | ${histogram.join(', ')} | ${(bytes / lowestBytes).toFixed(3)} |`,
  );
}
