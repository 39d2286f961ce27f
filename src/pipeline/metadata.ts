import CRC32 from 'crc-32';
import type { ImageFormat } from '../schemas/options';
import { readPngChunks } from './structure';

/**
 * The metadata worth carrying from input to output: the ICC profile (so colours do not
 * shift: a Display P3 photo read as sRGB looks dull) and, when asked, EXIF. Encoders write
 * neither, so they are read from the input's container and written into the output's.
 */
export interface CarriedMetadata {
  icc?: Uint8Array;
  /** A TIFF structure (starts with II or MM), as JPEG's APP1, PNG's eXIf and WebP's EXIF hold it. */
  exif?: Uint8Array;
}

const ascii = (bytes: Uint8Array, start: number, length: number) => String.fromCharCode(...bytes.subarray(start, start + length));
const concat = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((offset, part) => (out.set(part, offset), offset + part.length), 0);
  return out;
};

export async function readMetadata(format: ImageFormat, bytes: Uint8Array): Promise<CarriedMetadata> {
  try {
    if (format === 'jpeg') return readJpeg(bytes);
    if (format === 'png') return await readPng(bytes);
    if (format === 'webp') return readWebp(bytes);
  } catch {
    // Damaged metadata is dropped rather than failing a compression that could succeed.
  }
  return {};
}

export async function writeMetadata(format: ImageFormat, bytes: Uint8Array, metadata: CarriedMetadata): Promise<Uint8Array> {
  if (!metadata.icc && !metadata.exif) return bytes;
  if (format === 'jpeg') return writeJpeg(bytes, metadata);
  if (format === 'png') return writePng(bytes, metadata);
  if (format === 'webp') return writeWebp(bytes, metadata);
  return bytes; // the AVIF encoder takes no metadata
}

/** EXIF with its orientation set to 1: the pixels carry the orientation now. */
export function withUprightOrientation(exif: Uint8Array): Uint8Array {
  const copy = exif.slice();
  const view = new DataView(copy.buffer);
  const little = ascii(copy, 0, 2) === 'II';
  const ifd0 = view.getUint32(4, little);
  const entries = view.getUint16(ifd0, little);
  for (let i = 0; i < entries; i++) {
    const entry = ifd0 + 2 + i * 12;
    if (view.getUint16(entry, little) === 0x0112) view.setUint16(entry + 8, 1, little);
  }
  return copy;
}

// JPEG: APP1 "Exif\0\0" + TIFF; APP2 "ICC_PROFILE\0" + sequence number + count + a piece of the profile.
const ICC_SIGNATURE = 'ICC_PROFILE\0';
const ICC_CHUNK = 65535 - 2 - 14;

function readJpeg(bytes: Uint8Array): CarriedMetadata {
  const result: CarriedMetadata = {};
  const iccParts: [number, Uint8Array][] = [];
  for (let position = 2; position + 4 <= bytes.length && bytes[position] === 0xff; ) {
    const marker = bytes[position + 1]!;
    if (marker === 0xda || marker === 0xd9) break;
    const length = (bytes[position + 2]! << 8) | bytes[position + 3]!;
    const data = bytes.subarray(position + 4, position + 2 + length);
    if (marker === 0xe1 && ascii(data, 0, 6) === 'Exif\0\0') result.exif = data.slice(6);
    if (marker === 0xe2 && ascii(data, 0, 12) === ICC_SIGNATURE) iccParts.push([data[12]!, data.slice(14)]);
    position += 2 + length;
  }
  if (iccParts.length) result.icc = concat(iccParts.sort((a, b) => a[0] - b[0]).map(([, part]) => part));
  return result;
}

function jpegSegment(marker: number, payload: Uint8Array): Uint8Array {
  const segment = new Uint8Array(4 + payload.length);
  segment.set([0xff, marker, (payload.length + 2) >> 8, (payload.length + 2) & 0xff]);
  segment.set(payload, 4);
  return segment;
}

function writeJpeg(bytes: Uint8Array, { icc, exif }: CarriedMetadata): Uint8Array {
  const segments: Uint8Array[] = [];
  if (exif && exif.length <= 65535 - 8) segments.push(jpegSegment(0xe1, concat([new TextEncoder().encode('Exif\0\0'), exif])));
  if (icc) {
    const count = Math.ceil(icc.length / ICC_CHUNK);
    for (let i = 0; i < count; i++) {
      const header = concat([new TextEncoder().encode(ICC_SIGNATURE), Uint8Array.of(i + 1, count)]);
      segments.push(jpegSegment(0xe2, concat([header, icc.subarray(i * ICC_CHUNK, (i + 1) * ICC_CHUNK)])));
    }
  }
  // After SOI and a JFIF APP0, where readers look for them.
  let insertAt = 2;
  if (bytes[2] === 0xff && bytes[3] === 0xe0) insertAt += 2 + ((bytes[4]! << 8) | bytes[5]!);
  return concat([bytes.subarray(0, insertAt), ...segments, bytes.subarray(insertAt)]);
}

