/**
 * What our mirror of libaom's screen-content test (`screenContentBlocks` in
 * src/pipeline/pixels.ts) makes of images, as the AVIF memory model uses it:
 *
 *   npm run screen-content -- <images…> [--max-megapixels 1.2]
 *
 * Each image is decoded with sharp (scaled down first when over --max-megapixels, as the
 * speed bench scales its inputs) and its planes are tested: the share of the image covered by
 * 16×16 blocks with 2–4 distinct values, by those of them with contrast, and the verdict
 * (libaom's thresholds are 0.1 and 0.083; ours four fifths of them, 0.08 and 0.067). Set beside
 * `npm run bench:memory -- <images…> --formats avif`, it tells whether the test marks the
 * images whose AVIF encoding reads high.
 */
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { type AomPlane, looksLikeScreenContent, screenContentBlocks } from '../src/pipeline/pixels.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { 'max-megapixels': { type: 'string', default: '1.2' } } });
if (positionals.length === 0) {
  console.error('usage: npm run screen-content -- <images…> [--max-megapixels 1.2]');
  process.exit(2);
}
const maxPixels = Number(values['max-megapixels']) * 1e6;
const PLANES: AomPlane[] = ['luma', 'green', 'alpha'];

console.log(`| image | MP | ${PLANES.map((plane) => `${plane}: 2–4 values | ${plane}: with contrast | ${plane}: screen content`).join(' | ')} |`);
console.log(`|---|---|${PLANES.map(() => '---|---|---|').join('')}`);
for (const path of positionals) {
  const { width = 0, height = 0 } = await sharp(path).autoOrient().metadata();
  const scale = Math.min(1, Math.sqrt(maxPixels / (width * height)));
  const { data, info } = await sharp(path)
    .autoOrient()
    .resize(Math.floor(width * scale), Math.floor(height * scale), { fit: 'fill' })
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const image = { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
  const cells = PLANES.map((plane) => {
    const { fewValues, fewValuesVarying, area } = screenContentBlocks(image, plane);
    return `${((fewValues * 256) / area).toFixed(3)} | ${((fewValuesVarying * 256) / area).toFixed(3)} | ${looksLikeScreenContent(image, plane) ? 'yes' : 'no'}`;
  });
  console.log(`| ${basename(path)} | ${((image.width * image.height) / 1e6).toFixed(2)} | ${cells.join(' | ')} |`);
}
