import CRC32 from 'crc-32';
import { ascii, asciiBytes, readUint32BE, writeUint32BE } from './bytes';

export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

export interface PngChunk {
  type: string;
  /** Offset of the chunk's data within the file. */
  offset: number;
  length: number;
}

const CRITICAL = new Set(['IHDR', 'PLTE', 'IDAT', 'IEND']);

/**
 * Walks a PNG's chunks: not truncated, ends with IEND, and every critical chunk's CRC
 * matches (as libpng insists). Returns the chunk list, or a reason it is corrupt. Readers
 * of a file already checked skip the CRCs (`verifyCrc: false`): for PNG that is the whole file.
 */
export function readPngChunks(bytes: Uint8Array, { verifyCrc = true } = {}): { chunks: PngChunk[] } | { corrupt: string } {
  const chunks: PngChunk[] = [];
  let position = PNG_SIGNATURE.length;
  while (position + 12 <= bytes.length) {
    const length = readUint32BE(bytes, position);
    const type = ascii(bytes, position + 4, position + 8);
    const end = position + 12 + length;
    if (end > bytes.length) return { corrupt: `the ${type} chunk is truncated` };
    if (
      verifyCrc &&
      CRITICAL.has(type) &&
      readUint32BE(bytes, position + 8 + length) !== chunkCrc(bytes.subarray(position + 4, position + 8 + length))
    ) {
      return { corrupt: `the ${type} chunk's checksum does not match` };
    }
    chunks.push({ type, offset: position + 8, length });
    if (type === 'IEND') return { chunks };
    position = end;
  }
  return { corrupt: 'the file ends before its IEND chunk' };
}

/** Width × height from the IHDR chunk, which comes first; 0 if there is none to read (a decoder then says why). */
export const pngPixels = (bytes: Uint8Array) =>
  bytes.length >= 24 && ascii(bytes, 12, 16) === 'IHDR' ? readUint32BE(bytes, 16) * readUint32BE(bytes, 20) : 0;

/** The CRC a chunk stores, over its type and data. */
const chunkCrc = (typeAndData: Uint8Array) => CRC32.buf(typeAndData) >>> 0;

/** Bytes a chunk with `dataLength` bytes of data takes: length, type, data, CRC. */
export const pngChunkLength = (dataLength: number) => 12 + dataLength;

/**
 * Writes a chunk into `out` at `at` and returns where the next one starts. The data may come
 * in pieces (as a compression stream hands them out), so it is copied only once.
 */
export function writePngChunk(out: Uint8Array, at: number, type: string, data: Uint8Array | readonly Uint8Array[]): number {
  const pieces = data instanceof Uint8Array ? [data] : data;
  let end = at + 8;
  for (const piece of pieces) {
    out.set(piece, end);
    end += piece.length;
  }
  writeUint32BE(out, at, end - at - 8);
  out.set(asciiBytes(type), at + 4);
  writeUint32BE(out, end, chunkCrc(out.subarray(at + 4, end)));
  return end + 4;
}

/** One chunk on its own. */
export function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const chunk = new Uint8Array(pngChunkLength(data.length));
  writePngChunk(chunk, 0, type, data);
  return chunk;
}

/** An 8-bit IHDR's data (colour type 2 RGB, 3 palette, 6 RGBA; no interlacing). */
export function pngHeader(width: number, height: number, colorType: number): Uint8Array {
  const data = new Uint8Array(13);
  writeUint32BE(data, 0, width);
  writeUint32BE(data, 4, height);
  data.set([8, colorType, 0, 0, 0], 8);
  return data;
}
