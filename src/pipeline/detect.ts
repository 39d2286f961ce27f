import { imageSize } from 'image-size';
import { ascii, startsWith } from '../formats/bytes';
import { findBox, isobmffBoxes } from '../formats/isobmff';
import { PNG_SIGNATURE } from '../formats/png';
import { riffChunks } from '../formats/riff';
import { OUTPUT_FORMATS, type ImageFormat } from '../schemas/options';
import { IMAGE_FORMATS } from './image-formats';

export type Detection =
  | { kind: 'supported'; format: ImageFormat }
  /** A recognised image format we do not decode (GIF, BMP, TIFF, HEIC, ...). */
  | { kind: 'unsupported'; name: string }
  /** Claims a supported format, but its signature itself is damaged. */
  | { kind: 'damaged'; format: ImageFormat; reason: string }
  | { kind: 'unknown' };

/** Decides the format from the leading bytes only; never from a file name or a claimed type. */
export function detectFormat(bytes: Uint8Array): Detection {
  for (const format of OUTPUT_FORMATS) if (IMAGE_FORMATS[format].isSignature(bytes)) return { kind: 'supported', format };
  if (startsWith(bytes, PNG_SIGNATURE.subarray(0, 4))) {
    return {
      kind: 'damaged',
      format: 'png',
      reason: 'its signature is damaged (typically by a text-mode transfer that rewrote line endings)',
    };
  }
  const [firstBox] = bytes.length >= 12 ? isobmffBoxes(bytes) : [];
  if (firstBox?.type === 'ftyp' && /hei[cx]|mif1|heim|heis/.test(ascii(firstBox.data))) return { kind: 'unsupported', name: 'HEIF/HEIC' };
  if (bytes.length >= 6 && /^GIF8[79]a$/.test(ascii(bytes, 0, 6))) return { kind: 'unsupported', name: 'GIF' };
  if (bytes.length >= 2 && ascii(bytes, 0, 2) === 'BM') return { kind: 'unsupported', name: 'BMP' };
  if (bytes.length >= 4 && (ascii(bytes, 0, 4) === 'II*\0' || ascii(bytes, 0, 4) === 'MM\0*')) return { kind: 'unsupported', name: 'TIFF' };
  if (bytes.length >= 12 && bytes[0] === 0 && ascii(bytes, 4, 8) === 'jP  ') return { kind: 'unsupported', name: 'JPEG 2000' };
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0x0a) return { kind: 'unsupported', name: 'JPEG XL' };
  return { kind: 'unknown' };
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
  const meta = ascii(findBox(bytes, 'meta')?.data ?? new Uint8Array(0));
  return meta.includes('urn:mpeg:mpegB:cicp:systems:auxiliary:alpha') || meta.includes('urn:mpeg:hevc:2015:auxid:1');
}

/**
 * Whether a lossy WebP carries an alpha channel (an ALPH chunk): libwebp decodes that plane
 * whole, through a buffer of 4 bytes a pixel when it is compressed, so such an input has its
 * own memory line.
 */
export function isLossyWebpWithAlpha(bytes: Uint8Array): boolean {
  return riffChunks(bytes).some(({ fourcc }) => fourcc === 'ALPH');
}

/** Whether a WebP file is lossless (VP8L): its decoder holds more than a lossy one's. */
export function isLosslessWebp(bytes: Uint8Array): boolean {
  return riffChunks(bytes).some(({ fourcc }) => fourcc === 'VP8L');
}
