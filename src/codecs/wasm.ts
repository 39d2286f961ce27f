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
 * The resizer's wasm-bindgen glue keeps one instance per isolate; strips bound its memory
 * (`src/pipeline/resize.ts`). oxipng and the PNG decoder get an instance per call. The WebP
 * encoders of WebP, JPEG and AVIF are our own builds of libwebp (`./webp/`), jpegli (`./jpeg/`)
 * and libavif + libaom (`./avif/`),
 * session-scoped like the Emscripten ones.
 */
import mozjpegDecoderFactory from '@jsquash/jpeg/codec/dec/mozjpeg_dec.js';
import mozjpegDecoderWasm from '@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm';
import webpDecoderFactory from '@jsquash/webp/codec/dec/webp_dec.js';
import webpDecoderWasm from '@jsquash/webp/codec/dec/webp_dec.wasm';
import avifDecoderFactory from '@jsquash/avif/codec/dec/avif_dec.js';
import avifDecoderWasm from '@jsquash/avif/codec/dec/avif_dec.wasm';
// @ts-expect-error the .d.ts beside this file types the instance's exports; Workers import the compiled module.
import pngWasm from '@jsquash/png/codec/pkg/squoosh_png_bg.wasm';
import { initSync as initResize } from '@jsquash/resize/lib/resize/pkg/squoosh_resize.js';
// @ts-expect-error the .d.ts beside this file types the instance's exports; Workers import the compiled module.
import resizeWasm from '@jsquash/resize/lib/resize/pkg/squoosh_resize_bg.wasm';
import type { ImageFormat } from '../schemas/options';
import { type Codecs, DecodeError, type EncodeSettings, type IndexedImage, type RawImage } from './types';
import { joinJpegStrips } from './jpeg-join';
import { optimisePixels, optimisePng } from './oxipng';
import { encodeIndexedPngStreaming, encodePngStreaming } from './png-stream';
import { createJpegEncoder, type JpegEncoder } from './jpeg/encoder';
import { createWebpEncoder, type WebpEncoder } from './webp/encoder';
import { createAvifEncoder, type ServiceAvifEncoder } from './avif/encoder';

/**
 * Where the memory-lean paths take over, in pixels. Above `jpegStrips` JPEG is encoded in
 * strips (baseline, not progressive), above `pngStream` PNG is deflated by the runtime
 * (CompressionStream) instead of oxipng: the whole-image encoders would not fit an isolate's
 * memory, and both outputs are a little larger. Above `leaveInHeap` a decoded image stays in
 * its decoder's memory instead of being copied out (see `takePixels`).
 */
export interface MemoryThresholds {
  jpegStrips: number;
  pngStream: number;
  /** Above this, a palette PNG is not given to oxipng. */
  indexedOxipng: number;
  leaveInHeap: number;
}
export const MEMORY_THRESHOLDS: MemoryThresholds = { jpegStrips: 4_000_000, pngStream: 2_000_000, indexedOxipng: 5_000_000, leaveInHeap: 2_000_000 };
const JPEG_STRIP_ROWS = 256;
/** oxipng's effort: jSquash's default. */
const OXIPNG_LEVEL = 2;
/**
 * oxipng spends a fixed time on every row whatever its width (docs/reliability.md, "CPU by
 * shape"): taller images are deflated by the runtime instead, which costs next to nothing a row.
 */
export const OXIPNG_MAX_ROWS = 8192;

/**
 * Rows per JPEG strip: 256, or fewer whole MCU rows for very wide images, since a strip's
 * MCUs become the restart interval, which JPEG caps at 65,535.
 */
export function jpegStripRows(width: number, mcuSize: number): number {
  const mcusPerRow = Math.ceil(width / mcuSize);
  return Math.max(mcuSize, Math.min(JPEG_STRIP_ROWS, Math.floor(0xffff / mcusPerRow) * mcuSize));
}

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

