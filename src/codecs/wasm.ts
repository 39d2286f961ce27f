/**
 * The jSquash codecs, loaded the way Workers load WebAssembly: each `.wasm` is imported as
 * a compiled WebAssembly.Module (compiled once per isolate), and instantiated here.
 *
 * An instance's linear memory only ever grows, so a long-lived instance would hold the largest
 * image it ever saw for the life of the isolate. So instances belong to a session, made by
 * `createWasmCodecs()` for one compression and garbage when it ends: concurrent requests never
 * share one, and within a compression the many small encodes and decodes of a quality search
 * reuse one instance per codec (a fresh instance each would leave a heap behind per trial, and
 * the runtime does not collect them within a request). Instantiating a compiled module costs
 * well under a millisecond.
 *
 * The resizer's wasm-bindgen glue keeps one instance per isolate (`./resizer.ts`); strips bound
 * its memory (`src/pipeline/resize.ts`). oxipng and the PNG decoder (`./png-decoder.ts`) get an
 * instance per call; large PNGs are decoded a row at a time instead (`./png-stream-decoder.ts`).
 * The encoders of WebP, JPEG and AVIF are our own builds of libwebp (`./webp/`), jpegli
 * (`./jpeg/`) and libavif + libaom (`./avif/`), session-scoped like the Emscripten ones.
 * Decoded pixels stay where the decoder wrote them (`./in-place-decode.ts`).
 */
import mozjpegDecoderFactory from '@jsquash/jpeg/codec/dec/mozjpeg_dec.js';
import mozjpegDecoderWasm from '@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm';
import webpDecoderFactory from '@jsquash/webp/codec/dec/webp_dec.js';
import webpDecoderWasm from '@jsquash/webp/codec/dec/webp_dec.wasm';
import avifDecoderFactory from '@jsquash/avif/codec/dec/avif_dec.js';
import avifDecoderWasm from '@jsquash/avif/codec/dec/avif_dec.wasm';
// @ts-expect-error the .d.ts beside this file types the instance's exports; Workers import the compiled module.
import pngDecoderWasm from '@jsquash/png/codec/pkg/squoosh_png_bg.wasm';
import type { ImageFormat } from '../schemas/options';
import { type Codecs, DecodeError, type EncodeSettings, type IndexedImage, type RawImage } from './types';
import { pngPixels } from '../formats/png';
import { joinJpegStrips } from './jpeg-join';
import { optimisePixels, optimisePng } from './oxipng';
import { encodeIndexedPngStreaming, encodePngStreaming } from './png-stream';
import { createJpegEncoder, type JpegEncoder } from './jpeg/encoder';
import { createWebpEncoder, type WebpEncoder } from './webp/encoder';
import { createAvifEncoder, type ServiceAvifEncoder } from './avif/encoder';
import { type EmscriptenFactory, instantiate } from './emscripten';
import { type DecodedImage, takePixels, usePixelsInPlace } from './in-place-decode';
import { decodePngInFreshInstance } from './png-decoder';
import { decodePngStreaming } from './png-stream-decoder';
import { resize } from './resizer';
import { MEMORY_THRESHOLDS, type MemoryThresholds, OXIPNG_MAX_ROWS } from './thresholds';

export { MEMORY_THRESHOLDS, OXIPNG_MAX_ROWS };

const JPEG_STRIP_ROWS = 256;
/** oxipng's effort: jSquash's default. */
const OXIPNG_LEVEL = 2;

/**
 * Rows per JPEG strip: 256, or fewer whole MCU rows for very wide images, since a strip's
 * MCUs become the restart interval, which JPEG caps at 65,535.
 */
export function jpegStripRows(width: number, mcuSize: number): number {
  const mcusPerRow = Math.ceil(width / mcuSize);
  return Math.max(mcuSize, Math.min(JPEG_STRIP_ROWS, Math.floor(0xffff / mcusPerRow) * mcuSize));
}

/**
 * 4:2:0 chroma below q90 and 4:4:4 from it, as libvips' automatic mode does. cjpeg's
 * heuristic writes 4:2:2 from q80: about 20% more bytes in that band for colour detail the
 * eye barely resolves.
 */
const jpegSubsampled = (quality: number) => quality < 90;

/**
 * Codecs for one compression. Emscripten instances are made on first use and reused; a decoder
 * that hands out a large image in its own memory is retired (never called again) instead.
 */
