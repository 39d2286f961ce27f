import { readUint32BE, startsWith } from '../formats/bytes';
import { PNG_SIGNATURE, readPngChunks } from '../formats/png';
import { inflate } from './inflate';
import { bitsPerPixel, type RowFormat, rowExpander, unfilterRow } from './png-rows';
import type { RawImage } from './types';

/**
 * A PNG decoder whose memory is the RGBA output and two rows: the IDAT data is inflated by the
 * runtime's DecompressionStream (`./inflate.ts`) and each row is unfiltered and widened to RGBA
 * as soon as it is complete. squoosh_png holds the whole
 * unfiltered image, then an RGBA copy, about 2.3× the output for RGB. It reads what most
 * large PNGs are; interlaced and 16-bit images are left to squoosh_png.
 */

export interface PngLayout extends RowFormat {
  height: number;
  /** The data of the first run of consecutive IDAT chunks: the only one squoosh_png reads. */
  idat: Uint8Array[];
}

/** The shortest tRNS each colour type allows; grey and colour with alpha allow none. */
const TRANSPARENCY_BYTES: Record<number, number> = { 0: 2, 2: 6, 3: 0 };
const VALID_DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

/**
 * The file's layout, or null when it is sound but beyond this decoder (interlaced, 16-bit,
 * APNG frame control before the image). Throws for a file that is broken, with the png
 * crate's strictness for what it checks before the image data; later chunks it never reads.
 */
export function readPngLayout(bytes: Uint8Array): PngLayout | null {
  if (!startsWith(bytes, PNG_SIGNATURE)) throw new Error('the PNG signature is damaged');
  const read = readPngChunks(bytes);
  if ('corrupt' in read) throw new Error(read.corrupt);
  const [header, ...rest] = read.chunks;
  if (header?.type !== 'IHDR' || header.length < 13) throw new Error('the file does not start with an IHDR chunk');
  const at = header.offset;
  const [width, height] = [readUint32BE(bytes, at), readUint32BE(bytes, at + 4)];
  const [bitDepth, colorType, compression, filter, interlace] = bytes.subarray(at + 8, at + 13);
  if (!width || !height) throw new Error(`the image is ${width}×${height}`);
  if (!VALID_DEPTHS[colorType!]?.includes(bitDepth!)) throw new Error(`colour type ${colorType} with bit depth ${bitDepth} is not PNG`);
  if (compression || filter || interlace! > 1) throw new Error('IHDR names an unknown compression, filter or interlace method');

  let palette: Uint8Array | undefined;
  let transparency: Uint8Array | undefined;
  let deferred = interlace === 1 || bitDepth === 16;
  const idat: Uint8Array[] = [];
  for (const { type, offset, length } of rest) {
    const data = bytes.subarray(offset, offset + length);
    if (type === 'IDAT') {
      idat.push(data);
      continue;
    }
    if (idat.length) break; // squoosh_png reads no further than the first run of IDAT chunks
    if (type === 'IHDR' || (type === 'PLTE' && palette) || (type === 'tRNS' && transparency)) {
      throw new Error(`the file has a second ${type} chunk`);
    }
    if (type === 'PLTE') palette = data;
    if (type === 'tRNS') {
      if (colorType === 3 && !palette) throw new Error('tRNS comes before PLTE');
      if (length < (TRANSPARENCY_BYTES[colorType!] ?? Infinity)) throw new Error(`tRNS is invalid for colour type ${colorType}`);
      transparency = data;
    }
    if (type === 'fcTL') deferred = true; // an APNG's first frame, whose size may differ
  }
  if (!idat.length) throw new Error('the file has no IDAT chunk');
  if (colorType === 3 && !palette) throw new Error('the palette image has no PLTE chunk');
  if (deferred) return null;
  return { width, height, bitDepth, colorType, palette, transparency, idat } as PngLayout;
}

/** The image as RGBA, or null when `readPngLayout` leaves it to squoosh_png. Throws for a broken file. */
export async function decodePngStreaming(bytes: Uint8Array): Promise<RawImage | null> {
  const layout = readPngLayout(bytes);
  if (!layout) return null;
  const { width, height } = layout;
  const data = new Uint8Array(width * height * 4);
  const bits = bitsPerPixel(layout);
  const rowBytes = Math.ceil((width * bits) / 8);
  const bytesPerPixel = Math.max(1, bits >> 3);
  const expand = rowExpander(layout);
  let previous = new Uint8Array(rowBytes);
  let row = new Uint8Array(rowBytes);
  let filter = -1; // -1 until the row's filter byte has arrived
  let filled = 0;
  let y = 0;

  const take = (chunk: Uint8Array) => {
    for (let i = 0; i < chunk.length && y < height; ) {
      if (filter < 0) {
        filter = chunk[i++]!;
        continue;
      }
      const n = Math.min(rowBytes - filled, chunk.length - i);
      row.set(chunk.subarray(i, i + n), filled);
      filled += n;
      i += n;
      if (filled < rowBytes) continue;
      unfilterRow(filter, row, previous, bytesPerPixel);
      expand(row, data, y * width * 4);
      [previous, row] = [row, previous];
      filter = -1;
      filled = 0;
      y++;
    }
  };

  // Output past the last row is read and dropped, so a corrupt stream fails as in squoosh_png.
  await inflate(layout.idat, take);
  if (y < height) throw new Error(`the image data ends after ${y} of ${height} rows`);
  // The type squoosh_png's pixels have, over the same bytes.
  return { data: new Uint8ClampedArray(data.buffer), width, height };
}
