import { initSync as initResize } from '@jsquash/resize/lib/resize/pkg/squoosh_resize.js';
// @ts-expect-error the .d.ts beside this file types the instance's exports; Workers import the compiled module.
import resizeWasm from '@jsquash/resize/lib/resize/pkg/squoosh_resize_bg.wasm';
import type { RawImage } from './types';

/** The resizer's raw wasm-bindgen exports (its glue keeps one instance per isolate). */
interface ResizeExports {
  memory: WebAssembly.Memory;
  __wbindgen_add_to_stack_pointer(delta: number): number;
  __wbindgen_malloc(size: number, align: number): number;
  __wbindgen_free(ptr: number, size: number, align: number): void;
  resize(
    retptr: number,
    ptr: number,
    length: number,
    inputWidth: number,
    inputHeight: number,
    outputWidth: number,
    outputHeight: number,
    filter: number,
    premultiply: number,
    linearRgb: number,
  ): void;
}
let resizer: ResizeExports | undefined;
const resizeExports = (): ResizeExports => (resizer ??= initResize(resizeWasm) as unknown as ResizeExports);

const LANCZOS3 = 3;

/**
 * Lanczos3 with premultiplied alpha in linear light, as jSquash's `resize` calls it, but
 * through the raw exports: the glue copies its result out of WebAssembly memory into a new
 * array, one strip-sized piece of garbage per call, while `receive` reads it in place.
 */
export async function resize(image: RawImage, width: number, height: number, receive: (pixels: Uint8Array) => void): Promise<void> {
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