export function createWasmCodecs(thresholds: MemoryThresholds = MEMORY_THRESHOLDS): Codecs {
  const instances = new Map<unknown, Promise<unknown>>();
  const reused = <M>(factory: EmscriptenFactory<M>, wasm: WebAssembly.Module): Promise<M> => {
    if (!instances.has(factory)) instances.set(factory, instantiate(factory, wasm));
    return instances.get(factory) as Promise<M>;
  };
  let jpegEncoder: JpegEncoder | undefined;
  let webpEncoder: WebpEncoder | undefined;
  let avifEncoder: ServiceAvifEncoder | undefined;

  const decoderFactories = { jpeg: mozjpegDecoderFactory, webp: webpDecoderFactory, avif: avifDecoderFactory } as const;

  /** The session's decoder for an Emscripten-built format, ready to run on `bytes`. */
  async function emscriptenDecode(format: Exclude<ImageFormat, 'png'>, bytes: Uint8Array): Promise<() => DecodedImage | null> {
    switch (format) {
      case 'jpeg': {
        const decoder = await reused(mozjpegDecoderFactory, mozjpegDecoderWasm);
        return () => decoder.decode(bytes, false);
      }
      case 'webp': {
        const decoder = await reused(webpDecoderFactory, webpDecoderWasm);
        return () => decoder.decode(bytes);
      }
      case 'avif': {
        const decoder = await reused(avifDecoderFactory, avifDecoderWasm);
        return () => decoder.decode(bytes, 8);
      }
    }
  }

  async function decodeUnchecked(format: ImageFormat, bytes: Uint8Array): Promise<RawImage | null> {
    if (format === 'png') {
      // Interlaced and 16-bit images are not streamed (null): squoosh_png decodes them.
      const streamed = pngPixels(bytes) > thresholds.pngStreamDecode ? await decodePngStreaming(bytes) : null;
      return streamed ?? decodePngInFreshInstance(bytes, pngDecoderWasm as WebAssembly.Module);
    }
    const run = await emscriptenDecode(format, bytes);
    const taken = takePixels(run, thresholds.leaveInHeap);
    if (taken?.retired) instances.delete(decoderFactories[format]);
    return taken?.image ?? null;
  }

  async function decodeBriefly<T>(format: ImageFormat, bytes: Uint8Array, use: (image: RawImage) => T): Promise<T> {
    if (format === 'png') return use(await decode(format, bytes));
    let result: { value: T } | null;
    // What `use` throws is the caller's error, not a decoder's: it passes through untouched.
    let useFailure: { error: unknown } | undefined;
    const guardedUse = (image: RawImage) => {
      try {
        return use(image);
      } catch (error) {
        useFailure = { error };
        throw error;
      }
    };
    try {
      result = usePixelsInPlace(await emscriptenDecode(format, bytes), guardedUse);
      if (!result) throw new Error('decoder returned no image');
    } catch (error) {
      if (useFailure) throw useFailure.error;
      instances.clear();
      throw new DecodeError(format, error);
    }
    return result.value;
  }

  async function decode(format: ImageFormat, bytes: Uint8Array): Promise<RawImage> {
    try {
      const image = await decodeUnchecked(format, bytes);
      if (!image?.width || !image.height) throw new Error('decoder returned no image');
      return { data: image.data, width: image.width, height: image.height };
    } catch (error) {
      // A decoder that failed half-way may have its heap in any state.
      instances.clear();
      throw new DecodeError(format, error);
    }
  }

  async function encode(format: ImageFormat, image: RawImage, { quality, lossless }: EncodeSettings): Promise<Uint8Array> {
    const { data, width, height } = image;
    switch (format) {
      case 'jpeg': {
        jpegEncoder ??= createJpegEncoder();
        const subsample = jpegSubsampled(quality);
        try {
          if (width * height <= thresholds.jpegStrips) return jpegEncoder.encode(image, { quality, subsample, progressive: true });
          // A progressive encode holds the image's coefficients (3 bytes a pixel at 4:2:0);
          // baseline strips of 256 rows hold a few rows of blocks, whatever the image's height.
          const bytes = data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
          const strips: Uint8Array[] = [];
          const stripRows = jpegStripRows(width, subsample ? 16 : 8);
          for (let y = 0; y < height; y += stripRows) {
            const rows = Math.min(stripRows, height - y);
            strips.push(
              jpegEncoder.encode(
                { data: bytes.subarray(y * width * 4, (y + rows) * width * 4), width, height: rows },
                { quality, subsample, progressive: false },
              ),
            );
          }
          return joinJpegStrips(strips, height);
        } catch (error) {
          jpegEncoder = undefined; // its heap may be in any state
          throw error;
        }
      }
      case 'webp': {
        webpEncoder ??= createWebpEncoder();
        try {
          return webpEncoder.encode(image, { quality, lossless });
        } catch (error) {
          webpEncoder = undefined; // its heap may be in any state
          throw error;
        }
      }
      case 'avif': {
        // Lossy AVIF is 4:2:0 (odd sizes included: tested); lossless is 4:4:4 with RGB kept exactly.
        avifEncoder ??= createAvifEncoder();
        return avifEncoder.encode(image, { quality, lossless });
      }
      case 'png': {
        if (width * height > thresholds.pngStream || height > OXIPNG_MAX_ROWS) return encodePngStreaming(data, width, height);
        // Straight from pixels: there is no intermediate PNG to hold.
        return optimisePixels(data, width, height, OXIPNG_LEVEL);
      }
    }
  }

  /**
   * Written by us one byte a pixel, then optimised by oxipng (filters, bit depth, deflate),
   * which on a palette PNG works one byte a pixel too, instead of four from RGBA.
   */
  async function encodeIndexedPng(image: IndexedImage): Promise<Uint8Array> {
    const streamed = await encodeIndexedPngStreaming(image);
    if (image.width * image.height > thresholds.indexedOxipng || image.height > OXIPNG_MAX_ROWS) return streamed;
    const optimised = optimisePng(streamed, OXIPNG_LEVEL);
    return optimised.byteLength < streamed.byteLength ? optimised : streamed;
  }

  return { decode, decodeBriefly, encode, encodeIndexedPng, resize };
}

/** How the Worker gets codecs for a compression; an object, so tests can make it fail. */
export const codecSource = { create: (): Codecs => createWasmCodecs() };

/** A session for tests and tools that run codecs outside a compression; the Worker makes one per compression. */
export const wasmCodecs: Codecs = createWasmCodecs();
