/**
 * The jSquash codecs, loaded the way Workers load WebAssembly: each `.wasm` is imported as
 * a compiled WebAssembly.Module (compiled once per isolate), and instantiated here.
 *
 * Emscripten codecs (mozjpeg, libwebp, libavif) get a fresh instance for every operation:
 * an instance's linear memory only ever grows, so a long-lived one would hold the largest
 * image it ever saw for the life of the isolate; a per-operation one is garbage the moment
 * the operation ends, and concurrent requests never share one. Instantiating a compiled
 * module costs well under a millisecond.
 *
 * PNG, oxipng and resize are wasm-bindgen builds whose glue keeps one instance per module.
 */
import mozjpegDecoderFactory from '@jsquash/jpeg/codec/dec/mozjpeg_dec.js';
import mozjpegDecoderWasm from '@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm';
import mozjpegEncoderFactory from '@jsquash/jpeg/codec/enc/mozjpeg_enc.js';
import mozjpegEncoderWasm from '@jsquash/jpeg/codec/enc/mozjpeg_enc.wasm';
import { defaultOptions as mozjpegDefaults } from '@jsquash/jpeg/meta.js';
import webpDecoderFactory from '@jsquash/webp/codec/dec/webp_dec.js';
import webpDecoderWasm from '@jsquash/webp/codec/dec/webp_dec.wasm';
import webpEncoderFactory from '@jsquash/webp/codec/enc/webp_enc_simd.js';
import webpEncoderWasm from '@jsquash/webp/codec/enc/webp_enc_simd.wasm';
import { defaultOptions as webpDefaults } from '@jsquash/webp/meta.js';
import avifDecoderFactory from '@jsquash/avif/codec/dec/avif_dec.js';
import avifDecoderWasm from '@jsquash/avif/codec/dec/avif_dec.wasm';
import avifEncoderFactory from '@jsquash/avif/codec/enc/avif_enc.js';
import avifEncoderWasm from '@jsquash/avif/codec/enc/avif_enc.wasm';
import { defaultOptions as avifDefaults } from '@jsquash/avif/meta.js';
import { initSync as initPng, decode as pngDecode } from '@jsquash/png/codec/pkg/squoosh_png.js';
// @ts-expect-error the .d.ts beside this file types the instance's exports; Workers import the compiled module.
import pngWasm from '@jsquash/png/codec/pkg/squoosh_png_bg.wasm';
import { initSync as initOxipng, optimise_raw as oxipngFromPixels } from '@jsquash/oxipng/codec/pkg/squoosh_oxipng.js';
// @ts-expect-error the .d.ts beside this file types the instance's exports; Workers import the compiled module.
import oxipngWasm from '@jsquash/oxipng/codec/pkg/squoosh_oxipng_bg.wasm';
import { initSync as initResize, resize as wasmResize } from '@jsquash/resize/lib/resize/pkg/squoosh_resize.js';
// @ts-expect-error the .d.ts beside this file types the instance's exports; Workers import the compiled module.
import resizeWasm from '@jsquash/resize/lib/resize/pkg/squoosh_resize_bg.wasm';
import type { ImageFormat } from '../schemas/options';
import { type Codecs, DecodeError, type EncodeSettings, type RawImage } from './types';

// Some glue constructs ImageData, which workerd does not provide.
if (!('ImageData' in globalThis)) {
  (globalThis as unknown as Record<string, unknown>).ImageData = class ImageData {
    constructor(
      readonly data: Uint8ClampedArray,
      readonly width: number,
      readonly height: number,
    ) {}
  };
}

/** Any Emscripten module factory; its option type is jSquash's, ours is the subset used below. */
type EmscriptenFactory<M> = (options: never) => Promise<M>;

