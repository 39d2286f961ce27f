/**
 * Our AVIF encoder (libavif + libaom, `avif-encoder.ts`) on the module the Worker imports, with
 * the service's settings: libaom's all-intra usage at speed 6, SSIM tuning from quality 50 (as
 * jSquash's defaults), IntraBC off, and pictures over `GRID_ABOVE_PIXELS` encoded as a grid of
 * `GRID_CELL_SIZE` cells, which keeps libaom's memory to a cell's. See docs/avif.md.
 */
import avifEncoderWasm from './avif_enc.wasm';
import type { RawImage } from '../types';
import { type AvifEncodeSettings, type AvifEncoder, avifEncoderOn } from './avif-encoder';

/** libaom's cpu-used (docs/avif.md, "Speed"). */
export const AVIF_SPEED = 6;
/**
 * Grid cells: a multiple of 64 (MIAF). 512 px holds libaom to 20 MiB at most where 1024 px cells
 * took up to 58, for about 3.5% more bytes (docs/avif.md, "Grid").
 */
export const GRID_CELL_SIZE = 512;
/** Up to this size an image is one AV1 frame (no seams, a few % fewer bytes). */
export const GRID_ABOVE_PIXELS = 2_100_000;

export function avifSettings(
  width: number,
  height: number,
  { quality, lossless }: { quality: number; lossless: boolean },
): AvifEncodeSettings {
  return {
    quality: lossless ? 100 : quality,
    lossless,
    speed: AVIF_SPEED,
    // IntraBC's hash tables took flat-colour artwork to ~150 MiB at 8.7 MP for no fewer bytes.
    options: { 'enable-intrabc': '0', ...(!lossless && quality >= 50 ? { tune: 'ssim' } : {}) },
    cellSize: width * height > GRID_ABOVE_PIXELS ? GRID_CELL_SIZE : 0,
  };
}

export interface ServiceAvifEncoder {
  encode(image: RawImage, settings: { quality: number; lossless: boolean }): Uint8Array;
}

/** An encoder with its own instance, reused by every encode made with it. */
export function createAvifEncoder(): ServiceAvifEncoder {
  const encoder: AvifEncoder = avifEncoderOn(avifEncoderWasm);
  return { encode: (image, settings) => encoder.encode(image, avifSettings(image.width, image.height, settings)) };
}
