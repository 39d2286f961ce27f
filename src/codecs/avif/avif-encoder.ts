/**
 * libavif + libaom, our own build (`encoder.c`, built by `scripts/build-avif-encoder.sh`), on a
 * compiled module the caller provides (the Worker imports it; Node scripts read the file).
 * The image goes in a band of rows at a time, so the encoder's memory holds the YUV picture
 * and one band. A large image is encoded as a grid of cells from one cell-sized picture, filled
 * before each cell is encoded, so both the pixels held and libaom's working memory follow a
 * cell's size instead of the image's. See docs/avif.md.
 */
import { hasAlpha } from '../alpha';
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
  avif_encode(encoder: number, picture: number): number;
  avif_encode_grid(encoder: number, cellPicture: number, width: number, height: number, cellSize: number, transparent: number): number;
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

/** What the module calls before libavif encodes a grid cell's colour or alpha: write that cell into the cell picture. */
type CellFiller = (index: number, alpha: boolean) => void;

interface Instance {
  wasm: AvifEncoderExports;
  /** Set for the length of a grid encode. */
  fillCell?: CellFiller;
}

function instantiate(module: WebAssembly.Module): Instance {
  let wasm: AvifEncoderExports | undefined;
  let tempRet0 = 0;
  const exports = (): AvifEncoderExports => wasm as AvifEncoderExports;
  const instance: Partial<Instance> = {};
  const env: Record<string, unknown> = {
    avif_fill_cell: (index: number, alpha: number) => {
      if (!instance.fillCell) throw new Error('AVIF encoder: a cell was asked for outside a grid encode');
      instance.fillCell(index, alpha !== 0);
    },
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
  instance.wasm = wasm;
  return instance as Instance;
}

/** An encoder with its own instance; its memory is reused by every encode made with it. */
export function avifEncoderOn(module: WebAssembly.Module, { bandPixels = BAND_PIXELS }: { bandPixels?: number } = {}): AvifEncoder {
  // A failed encode (a trap, or an error thrown out of a cell) leaves the heap in an unknown state: start over.
  let instance: Instance | undefined;

  function cString(w: AvifEncoderExports, text: string): number {
    const bytes = new TextEncoder().encode(`${text}\0`);
    const pointer = w.avif_malloc(bytes.length) >>> 0;
    if (!pointer) throw new Error('AVIF encoder: out of memory');
    new Uint8Array(w.memory.buffer, pointer, bytes.length).set(bytes);
    return pointer;
  }

  function readCString(w: AvifEncoderExports, pointer: number): string {
    const memory = new Uint8Array(w.memory.buffer);
    let end = pointer;
    while (memory[end]) end++;
    return new TextDecoder().decode(memory.subarray(pointer, end));
  }

  function setOptions(w: AvifEncoderExports, encoder: number, options: Record<string, string>): void {
    for (const [key, value] of Object.entries(options)) {
      const keyPointer = cString(w, key);
      const valuePointer = cString(w, value);
      const accepted = w.avif_encoder_set_option(encoder, keyPointer, valuePointer);
      w.avif_free(keyPointer);
      w.avif_free(valuePointer);
      if (!accepted) throw new Error(`AVIF encoder: option ${key}=${value} refused`);
    }
  }

  /** Runs `encode` (a C call that returns an output) and takes its bytes out of the module. */
  function takeOutput(w: AvifEncoderExports, encode: () => number): Uint8Array {
    const output = encode() >>> 0;
    try {
      if (!output) throw new Error('AVIF encoder: out of memory');
      const result = w.avif_output_result(output);
      if (result) throw new Error(`AVIF encoder failed: ${readCString(w, w.avif_result_name(result) >>> 0)}`);
      const bytes = w.avif_output_bytes(output) >>> 0;
      return new Uint8Array(w.memory.buffer, bytes, w.avif_output_size(output)).slice();
    } finally {
      w.avif_output_free(output);
    }
  }

  function encodeOn(target: Instance, image: RawImage, settings: AvifEncodeSettings): Uint8Array {
    const { wasm: w } = target;
    const { width, height } = image;
    const quality = settings.lossless ? 100 : settings.quality;
    const cellSize = settings.cellSize ?? 0;
    const gridded = cellSize > 0 && (width > cellSize || height > cellSize);
    // MIAF wants a 4:2:0 grid's width and height even; an odd-sized grid keeps full chroma.
    const fullChroma = gridded && (width % 2 === 1 || height % 2 === 1);
    const [pictureWidth, pictureHeight] = gridded ? [Math.min(width, cellSize), Math.min(height, cellSize)] : [width, height];
    const picture = w.avif_picture_new(pictureWidth, pictureHeight, settings.lossless ? 1 : 0, fullChroma ? 1 : 0) >>> 0;
    if (!picture) throw new Error('AVIF encoder: out of memory for the picture');
    const encoder = w.avif_encoder_new(settings.speed, quality, quality) >>> 0;
    const bandRows = Math.min(pictureHeight, bandRowsFor(pictureWidth, bandPixels));
    const band = encoder ? w.avif_malloc(bandRows * pictureWidth * 4) >>> 0 : 0;
    try {
      if (!band) throw new Error('AVIF encoder: out of memory for a band');
      const importRows = (top: number, rows: number) => {
        if (!w.avif_picture_import_rows(picture, band, top, rows)) throw new Error('AVIF encoder: could not convert the pixels');
      };
      setOptions(w, encoder, settings.options ?? {});
      if (!gridded) {
        feedInBands(image, w.memory, band, bandRows, importRows);
        return takeOutput(w, () => w.avif_encode(encoder, picture));
      }
      const columns = Math.ceil(width / cellSize);
      target.fillCell = (index) => {
        const x = (index % columns) * cellSize;
        const y = Math.floor(index / columns) * cellSize;
        const rect = { x, y, width: Math.min(cellSize, width - x), height: Math.min(cellSize, height - y) };
        feedInBands(image, w.memory, band, bandRows, importRows, rect, pictureWidth);
      };
      return takeOutput(w, () => w.avif_encode_grid(encoder, picture, width, height, cellSize, hasAlpha(image) ? 1 : 0));
    } finally {
      target.fillCell = undefined;
      if (band) w.avif_free(band);
      w.avif_encoder_free(encoder);
      w.avif_picture_free(picture);
    }
  }

  return {
    encode(image, settings) {
      instance ??= instantiate(module);
      try {
        return encodeOn(instance, image, settings);
      } catch (error) {
        instance = undefined;
        throw error;
      }
    },
    memoryBytes: () => instance?.wasm.memory.buffer.byteLength ?? 0,
  };
}
