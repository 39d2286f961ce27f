import { ascii, asciiBytes, concat, readUint16LE, readUint32LE } from '../formats/bytes';
import { JpegMarker, jpegSegment, jpegSegments } from '../formats/jpeg';
import { PNG_SIGNATURE, pngChunk, pngChunkLength, readPngChunks } from '../formats/png';
import { type RiffChunk, riffChunks, riffFile } from '../formats/riff';
import type { ImageFormat } from '../schemas/options';

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
const EXIF_SIGNATURE = 'Exif\0\0';
const ICC_CHUNK = 65535 - 2 - 14;

function readJpeg(bytes: Uint8Array): CarriedMetadata {
  const result: CarriedMetadata = {};
  const iccParts: [number, Uint8Array][] = [];
  for (const { marker, dataOffset, end } of jpegSegments(bytes)) {
    const data = bytes.subarray(dataOffset, end);
    if (marker === JpegMarker.APP1 && ascii(data, 0, 6) === EXIF_SIGNATURE) result.exif = data.slice(6);
    if (marker === JpegMarker.APP2 && ascii(data, 0, 12) === ICC_SIGNATURE) iccParts.push([data[12]!, data.slice(14)]);
  }
  if (iccParts.length) result.icc = concat(iccParts.sort((a, b) => a[0] - b[0]).map(([, part]) => part));
  return result;
}

function writeJpeg(bytes: Uint8Array, { icc, exif }: CarriedMetadata): Uint8Array {
  const segments: Uint8Array[] = [];
  if (exif && exif.length <= 65535 - 8) segments.push(jpegSegment(JpegMarker.APP1, concat([asciiBytes(EXIF_SIGNATURE), exif])));
  if (icc) {
    const count = Math.ceil(icc.length / ICC_CHUNK);
    for (let i = 0; i < count; i++) {
      const header = concat([asciiBytes(ICC_SIGNATURE), Uint8Array.of(i + 1, count)]);
      segments.push(jpegSegment(JpegMarker.APP2, concat([header, icc.subarray(i * ICC_CHUNK, (i + 1) * ICC_CHUNK)])));
    }
  }
  // After SOI and a JFIF APP0, where readers look for them.
  const [first] = jpegSegments(bytes);
  const insertAt = first?.marker === JpegMarker.APP0 ? first.end : 2;
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

async function writePng(bytes: Uint8Array, { icc, exif }: CarriedMetadata): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  if (icc)
    chunks.push(
      pngChunk('iCCP', concat([asciiBytes('ICC profile\0'), Uint8Array.of(0), await transform(icc, new CompressionStream('deflate'))])),
    );
  if (exif) chunks.push(pngChunk('eXIf', exif));
  const afterHeader = PNG_SIGNATURE.length + pngChunkLength(13); // IHDR has 13 bytes of data
  return concat([bytes.subarray(0, afterHeader), ...chunks, bytes.subarray(afterHeader)]);
}

// WebP: RIFF chunks; metadata needs the extended format (a VP8X chunk with flags first).
function readWebp(bytes: Uint8Array): CarriedMetadata {
  const result: CarriedMetadata = {};
  for (const { fourcc, data } of riffChunks(bytes)) {
    if (fourcc === 'ICCP') result.icc = data.slice();
    if (fourcc === 'EXIF') result.exif = ascii(data, 0, 6) === EXIF_SIGNATURE ? data.slice(6) : data.slice();
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
    vp8x.set(
      [
        (width - 1) & 0xff,
        ((width - 1) >> 8) & 0xff,
        (width - 1) >> 16,
        (height - 1) & 0xff,
        ((height - 1) >> 8) & 0xff,
        (height - 1) >> 16,
      ],
      4,
    );
  }
  vp8x[0]! |= (icc ? VP8X_ICC : 0) | (exif ? VP8X_EXIF : 0);
  const rest = chunks.filter((c) => !['VP8X', 'ICCP', 'EXIF'].includes(c.fourcc));
  const ordered: RiffChunk[] = [
    { fourcc: 'VP8X', data: vp8x },
    ...(icc ? [{ fourcc: 'ICCP', data: icc }] : []),
    ...rest,
    ...(exif ? [{ fourcc: 'EXIF', data: exif }] : []),
  ];
  return riffFile('WEBP', ordered);
}

/** Canvas size and alpha of a simple (non-extended) WebP, from its VP8 or VP8L header. */
function bitstreamInfo(chunks: RiffChunk[]): { width: number; height: number; alpha: boolean } {
  const lossless = chunks.find((c) => c.fourcc === 'VP8L');
  if (lossless) {
    const bits = readUint32LE(lossless.data, 1);
    return { width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1, alpha: ((bits >> 28) & 1) === 1 };
  }
  const lossy = chunks.find((c) => c.fourcc === 'VP8 ')!.data;
  return { width: readUint16LE(lossy, 6) & 0x3fff, height: readUint16LE(lossy, 8) & 0x3fff, alpha: false };
}

async function transform(bytes: Uint8Array, stream: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  const output = new Blob([bytes]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(output).arrayBuffer());
}
