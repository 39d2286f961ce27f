import type { RawImage } from './types';

/**
 * squoosh_png's decoder in an instance of its own, like the Emscripten codecs (its glue keeps
 * one instance per isolate, whose memory would hold the largest PNG ever decoded), and with
 * the pixels left in that instance's memory instead of copied out. The module is a parameter
 * so that Node scripts, which cannot import a .wasm as Workers do, can compile their own.
 */
export function decodePngInFreshInstance(bytes: Uint8Array, pngWasm: WebAssembly.Module): RawImage | null {
  const objects: unknown[] = [...new Array(128).fill(undefined), undefined, null, true, false];
  const keep = (o: unknown) => objects.push(o) - 1;
  let exports: Record<string, (...args: number[]) => number> & { memory: WebAssembly.Memory };
  let image: RawImage | null = null;
  const wbg: Record<string, (...args: number[]) => unknown> = {};
  for (const { name } of WebAssembly.Module.imports(pngWasm)) {
    if (name === '__wbindgen_memory') wbg[name] = () => keep(exports.memory);
    else if (name.startsWith('__wbg_buffer_')) wbg[name] = (i) => keep((objects[i!] as { buffer: ArrayBuffer }).buffer);
    else if (name.startsWith('__wbg_newwithbyteoffsetandlength_'))
      wbg[name] = (i, o, n) => keep(new Uint16Array(objects[i!] as ArrayBuffer, o! >>> 0, n! >>> 0));
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
    } else
      wbg[name] = () => {
        throw new Error(`squoosh_png import ${name} is not provided`);
      };
  }
  exports = new WebAssembly.Instance(pngWasm, { wbg }).exports as typeof exports;
  const ptr = exports.__wbindgen_malloc!(bytes.length, 1) >>> 0;
  new Uint8Array(exports.memory.buffer).set(bytes, ptr);
  exports.decode!(ptr, bytes.length);
  return image;
}