function instantiate<M>(factory: EmscriptenFactory<M>, wasm: WebAssembly.Module): Promise<M> {
  const options = {
    noInitialRun: true,
    // Never let the glue try to locate or fetch the .wasm file itself.
    locateFile: (path: string) => path,
    instantiateWasm(imports: WebAssembly.Imports, receive: (instance: WebAssembly.Instance) => void) {
      const instance = new WebAssembly.Instance(wasm, imports);
      receive(instance);
      return instance.exports;
    },
  };
  return factory(options as never);
}

let bindgenReady = false;
function ensureBindgenCodecs(): void {
  if (bindgenReady) return;
  initPng(pngWasm);
  initOxipng(oxipngWasm);
  initResize(resizeWasm);
  bindgenReady = true;
}

/** libavif fails on odd sizes with 4:2:0; full-resolution chroma is also what keeps small text sharp. */
const AVIF_CHROMA_444 = 3;
const AVIF_CHROMA_420 = 1;

async function decode(format: ImageFormat, bytes: Uint8Array): Promise<RawImage> {
  try {
    const image = await decodeUnchecked(format, bytes);
    if (!image || !image.width || !image.height) throw new Error('decoder returned no image');
    return { data: image.data, width: image.width, height: image.height };
  } catch (error) {
    throw new DecodeError(format, error);
  }
}

async function decodeUnchecked(format: ImageFormat, bytes: Uint8Array): Promise<RawImage | null> {
  switch (format) {
    case 'jpeg':
      return (await instantiate(mozjpegDecoderFactory, mozjpegDecoderWasm)).decode(bytes, false);
    case 'webp':
      return (await instantiate(webpDecoderFactory, webpDecoderWasm)).decode(bytes);
    case 'avif':
      return (await instantiate(avifDecoderFactory, avifDecoderWasm)).decode(bytes, 8);
    case 'png':
      ensureBindgenCodecs();
      return pngDecode(bytes);
  }
}

async function encode(format: ImageFormat, image: RawImage, { quality, lossless }: EncodeSettings): Promise<Uint8Array> {
  const { data, width, height } = image;
  switch (format) {
    case 'jpeg': {
      const encoder = await instantiate(mozjpegEncoderFactory, mozjpegEncoderWasm);
      return new Uint8Array(encoder.encode(data, width, height, { ...mozjpegDefaults, quality }));
    }
    case 'webp': {
      const encoder = await instantiate(webpEncoderFactory, webpEncoderWasm);
      const options = lossless ? { ...webpDefaults, lossless: 1, quality: 100, exact: 0 } : { ...webpDefaults, quality };
      const out = encoder.encode(data, width, height, options);
      if (!out) throw new Error('WebP encoder failed');
      return new Uint8Array(out);
    }
    case 'avif': {
      const encoder = await instantiate(avifEncoderFactory, avifEncoderWasm);
      const options = lossless
        ? { ...avifDefaults, lossless: true, quality: 100, qualityAlpha: -1, subsample: AVIF_CHROMA_444 }
        : { ...avifDefaults, quality, subsample: width % 2 || height % 2 ? AVIF_CHROMA_444 : AVIF_CHROMA_420 };
      const out = encoder.encode(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width, height, options);
      if (!out) throw new Error('AVIF encoder failed');
      return new Uint8Array(out);
    }
    case 'png': {
      ensureBindgenCodecs();
      // Straight from pixels to an optimised PNG: oxipng picks colour type, bit depth and
      // filters itself, so there is no intermediate PNG to hold.
      const pixels = data instanceof Uint8ClampedArray ? data : new Uint8ClampedArray(data.buffer, data.byteOffset, data.byteLength);
      return oxipngFromPixels(pixels, width, height, 2, false, true);
    }
  }
}

const LANCZOS3 = 3;

async function resize(image: RawImage, width: number, height: number): Promise<RawImage> {
  ensureBindgenCodecs();
  const input = image.data instanceof Uint8Array ? image.data : new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  const data = wasmResize(input, image.width, image.height, width, height, LANCZOS3, true, true);
  return { data, width, height };
}

export const wasmCodecs: Codecs = { decode, encode, resize };
