/**
 * jpegli's JPEG encoder (libjxl), our own build (`encoder.cc`, built by
 * `scripts/build-jpeg-encoder.sh`): the image goes in a band of rows at a time, so the heap
 * holds jpegli's own buffers and one band, never a copy of the whole RGBA image. Chosen over
 * jSquash's mozjpeg for speed at equal bytes (docs/measurements.md, "JPEG encoder").
 */
import jpegEncoderWasm from './jpeg_enc.wasm';
import { feedInBands } from '../bands';
import type { RawImage } from '../types';

interface JpegEncoderExports {
  memory: WebAssembly.Memory;
  _initialize(): void;
  jpeg_malloc(size: number): number;
  jpeg_free(pointer: number): void;
  jpeg_encode_start(width: number, height: number, quality: number, subsample: number, progressive: number): number;
  jpeg_encode_rows(encode: number, rgba: number, rows: number): number;
  jpeg_encode_finish(encode: number): void;
  jpeg_encode_output(encode: number): number;
  jpeg_encode_output_size(encode: number): number;
  jpeg_encode_free(encode: number): void;
}

/** Pixels copied in per call: a 256 KiB band buffer, whatever the image's size. */
const BAND_PIXELS = 65_536;

export interface JpegEncodeSettings {
  /** 1..100, libjpeg's scale (jpegli maps it to its own quantisation). */
  quality: number;
  /** 4:2:0 chroma; 4:4:4 otherwise. */
  subsample: boolean;
  /**
   * Progressive with optimised Huffman tables, holding the image's coefficients (about 3 bytes
   * a pixel at 4:2:0); otherwise baseline with the standard tables, holding a few rows of
   * blocks, for strips that `joinJpegStrips` re-codes.
   */
  progressive: boolean;
}

export interface JpegEncoder {
  encode(image: RawImage, settings: JpegEncodeSettings): Uint8Array;
}

class JpegEncoderFailure extends Error {
  override name = 'JpegEncoderFailure';
}

/**
 * An encoder with its own instance, reused by every encode made with it. After a throw its
 * heap may be in any state: make a new one.
 */
export function createJpegEncoder({ bandPixels = BAND_PIXELS }: { bandPixels?: number } = {}): JpegEncoder {
  let wasm: JpegEncoderExports | undefined;
  const cString = (pointer: number) => {
    const heap = new Uint8Array(wasm!.memory.buffer);
    let end = pointer >>> 0;
    while (heap[end]) end++;
    return new TextDecoder().decode(heap.subarray(pointer >>> 0, end));
  };
  const imports = {
    env: {
      jpeg_fail: (message: number) => {
        throw new JpegEncoderFailure(`JPEG encoder failed: ${cString(message)}`);
      },
      emscripten_notify_memory_growth: () => {},
    },
    // libc's stdio and exit, which jpegli's unused paths refer to.
    wasi_snapshot_preview1: {
      proc_exit: (code: number) => {
        throw new JpegEncoderFailure(`JPEG encoder exited (${code})`);
      },
      fd_write: () => 0,
      fd_close: () => 0,
      fd_seek: () => 0,
    },
  };
  wasm = new WebAssembly.Instance(jpegEncoderWasm, imports).exports as unknown as JpegEncoderExports;
  wasm._initialize();
  const exports = wasm;

  function encode({ data, width, height }: RawImage, { quality, subsample, progressive }: JpegEncodeSettings): Uint8Array {
    const bandRows = Math.max(1, Math.min(height, Math.floor(bandPixels / width)));
    const encoding = exports.jpeg_encode_start(width, height, quality, subsample ? 1 : 0, progressive ? 1 : 0) >>> 0;
    if (!encoding) throw new Error('JPEG encoder: out of memory');
    // Nothing is freed on a throw: the heap may be in any state, and the caller discards the encoder.
    const band = exports.jpeg_malloc(bandRows * width * 4) >>> 0;
    if (!band) throw new Error('JPEG encoder: out of memory for a band');
    feedInBands({ data, width, height }, exports.memory, band, bandRows, (_top, rows) => exports.jpeg_encode_rows(encoding, band, rows));
    exports.jpeg_free(band);
    exports.jpeg_encode_finish(encoding);
    const output = exports.jpeg_encode_output(encoding) >>> 0;
    const bytes = new Uint8Array(exports.memory.buffer, output, exports.jpeg_encode_output_size(encoding) >>> 0).slice();
    exports.jpeg_encode_free(encoding);
    return bytes;
  }

  return { encode };
}
