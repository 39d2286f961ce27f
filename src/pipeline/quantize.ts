import * as iq from 'image-q';
import type { RawImage } from '../codecs/types';

/** Palette building costs grow with pixels; a sample this size gives the same palette for a fraction of the time. */
const PALETTE_SAMPLE_PIXELS = 64 * 1024;

/** True when the image already has at most `limit` distinct colours (then a palette loses nothing). */
export function fitsPalette(image: RawImage, limit = 256): boolean {
  const seen = new Set<number>();
  const pixels = new Uint32Array(image.data.buffer, image.data.byteOffset, image.data.byteLength / 4);
  for (const pixel of pixels) {
    seen.add(pixel);
    if (seen.size > limit) return false;
  }
  return true;
}

export type Palette = iq.utils.Palette;

const distance = new iq.distance.EuclideanBT709();

/**
 * At most `colors` colours (alpha included), chosen by Wu's quantiser from a downsampled
 * copy. 4 significant bits per channel: Wu's moment tables are 17⁴ cells instead of 33⁴
 * (with alpha), a few MB instead of tens, for a barely different palette.
 */
export function buildPalette(image: RawImage, colors: number): Palette {
  const sample = downsample(image, PALETTE_SAMPLE_PIXELS);
  const transparent = hasTransparentPixel(sample);
  const quantizer = new iq.palette.WuQuant(distance, transparent ? colors - 1 : colors, 4);
  quantizer.sample(iq.utils.PointContainer.fromUint8Array(sample.data, sample.width, sample.height));
  const palette = quantizer.quantizeSync();
  // Fully transparent pixels get an entry of their own, so dithering never hazes them.
  if (transparent) palette.add(iq.utils.Point.createByRGBA(0, 0, 0, 0));
  return palette;
}

/**
 * Maps every pixel to the palette with Floyd–Steinberg dithering; oxipng then writes a
 * palette PNG. Fully transparent pixels stay exactly transparent.
 */
export function applyPalette(image: RawImage, palette: Palette): RawImage {
  const dithering = new iq.image.ErrorDiffusionArray(distance, iq.image.ErrorDiffusionArrayKernel.FloydSteinberg);
  const applied = dithering.quantizeSync(iq.utils.PointContainer.fromUint8Array(image.data, image.width, image.height), palette);
  const data = applied.toUint8Array();
  for (let i = 3; i < data.length; i += 4) if (image.data[i] === 0) data.set([0, 0, 0, 0], i - 3);
  return { data, width: image.width, height: image.height };
}

function hasTransparentPixel(image: RawImage): boolean {
  for (let i = 3; i < image.data.length; i += 4) if (image.data[i] === 0) return true;
  return false;
}

/** Nearest-neighbour decimation: enough for choosing a palette, and keeps exact colours. */
function downsample(image: RawImage, maxPixels: number): RawImage {
  const step = Math.ceil(Math.sqrt((image.width * image.height) / maxPixels));
  if (step <= 1) return image;
  const width = Math.floor(image.width / step);
  const height = Math.floor(image.height / step);
  const source = new Uint32Array(image.data.buffer, image.data.byteOffset, image.data.byteLength / 4);
  const out = new Uint32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) out[y * width + x] = source[y * step * image.width + x * step]!;
  return { data: new Uint8Array(out.buffer), width, height };
}
