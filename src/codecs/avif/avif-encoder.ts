/**
 * libavif + libaom, our own build (`encoder.c`, built by `scripts/build-avif-encoder.sh`), on a
 * compiled module the caller provides (the Worker imports it; Node scripts read the file).
 * The image goes in a band of rows at a time, so the encoder's memory holds the YUV picture
 * and one band, and a large picture is encoded as a grid of cells so that libaom's working
 * memory follows a cell's size instead of the image's. See docs/avif.md.
 */
import { bandRowsFor, feedInBands } from '../bands';
import type { RawImage } from '../types';

interface AvifEncoderExports {
  memory: WebAssembly.Memory;
  __indirect_function_table: WebAssembly.Table;
  _initialize(): void;
  stackSave(): number;
  stackRestore(pointer: number): void;
  setThrew(threw: number, value: number): void;
  avif_malloc(size: number): number;
  avif_free(pointer: number): void;
  avif_picture_new(width: number, height: number, lossless: number, fullChroma: number): number;
  avif_picture_free(picture: number): void;
  avif_picture_import_rows(picture: number, rgba: number, top: number, rows: number): number;
  avif_encoder_new(speed: number, quality: number, qualityAlpha: number): number;
  avif_encoder_free(encoder: number): void;
  avif_encoder_set_option(encoder: number, key: number, value: number): number;
  avif_encode(encoder: number, picture: number, cellSize: number): number;
  avif_output_bytes(output: number): number;
  avif_output_size(output: number): number;
  avif_output_result(output: number): number;
  avif_result_name(result: number): number;
  avif_output_free(output: number): void;
}

/** Pixels converted per call: a 256 KiB band buffer, whatever the image's size. */
const BAND_PIXELS = 65_536;

export interface AvifEncodeSettings {
  /** 0–100 (libavif's scale); 100 with `lossless`. */
  quality: number;
  lossless: boolean;
  /** libaom's cpu-used, 0 (slowest) to 9. */
  speed: number;
  /** libaom options by name (`tune`, `enable-palette`, `deltaq-mode`, ...). */
  options?: Record<string, string>;
  /** Encode as a grid of cells this size (a multiple of 64) when the image is larger; 0: one image. */
  cellSize?: number;
}

export interface AvifEncoder {
  encode(image: RawImage, settings: AvifEncodeSettings): Uint8Array;
  /** The instance's memory, which grows to the largest encode's peak and stays there. */
  memoryBytes(): number;
}

/** Thrown out of the module by libaom's longjmp (Emscripten's protocol for setjmp/longjmp). */
const LONGJMP = Symbol('longjmp');

function instantiate(module: WebAssembly.Module): AvifEncoderExports {
  let wasm: AvifEncoderExports | undefined;
  let tempRet0 = 0;
  const exports = (): AvifEncoderExports => wasm as AvifEncoderExports;
  const env: Record<string, unknown> = {
    emscripten_notify_memory_growth: () => {},
    getTempRet0: () => tempRet0,
    setTempRet0: (value: number) => {
      tempRet0 = value;
    },
    _emscripten_throw_longjmp: () => {
      throw LONGJMP;
    },
  };
  // Calls made from a function that called setjmp go through `invoke_<signature>`: a longjmp
  // out of the callee unwinds to here and is reported back to the setjmp site.
  for (const { module: from, name } of WebAssembly.Module.imports(module)) {
    if (from !== 'env' || !name.startsWith('invoke_')) continue;
    env[name] = (index: number, ...args: unknown[]) => {
      const stack = exports().stackSave();
      try {
        return (exports().__indirect_function_table.get(index) as (...a: unknown[]) => unknown)(...args);
      } catch (error) {
        exports().stackRestore(stack);
        if (error !== LONGJMP) throw error;
        exports().setThrew(1, 0);
      }
    };
  }
  const ENOSYS = 52;
  const wasi = {
    clock_time_get: () => ENOSYS,
    // Diagnostics printed to stdout or stderr are dropped; the encoder reports errors by result.
    fd_write: (_fd: number, iovs: number, count: number, written: number) => {
      const view = new DataView(exports().memory.buffer);
      let total = 0;
      for (let i = 0; i < count; i++) total += view.getUint32(iovs + i * 8 + 4, true);
      view.setUint32(written, total, true);
      return 0;
    },
    fd_read: () => ENOSYS,
    fd_close: () => ENOSYS,
    fd_seek: () => ENOSYS,
  };
  wasm = new WebAssembly.Instance(module, { env, wasi_snapshot_preview1: wasi } as WebAssembly.Imports)
    .exports as unknown as AvifEncoderExports;
  wasm._initialize();
  return wasm;
}