/** The resizer's raw wasm-bindgen exports (its glue keeps one instance per isolate). */
interface ResizeExports {
  memory: WebAssembly.Memory;
  __wbindgen_add_to_stack_pointer(delta: number): number;
  __wbindgen_malloc(size: number, align: number): number;
  __wbindgen_free(ptr: number, size: number, align: number): void;
  resize(retptr: number, ptr: number, length: number, inputWidth: number, inputHeight: number, outputWidth: number, outputHeight: number, filter: number, premultiply: number, linearRgb: number): void;
}
let resizer: ResizeExports | undefined;
const resizeExports = (): ResizeExports => (resizer ??= initResize(resizeWasm) as unknown as ResizeExports);


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
    if (format === 'png') return decodePngInFreshInstance(bytes);
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
      if (!image || !image.width || !image.height) throw new Error('decoder returned no image');
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
            strips.push(jpegEncoder.encode({ data: bytes.subarray(y * width * 4, (y + rows) * width * 4), width, height: rows }, { quality, subsample, progressive: false }));
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

const RealUint8ClampedArray = globalThis.Uint8ClampedArray;
/** Set by `takePixels` for the length of one decode. */
let collectPixels: ((pixels: Uint8Array) => void) | undefined;
/**
 * Stands in for Uint8ClampedArray while a decoder runs. Embind looks the global up once per
 * instance (a `thread_local val` in jSquash's C++) and keeps it, so this one function serves
 * every decode; what it does depends on the decode now running, not on the first one.
 */
function CollectingUint8ClampedArray(...args: unknown[]) {
  const [source] = args;
  if (collectPixels && args.length === 1 && source instanceof Uint8Array && source.byteLength >= 1024) {
    collectPixels(source);
    collectPixels = undefined;
    return new RealUint8ClampedArray(0);
  }
  return Reflect.construct(RealUint8ClampedArray, args, RealUint8ClampedArray);
}

type DecodedImage = { width: number; height: number; data: Uint8ClampedArray };

/**
 * Runs an Embind decoder whose C++ ends with `ImageData(Uint8ClampedArray.new_(typed_memory_view(…)))`
 * without the JS copy that line makes, and returns the image as the glue made it plus, for
 * all but tiny images, a view of the pixels in the decoder's own memory. By then the C++ has
 * freed that buffer, and the allocator keeps its bookkeeping at the buffer's ends, so the
 * pixels' first and last 256 bytes are saved as they were written.
 */
function capturePixels(run: () => DecodedImage | null): { image: DecodedImage; view?: Uint8Array; head?: Uint8Array; tail?: Uint8Array } | null {
  let view: Uint8Array | undefined;
  let head: Uint8Array | undefined;
  let tail: Uint8Array | undefined;
  collectPixels = (pixels) => {
    view = pixels;
    head = pixels.slice(0, 256);
    tail = pixels.slice(pixels.length - 256);
  };
  (globalThis as { Uint8ClampedArray: unknown }).Uint8ClampedArray = CollectingUint8ClampedArray;
  let image;
  try {
    image = run();
  } finally {
    globalThis.Uint8ClampedArray = RealUint8ClampedArray;
    collectPixels = undefined;
  }
  return image ? { image, view, head, tail } : null;
}

/**
 * A decode without the copy: a large image is kept where the decoder left it (the copy would
 * double it until the instance is collected), with its saved ends put back, and the instance
 * is retired: never called again, so its allocator's bookkeeping no longer matters. A small
 * image is copied out and the instance stays usable.
 */
function takePixels(run: () => DecodedImage | null, leaveInHeapAbove: number): { image: RawImage; retired: boolean } | null {
  const captured = capturePixels(run);
  if (!captured) return null;
  const { image, view, head, tail } = captured;
  const { width, height } = image;
  if (!view) return { image, retired: false }; // the glue made its copy (a tiny image): use it
  // The type the glue's own copy has, whichever way the pixels come.
  const inPlace = new Uint8ClampedArray(view.buffer, view.byteOffset, view.length);
  const pixels = width * height > leaveInHeapAbove ? inPlace : inPlace.slice();
  pixels.set(head!, 0);
  pixels.set(tail!, pixels.length - 256);
  return { image: { data: pixels, width, height }, retired: pixels === inPlace };
}

/**
 * A decode whose image is used where it lies and then given back: the pixels' ends go in for
 * the call and the allocator's bookkeeping goes back after it, so the instance stays usable
 * and the next decode reuses the same memory.
 */
