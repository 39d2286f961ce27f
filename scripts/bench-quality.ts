/**
 * Bytes and looks of smart quality against sharp's defaults, in one run, same inputs:
 *
 *   npm run bench:quality -- <folder> [--formats jpeg,webp,avif,png] [--modes size,balanced,quality]
 *                                     [--max-megapixels 1.5] [--equal-score png]
 *
 * Our side runs in workerd (`wrangler dev`); sharp (libvips with mozjpeg, libwebp, libaom,
 * libimagequant) at its defaults: JPEG mozjpeg q80, WebP q80, AVIF q50 effort 4, palette
 * PNG. Inputs over --max-megapixels are scaled down to fit, as a lossless PNG. Every output is
 * judged against the same reference pixels by SSIMULACRA 2 and by butteraugli's 3-norm
 * (`scripts/judge.ts`). The "default request" row sends each input with no options at all
 * (its own format, `balanced`) and totals the bytes saved against the input.
 *
 * `--equal-score png` (the default; `all` or a list) also finds, per image, our lowest
 * explicit quality (palette size for PNG) scoring at least sharp's SSIMULACRA 2, and
 * totals those bytes: the size at an equal score, image by image.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { lowestMeeting } from '../src/pipeline/search.ts';
import { startDevServer } from './dev-server.ts';
import {
  type Format,
  type Pixels,
  SHARP_DEFAULTS,
  compressWithWorker,
  eachLimited,
  judgeAgainst,
  loadInput,
  median,
  rgba,
} from './judge.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    formats: { type: 'string', default: 'jpeg,webp,avif,png' },
    modes: { type: 'string', default: 'size,balanced,quality' },
    'max-megapixels': { type: 'string', default: '1.5' },
    'equal-score': { type: 'string', default: 'png' },
    port: { type: 'string', default: '8791' },
  },
});
if (positionals.length !== 1) {
  console.error(
    'usage: npm run bench:quality -- <folder> [--formats jpeg,webp,avif,png] [--modes size,balanced,quality] [--max-megapixels 1.5] [--equal-score png|all|none]',
  );
  process.exit(2);
}
sharp.concurrency(1);
const formats = values.formats.split(',') as Format[];
const modes = values.modes.split(',');
const equalScoreFormats =
  values['equal-score'] === 'all' ? formats : values['equal-score'] === 'none' ? [] : values['equal-score'].split(',');

interface Output {
  image: string;
  format: Format;
  who: string; // 'sharp', a mode, or 'default'
  bytes: Uint8Array;
  ms: number;
  setting: string;
  targetMet?: string;
  s2?: number;
  ba?: number;
}

const settingOf = (headers: Headers) =>
  headers.get('x-quality')
    ? `q${headers.get('x-quality')}`
    : headers.get('x-colors')
      ? `${headers.get('x-colors')} colours`
      : headers.get('x-compressed') === 'false'
        ? 'input kept'
        : 'lossless';

async function ours(url: string, input: Uint8Array, query: string) {
  const started = performance.now();
  const response = await compressWithWorker(url, input, query);
  if (response.status !== 200)
    throw new Error(`${query}: HTTP ${response.status} ${new TextDecoder().decode(response.bytes.slice(0, 200))}`);
  return {
    bytes: response.bytes,
    ms: performance.now() - started,
    setting: settingOf(response.headers),
    targetMet: response.headers.get('x-target-met') ?? undefined,
  };
}

/** Our lowest explicit quality (PNG: palette) whose SSIMULACRA 2 is at least `target`; quality 100 when none is. */
async function atEqualScore(url: string, input: Uint8Array, reference: Pixels, format: Format, target: number) {
  const judge = await judgeAgainst(reference);
  const probe = async (quality: number) => {
    const { bytes } = await ours(url, input, `format=${format}&quality=${quality}`);
    return { quality, bytes: bytes.byteLength, score: judge.ssimulacra2(await rgba(bytes)) };
  };
  const found = await lowestMeeting(1, 100, probe, (p) => p.score >= target);
  judge.close();
  return found;
}

const percent = (ours: number, theirs: number) => `${((ours / theirs - 1) * 100).toFixed(1)}%`;
const files = readdirSync(positionals[0]!)
  .filter((f) => /\.(jpe?g|png|webp|avif)$/i.test(extname(f)))
  .sort();
const server = await startDevServer(Number(values.port));
const results: Output[] = [];
const inputBytes = { total: 0, defaultOutput: 0 };
const equalScore: Record<string, { ours: number; sharp: number; n: number; below: number }> = {};

