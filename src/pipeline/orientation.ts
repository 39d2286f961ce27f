import exifr from 'exifr';
import type { RawImage } from '../codecs/types';

/** The EXIF orientation (1..8) of a JPEG, PNG, WebP or AVIF; 1 when absent or unreadable. */
export async function readOrientation(bytes: Uint8Array): Promise<number> {
  try {
    const value = await exifr.orientation(bytes);
    return typeof value === 'number' && value >= 1 && value <= 8 ? value : 1;
  } catch {
    return 1;
  }
}

/** Orientations 5–8 turn the picture a quarter: width and height swap. */
export const swapsAxes = (orientation: number) => orientation >= 5;

/**
 * Applies an EXIF orientation to the pixels, so the image displays upright once the tag
 * is gone. Each output pixel (x, y) is read from the source position below.
 */
export function applyOrientation(image: RawImage, orientation: number): RawImage {
  if (orientation <= 1 || orientation > 8) return image;
  const { width: W, height: H } = image;
  const source = new Uint32Array(image.data.buffer, image.data.byteOffset, W * H);
  const width = swapsAxes(orientation) ? H : W;
  const height = swapsAxes(orientation) ? W : H;
  const out = new Uint32Array(width * height);
  const from: (x: number, y: number) => number = {
    2: (x: number, y: number) => y * W + (W - 1 - x), // mirror
    3: (x: number, y: number) => (H - 1 - y) * W + (W - 1 - x), // 180°
    4: (x: number, y: number) => (H - 1 - y) * W + x, // flip
    5: (x: number, y: number) => x * W + y, // transpose
    6: (x: number, y: number) => (H - 1 - x) * W + y, // 90° clockwise
    7: (x: number, y: number) => (H - 1 - x) * W + (W - 1 - y), // transverse
    8: (x: number, y: number) => x * W + (W - 1 - y), // 90° counter-clockwise
  }[orientation]!;
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) out[y * width + x] = source[from(x, y)]!;
  return { data: new Uint8Array(out.buffer), width, height };
}