// PNG: iCCP = name, 0, compression method 0, zlib data; eXIf = TIFF.
async function readPng(bytes: Uint8Array): Promise<CarriedMetadata> {
  const structure = readPngChunks(bytes, { verifyCrc: false }); // findStructuralDamage checked them
  if ('corrupt' in structure) return {};
  const result: CarriedMetadata = {};
  for (const chunk of structure.chunks) {
    const data = bytes.subarray(chunk.offset, chunk.offset + chunk.length);
    if (chunk.type === 'eXIf') result.exif = data.slice();
    if (chunk.type === 'iCCP') result.icc = await transform(data.subarray(data.indexOf(0) + 2), new DecompressionStream('deflate'));
  }
  return result;
}

export function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const chunk = new Uint8Array(12 + data.length);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, data.length);
  chunk.set(new TextEncoder().encode(type), 4);
  chunk.set(data, 8);
  view.setUint32(8 + data.length, CRC32.buf(chunk.subarray(4, 8 + data.length)) >>> 0);
  return chunk;
}

async function writePng(bytes: Uint8Array, { icc, exif }: CarriedMetadata): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  if (icc) chunks.push(pngChunk('iCCP', concat([new TextEncoder().encode('ICC profile\0'), Uint8Array.of(0), await transform(icc, new CompressionStream('deflate'))])));
  if (exif) chunks.push(pngChunk('eXIf', exif));
  const afterHeader = 8 + 12 + 13; // signature, then IHDR (13 bytes of data)
  return concat([bytes.subarray(0, afterHeader), ...chunks, bytes.subarray(afterHeader)]);
}

// WebP: RIFF chunks; metadata needs the extended format (a VP8X chunk with flags first).
export interface RiffChunk {
  fourcc: string;
  data: Uint8Array;
}

/** A WebP file's chunks, in order; a truncated last chunk comes as far as it goes. */
export function riffChunks(bytes: Uint8Array): RiffChunk[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunks: RiffChunk[] = [];
  for (let position = 12; position + 8 <= bytes.length; ) {
    const size = view.getUint32(position + 4, true);
    chunks.push({ fourcc: ascii(bytes, position, 4), data: bytes.subarray(position + 8, position + 8 + size) });
    position += 8 + size + (size % 2);
  }
  return chunks;
}

function readWebp(bytes: Uint8Array): CarriedMetadata {
  const result: CarriedMetadata = {};
  for (const { fourcc, data } of riffChunks(bytes)) {
    if (fourcc === 'ICCP') result.icc = data.slice();
    if (fourcc === 'EXIF') result.exif = ascii(data, 0, 6) === 'Exif\0\0' ? data.slice(6) : data.slice();
  }
  return result;
}

const VP8X_ICC = 0x20;
const VP8X_ALPHA = 0x10;
const VP8X_EXIF = 0x08;

function writeWebp(bytes: Uint8Array, { icc, exif }: CarriedMetadata): Uint8Array {
  const chunks = riffChunks(bytes);
  let vp8x = chunks.find((c) => c.fourcc === 'VP8X')?.data.slice();
  if (!vp8x) {
    const { width, height, alpha } = bitstreamInfo(chunks);
    vp8x = new Uint8Array(10);
    vp8x[0] = alpha ? VP8X_ALPHA : 0;
    vp8x.set([(width - 1) & 0xff, ((width - 1) >> 8) & 0xff, (width - 1) >> 16, (height - 1) & 0xff, ((height - 1) >> 8) & 0xff, (height - 1) >> 16], 4);
  }
  vp8x[0]! |= (icc ? VP8X_ICC : 0) | (exif ? VP8X_EXIF : 0);
  const rest = chunks.filter((c) => !['VP8X', 'ICCP', 'EXIF'].includes(c.fourcc));
  const ordered: RiffChunk[] = [{ fourcc: 'VP8X', data: vp8x }, ...(icc ? [{ fourcc: 'ICCP', data: icc }] : []), ...rest, ...(exif ? [{ fourcc: 'EXIF', data: exif }] : [])];
  const body = concat(
    ordered.map(({ fourcc, data }) => {
      const chunk = new Uint8Array(8 + data.length + (data.length % 2));
      chunk.set(new TextEncoder().encode(fourcc));
      new DataView(chunk.buffer).setUint32(4, data.length, true);
      chunk.set(data, 8);
      return chunk;
    }),
  );
  const header = new Uint8Array(12);
  header.set(new TextEncoder().encode('RIFF'));
  new DataView(header.buffer).setUint32(4, 4 + body.length, true);
  header.set(new TextEncoder().encode('WEBP'), 8);
  return concat([header, body]);
}

/** Canvas size and alpha of a simple (non-extended) WebP, from its VP8 or VP8L header. */
function bitstreamInfo(chunks: RiffChunk[]): { width: number; height: number; alpha: boolean } {
  const lossless = chunks.find((c) => c.fourcc === 'VP8L');
  if (lossless) {
    const bits = new DataView(lossless.data.buffer, lossless.data.byteOffset + 1, 4).getUint32(0, true);
    return { width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1, alpha: ((bits >> 28) & 1) === 1 };
  }
  const lossy = chunks.find((c) => c.fourcc === 'VP8 ')!.data;
  const view = new DataView(lossy.buffer, lossy.byteOffset + 6, 4);
  return { width: view.getUint16(0, true) & 0x3fff, height: view.getUint16(2, true) & 0x3fff, alpha: false };
}

async function transform(bytes: Uint8Array, stream: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  const output = new Blob([bytes]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(output).arrayBuffer());
}
