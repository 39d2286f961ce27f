import { JpegMarker, JpegStructureError, jpegSegments } from '../formats/jpeg';
import { readPngChunks } from '../formats/png';
import { riffDeclaredLength } from '../formats/riff';
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

function jpegDamage(bytes: Uint8Array): string | undefined {
  try {
    for (const segment of jpegSegments(bytes)) {
      if (segment.marker !== JpegMarker.SOS) continue;
      return segment.scanEnd === undefined ? 'the file is truncated (no end-of-image marker after the image data)' : undefined;
    }
  } catch (error) {
    if (error instanceof JpegStructureError) return error.message;
    throw error;
  }
  return 'the file ends before any image data';
}

function webpDamage(bytes: Uint8Array): string | undefined {
  const declared = riffDeclaredLength(bytes);
  return bytes.length < declared ? `the file is truncated (${bytes.length} of ${declared} bytes)` : undefined;
}
