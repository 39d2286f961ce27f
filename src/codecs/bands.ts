import type { RawImage } from './types';

/** Rows per band: even, since 4:2:0 chroma pairs rows, and at least two. */
export function bandRowsFor(width: number, bandPixels: number): number {
  return Math.max(2, Math.floor(bandPixels / width / 2) * 2);
}

/** A rectangle of an image, in pixels. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Hands an image, or the rectangle `rect` of it, to a WebAssembly encoder a band of rows at a
 * time, through one buffer of `bandRows` rows of `stride` pixels at `band` in its memory, so the
 * whole RGBA image is never copied in. `take(top, rows)` is the encoder's call that consumes the
 * band (`top` counts from the rectangle's first row).
 */
export function feedInBands(
  { data, width, height }: RawImage,
  memory: WebAssembly.Memory,
  band: number,
  bandRows: number,
  take: (top: number, rows: number) => void,
  rect: Rect = { x: 0, y: 0, width, height },
  stride = rect.width,
): void {
  for (let top = 0; top < rect.height; top += bandRows) {
    const rows = Math.min(bandRows, rect.height - top);
    // The view is made after every call: memory growth detaches the old buffer.
    const view = new Uint8Array(memory.buffer, band, rows * stride * 4);
    if (rect.width === width && stride === width) {
      view.set(data.subarray((rect.y + top) * width * 4, (rect.y + top + rows) * width * 4));
    } else {
      for (let row = 0; row < rows; row++) {
        const from = ((rect.y + top + row) * width + rect.x) * 4;
        view.set(data.subarray(from, from + rect.width * 4), row * stride * 4);
      }
    }
    take(top, rows);
  }
}