function usePixelsInPlace<T>(run: () => DecodedImage | null, use: (image: RawImage) => T): { value: T } | null {
  const captured = capturePixels(run);
  if (!captured) return null;
  const { image, view, head, tail } = captured;
  if (!view) return { value: use(image) };
  const bookkeepingHead = view.slice(0, 256);
  const bookkeepingTail = view.slice(view.length - 256);
  view.set(head!, 0);
  view.set(tail!, view.length - 256);
  try {
    return { value: use({ data: view, width: image.width, height: image.height }) };
  } finally {
    view.set(bookkeepingHead, 0);
    view.set(bookkeepingTail, view.length - 256);
  }
}

/**
 * squoosh_png's decoder in an instance of its own, like the Emscripten codecs (its glue keeps
 * one instance per isolate, whose memory would hold the largest PNG ever decoded), and with
 * the pixels left in that instance's memory instead of copied out.
 */
function decodePngInFreshInstance(bytes: Uint8Array): RawImage | null {
  const objects: unknown[] = [...new Array(128).fill(undefined), undefined, null, true, false];
  const keep = (o: unknown) => objects.push(o) - 1;
  let exports: Record<string, (...args: number[]) => number> & { memory: WebAssembly.Memory };
  let image: RawImage | null = null;
  const wbg: Record<string, (...args: number[]) => unknown> = {};
  for (const { name } of WebAssembly.Module.imports(pngWasm as WebAssembly.Module)) {
    if (name === '__wbindgen_memory') wbg[name] = () => keep(exports.memory);
    else if (name.startsWith('__wbg_buffer_')) wbg[name] = (i) => keep((objects[i!] as { buffer: ArrayBuffer }).buffer);
    else if (name.startsWith('__wbg_newwithbyteoffsetandlength_')) wbg[name] = (i, o, n) => keep(new Uint16Array(objects[i!] as ArrayBuffer, o! >>> 0, n! >>> 0));
    else if (name === '__wbindgen_object_drop_ref') wbg[name] = () => {};
    else if (name.startsWith('__wbg_newwithownedu8clampedarrayandsh_')) {
      wbg[name] = (ptr, len, width, height) => {
        image = { data: new Uint8ClampedArray(exports.memory.buffer, ptr! >>> 0, len! >>> 0), width: width! >>> 0, height: height! >>> 0 };
        return keep(image);
      };
    } else if (name === '__wbindgen_throw') {
      wbg[name] = (ptr, len) => {
        throw new Error(new TextDecoder().decode(new Uint8Array(exports.memory.buffer, ptr, len)));
      };
    } else wbg[name] = () => { throw new Error(`squoosh_png import ${name} is not provided`); };
  }
  exports = new WebAssembly.Instance(pngWasm as WebAssembly.Module, { wbg }).exports as typeof exports;
  const ptr = exports.__wbindgen_malloc!(bytes.length, 1) >>> 0;
  new Uint8Array(exports.memory.buffer).set(bytes, ptr);
  exports.decode!(ptr, bytes.length);
  return image;
}

const LANCZOS3 = 3;

/**
 * Lanczos3 with premultiplied alpha in linear light, as jSquash's `resize` calls it, but
 * through the raw exports: the glue copies its result out of WebAssembly memory into a new
 * array, one strip-sized piece of garbage per call, while `receive` reads it in place.
 */
async function resize(image: RawImage, width: number, height: number, receive: (pixels: Uint8Array) => void): Promise<void> {
  const wasm = resizeExports();
  const retptr = wasm.__wbindgen_add_to_stack_pointer(-16);
  try {
    const input = wasm.__wbindgen_malloc(image.data.length, 1) >>> 0;
    new Uint8Array(wasm.memory.buffer).set(image.data, input);
    // The resizer takes ownership of its input and frees it.
    wasm.resize(retptr, input, image.data.length, image.width, image.height, width, height, LANCZOS3, 1, 1);
    const [output, length] = new Int32Array(wasm.memory.buffer, retptr, 2);
    try {
      receive(new Uint8Array(wasm.memory.buffer, output! >>> 0, length!));
    } finally {
      wasm.__wbindgen_free(output!, length!, 1);
    }
  } finally {
    wasm.__wbindgen_add_to_stack_pointer(16);
  }
}

