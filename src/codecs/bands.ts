import type { RawImage } from './types';

/** Rows per band: even, since 4:2:0 chroma pairs rows, and at least two. */
export function bandRowsFor(width: number, bandPixels: number): number {
  return Math.max(2, Math.floor(bandPixels / width / 2) * 2);
}

/**
 * Hands an image to a WebAssembly encoder a band of rows at a time, through one buffer of
 * `bandRows` rows at `band` in its memory, so the whole RGBA image is never copied in.
 * `take(top, rows)` is the encoder's call that consumes the band.
 */
export function feedInBands(
  { data, width, height }: RawImage,
  memory: WebAssembly.Memory,
  band: number,
  bandRows: number,
  take: (top: number, rows: number) => void,
): void {
  for (let top = 0; top < height; top += bandRows) {
    const rows = Math.min(bandRows, height - top);
    // The view is made after every call: memory growth detaches the old buffer.
    new Uint8Array(memory.buffer, band, rows * width * 4).set(data.subarray(top * width * 4, (top + rows) * width * 4));
    take(top, rows);
  }
}
