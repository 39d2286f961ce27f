import type { ImageFormat } from '../schemas/options';

/** 8-bit RGBA pixels, row-major, no padding. */
export interface RawImage {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
}

/** One byte a pixel, indexing `palette` (RGBA entries, 4 bytes each, at most 256). */
export interface IndexedImage {
  indices: Uint8Array;
  palette: Uint8Array;
  width: number;
  height: number;
}

export interface EncodeSettings {
  /** 1..100; ignored where `lossless` is set. */
  quality: number;
  lossless: boolean;
}

/**
 * What the pipeline needs from codecs. The pipeline receives an implementation instead of
 * importing one, so it stays a plain function that tests and benchmarks can run anywhere.
 */
export interface Codecs {
  decode(format: ImageFormat, bytes: Uint8Array): Promise<RawImage>;
  /**
   * Decodes and hands the image to `use` while it is still where the decoder wrote it: valid
   * only during the (synchronous) call, so a quality search's trial decodes leave no copies behind.
   */
  decodeBriefly<T>(format: ImageFormat, bytes: Uint8Array, use: (image: RawImage) => T): Promise<T>;
  encode(format: ImageFormat, image: RawImage, settings: EncodeSettings): Promise<Uint8Array>;
  /** A lossless PNG of a palette image (what lossy PNG is, once quantised). */
  encodeIndexedPng(image: IndexedImage): Promise<Uint8Array>;
  /**
   * Resamples to exactly width × height (aspect is the caller's business) and hands the
   * pixels to `receive` while they are still in the resizer's memory: they are valid only
   * during the call, so the caller copies them to where they belong and no copy is garbage.
   */
  resize(image: RawImage, width: number, height: number, receive: (pixels: Uint8Array) => void): Promise<void>;
}

/** Thrown by a decoder for bytes that claim a format but do not decode. */
export class DecodeError extends Error {
  readonly format: ImageFormat;

  constructor(format: ImageFormat, cause: unknown) {
    super(`${format} data could not be decoded: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'DecodeError';
    this.format = format;
  }
}