/** An encoder with its own instance; its memory is reused by every encode made with it. */
export function avifEncoderOn(module: WebAssembly.Module, { bandPixels = BAND_PIXELS }: { bandPixels?: number } = {}): AvifEncoder {
  // A trap (out of memory, a bug) leaves the instance's heap in an unknown state: start over.
  let wasm: AvifEncoderExports | undefined;

  function cString(text: string): number {
    const bytes = new TextEncoder().encode(`${text}\0`);
    const pointer = (wasm as AvifEncoderExports).avif_malloc(bytes.length) >>> 0;
    if (!pointer) throw new Error('AVIF encoder: out of memory');
    new Uint8Array((wasm as AvifEncoderExports).memory.buffer, pointer, bytes.length).set(bytes);
    return pointer;
  }

  function readCString(pointer: number): string {
    const memory = new Uint8Array((wasm as AvifEncoderExports).memory.buffer);
    let end = pointer;
    while (memory[end]) end++;
    return new TextDecoder().decode(memory.subarray(pointer, end));
  }

  function encodeOn(w: AvifEncoderExports, { data, width, height }: RawImage, settings: AvifEncodeSettings): Uint8Array {
    const quality = settings.lossless ? 100 : settings.quality;
    const cellSize = settings.cellSize ?? 0;
    // MIAF wants a 4:2:0 grid's width and height even; an odd-sized grid keeps full chroma.
    const fullChroma = cellSize > 0 && (width > cellSize || height > cellSize) && (width % 2 === 1 || height % 2 === 1);
    const picture = w.avif_picture_new(width, height, settings.lossless ? 1 : 0, fullChroma ? 1 : 0) >>> 0;
    if (!picture) throw new Error('AVIF encoder: out of memory for the picture');
    const encoder = w.avif_encoder_new(settings.speed, quality, quality) >>> 0;
    const bandRows = Math.min(height, bandRowsFor(width, bandPixels));
    let band = encoder ? w.avif_malloc(bandRows * width * 4) >>> 0 : 0;
    let output = 0;
    try {
      if (!band) throw new Error('AVIF encoder: out of memory for a band');
      feedInBands({ data, width, height }, w.memory, band, bandRows, (top, rows) => {
        if (!w.avif_picture_import_rows(picture, band, top, rows)) throw new Error('AVIF encoder: could not convert the pixels');
      });
      w.avif_free(band);
      band = 0;
      for (const [key, value] of Object.entries(settings.options ?? {})) {
        const keyPointer = cString(key);
        const valuePointer = cString(value);
        const accepted = w.avif_encoder_set_option(encoder, keyPointer, valuePointer);
        w.avif_free(keyPointer);
        w.avif_free(valuePointer);
        if (!accepted) throw new Error(`AVIF encoder: option ${key}=${value} refused`);
      }
      output = w.avif_encode(encoder, picture, cellSize) >>> 0;
      if (!output) throw new Error('AVIF encoder: out of memory');
      const result = w.avif_output_result(output);
      if (result) throw new Error(`AVIF encoder failed: ${readCString(w.avif_result_name(result) >>> 0)}`);
      const bytes = w.avif_output_bytes(output) >>> 0;
      return new Uint8Array(w.memory.buffer, bytes, w.avif_output_size(output)).slice();
    } finally {
      if (band) w.avif_free(band);
      w.avif_output_free(output);
      w.avif_encoder_free(encoder);
      w.avif_picture_free(picture);
    }
  }

  return {
    encode(image, settings) {
      wasm ??= instantiate(module);
      try {
        return encodeOn(wasm, image, settings);
      } catch (error) {
        if (error instanceof WebAssembly.RuntimeError) wasm = undefined;
        throw error;
      }
    },
    memoryBytes: () => wasm?.memory.buffer.byteLength ?? 0,
  };
}
