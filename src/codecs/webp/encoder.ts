/**
 * libwebp's encoder, our own build (`encoder.c`, built by `scripts/build-webp-encoder.sh`):
 * the image goes in a band of rows at a time, so the encoder's memory holds the YUV picture
 * and one band instead of jSquash's two copies of the whole RGBA image, and a large image's
 * transparency is compressed by our own low-memory alpha coder instead of libwebp's lossless
 * encoder (25 bytes a pixel). See docs/measurements.md, "Memory".
 */
import webpEncoderWasm from './webp_enc.wasm';
import { bandRowsFor, feedInBands } from '../bands';
import type { RawImage } from '../types';

interface WebpEncoderExports {
  memory: WebAssembly.Memory;
  _initialize(): void;
  webp_malloc(size: number): number;
  webp_free(pointer: number): void;
  webp_picture_new(width: number, height: number, lossless: number): number;
  webp_picture_free(picture: number): void;
  webp_picture_import_rows(picture: number, rgba: number, top: number, rows: number): number;
  webp_encode(picture: number, quality: number, lossless: number, method: number, ownAlpha: number, alphaFilter: number): number;
  webp_output_bytes(output: number): number;
  webp_output_size(output: number): number;
  webp_output_error(output: number): number;
  webp_output_free(output: number): void;
}

/** Pixels converted per call: a 256 KiB band buffer, whatever the image's size. */
const BAND_PIXELS = 65_536;
/**
 * Up to this size libwebp compresses transparency (its alpha chunks are 8–33% smaller than
 * ours, and a 1 MP transparent image peaked at 60 MiB with it, 2 MP at 98); above it, our
 * coder does (docs/measurements.md, "Memory").
 */
export const LIBWEBP_ALPHA_MAX_PIXELS = 1_000_000;
/** Let the alpha coder choose its filter. */
const CHOOSE_ALPHA_FILTER = -1;
/** libwebp's default effort, as jSquash's. */
const METHOD = 4;
/** libwebp's WebPEncodingError names, for messages. */
const ENCODING_ERRORS = [
  'OK',
  'OUT_OF_MEMORY',
  'BITSTREAM_OUT_OF_MEMORY',
  'NULL_PARAMETER',
  'INVALID_CONFIGURATION',
  'BAD_DIMENSION',
  'PARTITION0_OVERFLOW',
  'PARTITION_OVERFLOW',
  'BAD_WRITE',
  'FILE_TOO_BIG',
  'USER_ABORT',
];

export interface WebpEncoder {
  encode(image: RawImage, settings: { quality: number; lossless: boolean }): Uint8Array;
}

/** Defaults are the Worker's; tests change them to reach every path with small images. */
export interface WebpEncoderTuning {
  bandPixels?: number;
  libwebpAlphaMaxPixels?: number;
  /** Our alpha coder's filter: 0 none, 1 horizontal, 2 vertical, 3 gradient; by default it tries each. */
  alphaFilter?: number;
}

/** An encoder with its own instance; its memory is reused by every encode made with it. */
export function createWebpEncoder({
  bandPixels = BAND_PIXELS,
  libwebpAlphaMaxPixels = LIBWEBP_ALPHA_MAX_PIXELS,
  alphaFilter = CHOOSE_ALPHA_FILTER,
}: WebpEncoderTuning = {}): WebpEncoder {
  const wasm = new WebAssembly.Instance(webpEncoderWasm, { env: { emscripten_notify_memory_growth: () => {} } })
    .exports as unknown as WebpEncoderExports;
  wasm._initialize();

  function encode({ data, width, height }: RawImage, { quality, lossless }: { quality: number; lossless: boolean }): Uint8Array {
    const picture = wasm.webp_picture_new(width, height, lossless ? 1 : 0) >>> 0;
    if (!picture) throw new Error('WebP encoder: out of memory for the picture');
    const bandRows = Math.min(height, bandRowsFor(width, bandPixels));
    let band = wasm.webp_malloc(bandRows * width * 4) >>> 0;
    let output = 0;
    try {
      if (!band) throw new Error('WebP encoder: out of memory for a band');
      feedInBands({ data, width, height }, wasm.memory, band, bandRows, (top, rows) => {
        if (!wasm.webp_picture_import_rows(picture, band, top, rows)) throw new Error('WebP encoder: could not convert the pixels');
      });
      wasm.webp_free(band);
      band = 0;
      const ownAlpha = width * height > libwebpAlphaMaxPixels ? 1 : 0;
      output = wasm.webp_encode(picture, lossless ? 100 : quality, lossless ? 1 : 0, METHOD, ownAlpha, alphaFilter) >>> 0;
      if (!output) throw new Error('WebP encoder: out of memory');
      const error = wasm.webp_output_error(output);
      if (error) throw new Error(`WebP encoder failed: ${ENCODING_ERRORS[error] ?? error}`);
      const bytes = wasm.webp_output_bytes(output) >>> 0;
      return new Uint8Array(wasm.memory.buffer, bytes, wasm.webp_output_size(output)).slice();
    } finally {
      if (band) wasm.webp_free(band);
      wasm.webp_output_free(output);
      wasm.webp_picture_free(picture);
    }
  }

  return { encode };
}
