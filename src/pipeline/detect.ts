import { imageSize } from 'image-size';
import type { ImageFormat } from '../schemas/options';
import { riffChunks } from './metadata';

export const MIME_TYPES: Record<ImageFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  avif: 'image/avif',
};

export const EXTENSIONS: Record<ImageFormat, string> = { jpeg: 'jpg', png: 'png', webp: 'webp', avif: 'avif' };

export type Detection =
  | { kind: 'supported'; format: ImageFormat }
  /** A recognised image format we do not decode (GIF, BMP, TIFF, HEIC, ...). */
  | { kind: 'unsupported'; name: string }
  /** Claims a supported format, but its signature itself is damaged. */
  | { kind: 'damaged'; format: ImageFormat; reason: string }
  | { kind: 'unknown' };

const ascii = (bytes: Uint8Array, start: number, end: number) => String.fromCharCode(...bytes.subarray(start, end));

/** Decides the format from the leading bytes only; never from a file name or a claimed type. */
export function detectFormat(bytes: Uint8Array): Detection {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return { kind: 'supported', format: 'jpeg' };
  if (bytes.length >= 8 && ascii(bytes, 0, 8) === '\x89PNG\r\n\x1a\n') return { kind: 'supported', format: 'png' };
  if (bytes.length >= 4 && ascii(bytes, 0, 4) === '\x89PNG') {
    return { kind: 'damaged', format: 'png', reason: 'its signature is damaged (typically by a text-mode transfer that rewrote line endings)' };
  }
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') return { kind: 'supported', format: 'webp' };
  if (bytes.length >= 12 && ascii(bytes, 4, 8) === 'ftyp') {
    const brands = ascii(bytes, 8, Math.min(bytes.length, 8 + readUint32(bytes, 0) - 8));
    if (/avi[fs]/.test(brands)) return { kind: 'supported', format: 'avif' };
    if (/hei[cx]|mif1|heim|heis/.test(brands)) return { kind: 'unsupported', name: 'HEIF/HEIC' };
  }
  if (bytes.length >= 6 && /^GIF8[79]a$/.test(ascii(bytes, 0, 6))) return { kind: 'unsupported', name: 'GIF' };
  if (bytes.length >= 2 && ascii(bytes, 0, 2) === 'BM') return { kind: 'unsupported', name: 'BMP' };
  if (bytes.length >= 4 && (ascii(bytes, 0, 4) === 'II*\0' || ascii(bytes, 0, 4) === 'MM\0*')) return { kind: 'unsupported', name: 'TIFF' };
  if (bytes.length >= 12 && bytes[0] === 0 && ascii(bytes, 4, 8) === 'jP  ') return { kind: 'unsupported', name: 'JPEG 2000' };
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0x0a) return { kind: 'unsupported', name: 'JPEG XL' };
  return { kind: 'unknown' };
}

function readUint32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}

export interface HeaderInfo {
  width: number;
  height: number;
}

/**
 * Width and height as the file's header states them, read without decoding any pixels.
 * Returns undefined when the header cannot be read (the file is then corrupt).
 */
export function readHeader(bytes: Uint8Array): HeaderInfo | undefined {
  try {
    const { width, height } = imageSize(bytes);
    if (!width || !height) return undefined;
    return { width, height };
  } catch {
    return undefined;
  }
}

/**
 * Whether an AVIF carries an alpha plane: an auxiliary image, under either of the two names
 * libavif accepts. Its decoder then holds a second plane, so such an input has its own memory
 * line. (Whether the pixels are transparent is decided once decoded, for every format.)
 */
export function avifHasAlphaPlane(bytes: Uint8Array): boolean {
  const meta = new TextDecoder('latin1').decode(topLevelBox(bytes, 'meta') ?? new Uint8Array(0));
  return meta.includes('urn:mpeg:mpegB:cicp:systems:auxiliary:alpha') || meta.includes('urn:mpeg:hevc:2015:auxid:1');
}

/** The body of the first ISO-BMFF box of `type` at the top level, wherever it is in the file. */
function topLevelBox(bytes: Uint8Array, type: string): Uint8Array | undefined {
  for (let at = 0; at + 8 <= bytes.length; ) {
    let size = readUint32(bytes, at);
    let header = 8;
    if (size === 1 && at + 16 <= bytes.length) {
      size = readUint32(bytes, at + 8) * 2 ** 32 + readUint32(bytes, at + 12);
      header = 16;
    } else if (size === 0) size = bytes.length - at;
    if (size < header) return undefined;
    if (ascii(bytes, at + 4, at + 8) === type) return bytes.subarray(at + header, Math.min(bytes.length, at + size));
    at += size;
  }
  return undefined;
}

/** Whether a WebP file is lossless (VP8L): its decoder holds more than a lossy one's. */
export function isLosslessWebp(bytes: Uint8Array): boolean {
  return riffChunks(bytes).some(({ fourcc }) => fourcc === 'VP8L');
}
