import { PNG_SIGNATURE, pngChunkLength, pngHeader, writePngChunk } from '../formats/png';
import { hasAlpha } from './alpha';
import type { IndexedImage } from './types';

/**
 * PNGs straight from pixels, for images too large for oxipng's memory: rows are deflated by
 * the runtime's CompressionStream, whose zlib state lives outside the JS and WASM heaps, so
 * working memory is a few rows plus the compressed output.
 */

interface RowSource {
  width: number;
  height: number;
  /** PNG colour type: 2 RGB, 3 palette, 6 RGBA. */
  colorType: 2 | 3 | 6;
  /** Bytes per pixel in a row. */
  channels: number;
  /** Writes row `y`, unfiltered, into `out`. */
  readRow(y: number, out: Uint8Array): void;
  /** Chunks between IHDR and IDAT (PLTE, tRNS). */
  header?: [type: string, data: Uint8Array][];
}

/** RGBA pixels: each row gets the PNG filter with the smallest sum of absolute differences (libpng's heuristic); RGB when fully opaque. */
export function encodePngStreaming(data: Uint8Array | Uint8ClampedArray, width: number, height: number): Promise<Uint8Array> {
  const opaque = !hasAlpha({ data, width, height });
  const readRow = opaque
    ? (y: number, out: Uint8Array) => {
        for (let x = 0, o = 0, i = y * width * 4; x < width; x++, i += 4) {
          out[o++] = data[i]!;
          out[o++] = data[i + 1]!;
          out[o++] = data[i + 2]!;
        }
      }
    : (y: number, out: Uint8Array) => out.set(data.subarray(y * width * 4, (y + 1) * width * 4));
  return writePng({ width, height, colorType: opaque ? 2 : 6, channels: opaque ? 3 : 4, readRow });
}

/** A palette image, unfiltered (the usual best for palettes), with tRNS when any entry is not opaque. */
export function encodeIndexedPngStreaming({ indices, palette, width, height }: IndexedImage): Promise<Uint8Array> {
  const entries = palette.length / 4;
  const rgb = new Uint8Array(entries * 3);
  const alpha = new Uint8Array(entries);
  for (let e = 0; e < entries; e++) {
    rgb.set(palette.subarray(e * 4, e * 4 + 3), e * 3);
    alpha[e] = palette[e * 4 + 3]!;
  }
  let lastTranslucent = entries - 1;
  while (lastTranslucent >= 0 && alpha[lastTranslucent] === 255) lastTranslucent--;
  const header: [string, Uint8Array][] = [['PLTE', rgb]];
  if (lastTranslucent >= 0) header.push(['tRNS', alpha.subarray(0, lastTranslucent + 1)]);
  return writePng({
    width,
    height,
    colorType: 3,
    channels: 1,
    readRow: (y, out) => out.set(indices.subarray(y * width, (y + 1) * width)),
    header,
  });
}

async function writePng({ width, height, colorType, channels, readRow, header = [] }: RowSource): Promise<Uint8Array> {
  const stride = width * channels;
  const adaptive = colorType !== 3;
  const stream = new CompressionStream('deflate');
  const writer = stream.writable.getWriter();
  const chunks: Uint8Array[] = [];
  const reading = (async () => {
    const reader = stream.readable.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      chunks.push(value);
    }
  })();

  let previous = new Uint8Array(stride);
  let current = new Uint8Array(stride);
  const filtered = [0, 1, 2, 3, 4].map(() => new Uint8Array(stride));
  const rowsPerBatch = Math.max(1, Math.floor((256 * 1024) / (stride + 1)));
  const batch = new Uint8Array(rowsPerBatch * (stride + 1));
  let rowsInBatch = 0;
  for (let y = 0; y < height; y++) {
    readRow(y, current);
    let best = 0;
    let bestSum = Infinity;
    for (let filter = 0; filter < (adaptive ? 5 : 1); filter++) {
      const out = filtered[filter]!;
      let sum = 0;
      for (let i = 0; i < stride; i++) {
        const a = i >= channels ? current[i - channels]! : 0;
        const b = previous[i]!;
        let prediction = 0;
        if (filter === 1) prediction = a;
        else if (filter === 2) prediction = b;
        else if (filter === 3) prediction = (a + b) >> 1;
        else if (filter === 4) {
          const c = i >= channels ? previous[i - channels]! : 0;
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          prediction = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
        }
        const v = (current[i]! - prediction) & 255;
        out[i] = v;
        sum += v < 128 ? v : 256 - v;
        if (sum >= bestSum) break; // cannot win; only a winner's row needs to be complete
      }
      if (sum < bestSum) {
        bestSum = sum;
        best = filter;
      }
    }
    const at = rowsInBatch * (stride + 1);
    batch[at] = best;
    batch.set(filtered[best]!, at + 1);
    if (++rowsInBatch === rowsPerBatch || y === height - 1) {
      // Resolves once the chunk is consumed, so the batch buffer can be refilled.
      await writer.write(batch.subarray(0, rowsInBatch * (stride + 1)));
      rowsInBatch = 0;
    }
    [previous, current] = [current, previous];
  }
  await writer.close();
  await reading;

  const idatLength = chunks.reduce((n, c) => n + c.byteLength, 0);
  const ihdr = pngHeader(width, height, colorType);
  const headerLength = header.reduce((n, [, data]) => n + pngChunkLength(data.byteLength), 0);
  const out = new Uint8Array(
    PNG_SIGNATURE.length + pngChunkLength(ihdr.length) + headerLength + pngChunkLength(idatLength) + pngChunkLength(0),
  );
  out.set(PNG_SIGNATURE);
  let next = writePngChunk(out, PNG_SIGNATURE.length, 'IHDR', ihdr);
  for (const [type, data] of header) next = writePngChunk(out, next, type, data);
  next = writePngChunk(out, next, 'IDAT', chunks);
  writePngChunk(out, next, 'IEND', new Uint8Array(0));
  return out;
}