try {
  console.log(
    `inputs scaled to at most ${values['max-megapixels']} MP; SSIMULACRA 2 (higher is better, ~90 visually lossless), butteraugli 3-norm (lower is better, <1 invisible at 1:1)\n`,
  );
  console.log('| image | MP | format | encoder | setting | bytes | vs sharp | SSIMULACRA 2 | butteraugli | target met | ms |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const file of files) {
    const original = readFileSync(join(positionals[0]!, file));
    const { bytes: input, megapixels } = await loadInput(original, Number(values['max-megapixels']) * 1e6);
    const reference = await rgba(input);
    const outputs: Output[] = [];
    const defaultRequest = await ours(server.url, input, '');
    const kept = (await sharp(defaultRequest.bytes).metadata()).format;
    outputs.push({ image: file, format: (kept === 'heif' ? 'avif' : kept) as Format, who: 'default', ...defaultRequest });
    inputBytes.total += input.byteLength;
    inputBytes.defaultOutput += defaultRequest.bytes.byteLength;
    for (const format of formats) {
      const started = performance.now();
      const theirs = new Uint8Array(await SHARP_DEFAULTS[format](sharp(input)).toBuffer());
      outputs.push({ image: file, format, who: 'sharp', bytes: theirs, ms: performance.now() - started, setting: 'default' });
      for (const mode of modes) {
        // The default request already is this one when the input keeps its format.
        const same = mode === 'balanced' && format === kept;
        outputs.push({
          image: file,
          format,
          who: mode,
          ...(same ? defaultRequest : await ours(server.url, input, `format=${format}&mode=${mode}`)),
        });
      }
    }
    const judge = await judgeAgainst(reference);
    await eachLimited(outputs, 2, async (o) => {
      o.s2 = judge.ssimulacra2(await rgba(o.bytes));
      o.ba = (await judge.butteraugli(o.bytes)).pnorm3;
    });
    judge.close();
    for (const o of outputs) {
      const sharpBytes = outputs.find((p) => p.format === o.format && p.who === 'sharp')?.bytes.byteLength;
      console.log(
        `| ${basename(file)} | ${megapixels.toFixed(2)} | ${o.format} | ${o.who === 'sharp' ? 'sharp' : o.who === 'default' ? 'ours, no options' : `ours, ${o.who}`} | ${o.setting} | ${o.bytes.byteLength} | ${sharpBytes && o.who !== 'sharp' ? percent(o.bytes.byteLength, sharpBytes) : ''} | ${o.s2!.toFixed(1)} | ${o.ba!.toFixed(2)} | ${o.targetMet ?? ''} | ${o.ms.toFixed(0)} |`,
      );
    }
    for (const format of formats.filter((f) => equalScoreFormats.includes(f))) {
      const theirs = outputs.find((o) => o.format === format && o.who === 'sharp')!;
      const found = await atEqualScore(server.url, input, reference, format, theirs.s2!);
      const t = (equalScore[format] ??= { ours: 0, sharp: 0, n: 0, below: 0 });
      t.ours += found.bytes;
      t.sharp += theirs.bytes.byteLength;
      t.n++;
      if (found.score < theirs.s2!) t.below++;
      console.log(
        `| ${basename(file)} | | ${format} | ours at sharp's score | ${format === 'png' ? `quality ${found.quality}` : `q${found.quality}`} | ${found.bytes} | ${percent(found.bytes, theirs.bytes.byteLength)} | ${found.score.toFixed(1)} | | | |`,
      );
    }
    results.push(...outputs);
  }

  console.log(
    '\n| format | encoder | images | total bytes | vs sharp | SSIMULACRA 2 median | min | butteraugli median | worst | targets missed | seconds |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  const summary = (format: Format, who: string) => {
    const rows = results.filter((r) => r.format === format && r.who === who);
    const total = rows.reduce((sum, r) => sum + r.bytes.byteLength, 0);
    return { rows, total, s2: rows.map((r) => r.s2!), ba: rows.map((r) => r.ba!) };
  };
  for (const format of formats) {
    const peer = summary(format, 'sharp');
    for (const who of ['sharp', ...modes]) {
      const s = summary(format, who);
      const missed = s.rows.filter((r) => r.targetMet === 'false').length;
      console.log(
        `| ${format} | ${who === 'sharp' ? 'sharp' : `ours, ${who}`} | ${s.rows.length} | ${s.total} | ${who === 'sharp' ? '' : (s.total / peer.total).toFixed(3)} | ${median(s.s2).toFixed(1)} | ${Math.min(...s.s2).toFixed(1)} | ${median(s.ba).toFixed(2)} | ${Math.max(...s.ba).toFixed(2)} | ${who === 'sharp' ? '' : missed} | ${(s.rows.reduce((sum, r) => sum + r.ms, 0) / 1000).toFixed(1)} |`,
      );
    }
  }
  console.log(
    `\nDefault request (no options): ${inputBytes.total} input bytes → ${inputBytes.defaultOutput}, ${((1 - inputBytes.defaultOutput / inputBytes.total) * 100).toFixed(1)}% saved in total.`,
  );
  for (const [format, t] of Object.entries(equalScore)) {
    console.log(
      `At sharp's SSIMULACRA 2, ${format}: ${t.ours} bytes against sharp's ${t.sharp} (${percent(t.ours, t.sharp)}) over ${t.n} images${t.below ? `; ${t.below} never reached sharp's score` : ''}.`,
    );
  }
  if (modes.includes('balanced')) {
    console.log(
      "\nGoals for `balanced` (bytes against sharp; butteraugli median no worse than sharp's, worst no worse than sharp's worst):",
    );
    for (const [format, goal] of [
      ['jpeg', 0.8],
      ['webp', 0.85],
    ] as const) {
      if (!formats.includes(format)) continue;
      const peer = summary(format, 'sharp');
      const s = summary(format, 'balanced');
      const ratio = s.total / peer.total;
      const verdict = ratio <= goal && median(s.ba) <= median(peer.ba) && Math.max(...s.ba) <= Math.max(...peer.ba);
      console.log(
        `- ${format}: ${ratio.toFixed(3)}× sharp's bytes (goal ≤ ${goal}); butteraugli median ${median(s.ba).toFixed(2)} vs ${median(peer.ba).toFixed(2)}, worst ${Math.max(...s.ba).toFixed(2)} vs ${Math.max(...peer.ba).toFixed(2)}: ${verdict ? 'met' : 'not met'}`,
      );
    }
  }
} finally {
  server.stop();
}
