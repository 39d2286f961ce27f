// @ts-expect-error the .d.ts beside this file types the instance's exports; Workers import the compiled module.
import oxipngWasm from '@jsquash/oxipng/codec/pkg/squoosh_oxipng_bg.wasm';

/**
 * oxipng called through its WebAssembly exports, in an instance of its own for every call.
 * jSquash's glue keeps one instance per isolate (its `initSync` returns early once loaded),
 * whose memory would stay at the largest image it ever optimised, outside any budget, and
 * which a trap would leave in an unknown state for every later request.
 */
interface OxipngExports {
  memory: WebAssembly.Memory;
  optimise(retptr: number, ptr: number, len: number, level: number, interlace: number, optimizeAlpha: number): void;
  optimise_raw(
    retptr: number,
    ptr: number,
    len: number,
    width: number,
    height: number,
    level: number,
    interlace: number,
    optimizeAlpha: number,
  ): void;
  __wbindgen_add_to_stack_pointer(delta: number): number;
  __wbindgen_malloc(size: number, align: number): number;
}

function run(
  input: Uint8Array | Uint8ClampedArray,
  call: (oxipng: OxipngExports, retptr: number, ptr: number, len: number) => void,
): Uint8Array {
  let oxipng: OxipngExports | undefined;
  const wbg = {
    __wbindgen_throw(ptr: number, len: number) {
      throw new Error(`oxipng: ${new TextDecoder().decode(new Uint8Array(oxipng!.memory.buffer, ptr >>> 0, len >>> 0))}`);
    },
  };
  oxipng = new WebAssembly.Instance(oxipngWasm as WebAssembly.Module, { wbg }).exports as unknown as OxipngExports;
  const retptr = oxipng.__wbindgen_add_to_stack_pointer(-16);
  const ptr = oxipng.__wbindgen_malloc(input.length, 1) >>> 0;
  new Uint8Array(oxipng.memory.buffer).set(input, ptr);
  call(oxipng, retptr, ptr, input.length);
  const [out, length] = new Int32Array(oxipng.memory.buffer, retptr, 2);
  return new Uint8Array(oxipng.memory.buffer, out! >>> 0, length! >>> 0).slice();
}

const INTERLACE = 0;
const OPTIMIZE_ALPHA = 1;

/** Optimises a PNG file. */
export const optimisePng = (png: Uint8Array, level: number) =>
  run(png, (o, retptr, ptr, len) => o.optimise(retptr, ptr, len, level, INTERLACE, OPTIMIZE_ALPHA));

/** An optimised PNG straight from RGBA pixels: oxipng picks colour type, bit depth and filters. */
export const optimisePixels = (pixels: Uint8Array | Uint8ClampedArray, width: number, height: number, level: number) =>
  run(pixels, (o, retptr, ptr, len) => o.optimise_raw(retptr, ptr, len, width, height, level, INTERLACE, OPTIMIZE_ALPHA));
