/**
 * How SSIMULACRA 2 targets translate into bytes and visible damage, for choosing smart
 * quality's targets (docs/quality.md):
 *
 *   npm run quality:curves -- <folder> [--formats jpeg,webp,avif,png] [--max-megapixels 1.5] [--csv curves.csv]
 *   npm run quality:curves -- --from curves.csv
 *
 * Each image is encoded by our Worker (`wrangler dev`) at a sweep of explicit qualities, and by
 * sharp at its defaults; every output is scored with SSIMULACRA 2 and butteraugli. Then, for
 * each candidate target, each image's bytes and butteraugli at that score are interpolated
 * between its sweep points (what a search for the lowest quality that meets the target would
 * pick), and totalled against sharp's.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { startDevServer } from './dev-server.ts';
import { type Format, SHARP_DEFAULTS, compressWithWorker, eachLimited, judgeAgainst, loadInput, median, rgba } from './judge.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    formats: { type: 'string', default: 'jpeg,webp,avif,png' },
    'max-megapixels': { type: 'string', default: '1.5' },
    csv: { type: 'string', default: 'quality-curves.csv' },
    from: { type: 'string' },
    port: { type: 'string', default: '8792' },
  },
});

// PNG's quality is its palette size (quality × 2.56 colours); 100 is lossless.
const SWEEP: Record<Format, number[]> = {
  jpeg: [20, 30, 40, 50, 55, 60, 65, 70, 75, 80, 85, 88, 91, 94, 97, 100],
  webp: [20, 30, 40, 50, 55, 60, 65, 70, 75, 80, 85, 88, 91, 94, 97, 100],
  avif: [20, 30, 40, 50, 55, 60, 65, 70, 75, 80, 85, 90, 95, 100],
  png: [3, 6, 9, 13, 19, 25, 38, 50, 75, 99],
};

interface Row {
  image: string;
  format: Format;
  encoder: 'ours' | 'sharp';
  quality: number;
  bytes: number;
  s2: number;
  ba: number;
}

async function sweep(folder: string): Promise<Row[]> {
  const formats = values.formats.split(',') as Format[];
  const files = readdirSync(folder)
    .filter((f) => /\.(jpe?g|png|webp|avif)$/i.test(extname(f)))
    .sort();
  const server = await startDevServer(Number(values.port));
  const rows: Row[] = [];
  try {
    for (const file of files) {
      const { bytes } = await loadInput(readFileSync(join(folder, file)), Number(values['max-megapixels']) * 1e6);
      // The reference is the decoded input, sent as PNG so that "never larger" cannot hand the input back.
      const reference = await rgba(bytes);
      const png = await sharp(reference.data, { raw: { width: reference.width, height: reference.height, channels: 4 } })
        .png({ compressionLevel: 1 })
        .toBuffer();
      const judge = await judgeAgainst(reference);
      const outputs: { format: Format; encoder: Row['encoder']; quality: number; bytes: Uint8Array }[] = [];
      for (const format of formats) {
        outputs.push({ format, encoder: 'sharp', quality: 0, bytes: new Uint8Array(await SHARP_DEFAULTS[format](sharp(png)).toBuffer()) });
        for (const quality of SWEEP[format]) {
          const response = await compressWithWorker(server.url, png, `format=${format}&quality=${quality}`);
          if (response.status !== 200)
            throw new Error(
              `${file} ${format} q${quality}: HTTP ${response.status} ${new TextDecoder().decode(response.bytes.slice(0, 200))}`,
            );
          outputs.push({ format, encoder: 'ours', quality, bytes: response.bytes });
        }
      }
      await eachLimited(outputs, 2, async (o) => {
        const s2 = judge.ssimulacra2(await rgba(o.bytes));
        const { pnorm3 } = await judge.butteraugli(o.bytes);
        rows.push({
          image: basename(file),
          format: o.format,
          encoder: o.encoder,
          quality: o.quality,
          bytes: o.bytes.byteLength,
          s2,
          ba: pnorm3,
        });
      });
      judge.close();
      console.error(`${file}: ${outputs.length} outputs scored`);
    }
  } finally {
    server.stop();
  }
  return rows;
}

/** Bytes and butteraugli where an image's curve first reaches `target` (interpolated in log-bytes); the top point when it never does. */
function atScore(curve: Row[], target: number): { bytes: number; ba: number; met: boolean } {
  const sorted = [...curve].sort((a, b) => a.quality - b.quality);
  for (let i = 0; i < sorted.length; i++) {
    const here = sorted[i]!;
    if (here.s2 < target) continue;
    const below = sorted[i - 1];
    if (!below || below.s2 >= here.s2) return { bytes: here.bytes, ba: here.ba, met: true };
    const t = (target - below.s2) / (here.s2 - below.s2);
    return {
      bytes: Math.exp(Math.log(below.bytes) + t * (Math.log(here.bytes) - Math.log(below.bytes))),
      ba: below.ba + t * (here.ba - below.ba),
      met: true,
    };
  }
  const top = sorted.at(-1)!;
  return { bytes: top.bytes, ba: top.ba, met: false };
}

function analyse(rows: Row[]) {
  for (const format of [...new Set(rows.map((r) => r.format))]) {
    const peers = rows.filter((r) => r.format === format && r.encoder === 'sharp');
    const images = peers.map((r) => r.image);
    const sharpBytes = peers.reduce((sum, r) => sum + r.bytes, 0);
    console.log(
      `\n## ${format}: ${images.length} images; sharp's default: median SSIMULACRA 2 ${median(peers.map((r) => r.s2)).toFixed(1)} (min ${Math.min(...peers.map((r) => r.s2)).toFixed(1)}), butteraugli median ${median(peers.map((r) => r.ba)).toFixed(2)}, worst ${Math.max(...peers.map((r) => r.ba)).toFixed(2)}\n`,
    );
    console.log('| target | bytes vs sharp | butteraugli median | worst | images that miss |');
    console.log('|---|---|---|---|---|');
    for (let target = 50; target <= 92; target += 2) {
      const picks = images.map((image) =>
        atScore(
          rows.filter((r) => r.format === format && r.encoder === 'ours' && r.image === image),
          target,
        ),
      );
      const bytes = picks.reduce((sum, p) => sum + p.bytes, 0);
      console.log(
        `| ${target} | ${(bytes / sharpBytes).toFixed(3)} | ${median(picks.map((p) => p.ba)).toFixed(2)} | ${Math.max(...picks.map((p) => p.ba)).toFixed(2)} | ${picks.filter((p) => !p.met).length} |`,
      );
    }
  }
}

const COLUMNS: (keyof Row)[] = ['image', 'format', 'encoder', 'quality', 'bytes', 's2', 'ba'];
let rows: Row[];
if (values.from) {
  const [, ...lines] = readFileSync(values.from, 'utf8').trim().split('\n');
  rows = lines.map((line) => {
    const cells = line.split(',');
    return Object.fromEntries(COLUMNS.map((c, i) => [c, i < 3 ? cells[i] : Number(cells[i])])) as unknown as Row;
  });
} else {
  if (positionals.length !== 1) {
    console.error(
      'usage: npm run quality:curves -- <folder> [--formats jpeg,webp,avif,png] [--max-megapixels 1.5] [--csv out.csv] | --from out.csv',
    );
    process.exit(2);
  }
  rows = await sweep(positionals[0]!);
  writeFileSync(values.csv, `${[COLUMNS.join(','), ...rows.map((r) => COLUMNS.map((c) => r[c]).join(','))].join('\n')}\n`);
  console.error(`wrote ${values.csv}`);
}
analyse(rows);
