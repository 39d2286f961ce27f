import CRC32 from 'crc-32';
import type { ImageFormat } from '../schemas/options';

/**
 * Container checks the decoders skip. mozjpeg decodes a truncated JPEG by filling the rest
 * with grey, the Rust PNG decoder ignores CRCs, and libwebp can accept a short file: each
 * would turn a damaged upload into a damaged "success". Returns why the file is corrupt,
 * or undefined when its structure is sound.
 */
export function findStructuralDamage(format: ImageFormat, bytes: Uint8Array): string | undefined {
  switch (format) {
    case 'jpeg':
      return jpegDamage(bytes);
    case 'png': {
      const result = readPngChunks(bytes);
      return 'corrupt' in result ? result.corrupt : undefined;
    }
    case 'webp':
      return webpDamage(bytes);
    case 'avif':
      return undefined; // libavif validates box sizes itself, strictly.
  }
}

const SOS = 0xda;
const EOI = 0xd9;

function jpegDamage(bytes: Uint8Array): string | undefined {
  let position = 2;
  while (position + 4 <= bytes.length) {
    if (bytes[position] !== 0xff) return 'a marker is missing where one must be';
    const marker = bytes[position + 1]!;
    if (marker === 0xff) {
      position++; // fill byte
      continue;
    }
    const length = (bytes[position + 2]! << 8) | bytes[position + 3]!;
    if (marker === SOS) {
      // Entropy-coded data stuffs every 0xFF with 0x00, so FF D9 after the first scan
      // can only be the end-of-image marker.
      for (let i = position + 2 + length; i + 1 < bytes.length; i++) {
        if (bytes[i] === 0xff && bytes[i + 1] === EOI) return undefined;
      }
      return 'the file is truncated (no end-of-image marker after the image data)';
    }
    position += 2 + length;
  }
  return 'the file ends before any image data';
}

function webpDamage(bytes: Uint8Array): string | undefined {
  const riffSize = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  return bytes.length < riffSize + 8 ? `the file is truncated (${bytes.length} of ${riffSize + 8} bytes)` : undefined;
}

export interface PngChunk {
  type: string;
  /** Offset of the chunk's data within the file. */
  offset: number;
  length: number;
}

const PNG_SIGNATURE_LENGTH = 8;
const PNG_CRITICAL = new Set(['IHDR', 'PLTE', 'IDAT', 'IEND']);

/**
 * Walks a PNG's chunks: not truncated, ends with IEND, and every critical chunk's CRC
 * matches (as libpng insists). Returns the chunk list, or a reason it is corrupt. Readers
 * of a file already checked skip the CRCs (`verifyCrc: false`): for PNG that is the whole file.
 */
export function readPngChunks(bytes: Uint8Array, { verifyCrc = true } = {}): { chunks: PngChunk[] } | { corrupt: string } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunks: PngChunk[] = [];
  let position = PNG_SIGNATURE_LENGTH;
  while (position + 12 <= bytes.length) {
    const length = view.getUint32(position);
    const type = String.fromCharCode(...bytes.subarray(position + 4, position + 8));
    const end = position + 12 + length;
    if (end > bytes.length) return { corrupt: `the ${type} chunk is truncated` };
    if (verifyCrc && PNG_CRITICAL.has(type)) {
      const expected = view.getUint32(position + 8 + length);
      const actual = CRC32.buf(bytes.subarray(position + 4, position + 8 + length)) >>> 0;
      if (actual !== expected) return { corrupt: `the ${type} chunk's checksum does not match` };
    }
    chunks.push({ type, offset: position + 8, length });
    if (type === 'IEND') return { chunks };
    position = end;
  }
  return { corrupt: 'the file ends before its IEND chunk' };
}
