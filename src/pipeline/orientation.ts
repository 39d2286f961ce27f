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
 * Applies an EXIF orientation to the pixels, in place (a 12 MP photo has no room for a
 * second copy), so the image displays upright once the tag is gone. Each output pixel
 * (x, y) is read from the source position below; the permutation is carried out cycle by
 * cycle, with one bit a pixel to mark what has been placed.
 */
export function applyOrientation(image: RawImage, orientation: number): RawImage {
  if (orientation <= 1 || orientation > 8) return image;
  const { width: W, height: H } = image;
  const pixels = new Uint32Array(image.data.buffer, image.data.byteOffset, W * H);
  const width = swapsAxes(orientation) ? H : W;
  const from: (x: number, y: number) => number = {
    2: (x: number, y: number) => y * W + (W - 1 - x), // mirror
    3: (x: number, y: number) => (H - 1 - y) * W + (W - 1 - x), // 180°
    4: (x: number, y: number) => (H - 1 - y) * W + x, // flip
    5: (x: number, y: number) => x * W + y, // transpose
    6: (x: number, y: number) => (H - 1 - x) * W + y, // 90° clockwise
    7: (x: number, y: number) => (H - 1 - x) * W + (W - 1 - y), // transverse
    8: (x: number, y: number) => x * W + (W - 1 - y), // 90° counter-clockwise
  }[orientation]!;
  const placed = new Uint8Array((pixels.length + 7) >> 3);
  for (let start = 0; start < pixels.length; start++) {
    if (placed[start >> 3]! & (1 << (start & 7))) continue;
    const first = pixels[start]!;
    let at = start;
    for (;;) {
      placed[at >> 3]! |= 1 << (at & 7);
      const source = from(at % width, Math.floor(at / width));
      if (source === start) {
        pixels[at] = first;
        break;
      }
      pixels[at] = pixels[source]!;
      at = source;
    }
  }
  return { data: image.data, width, height: swapsAxes(orientation) ? W : H };
}
