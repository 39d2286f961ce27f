// Instantiating jSquash's Emscripten glue inside a Worker, which has no ImageData and fetches no files.

// Some glue constructs ImageData, which workerd does not provide.
if (!('ImageData' in globalThis)) {
  (globalThis as unknown as Record<string, unknown>).ImageData = class ImageData {
    readonly data: Uint8ClampedArray;
    readonly width: number;
    readonly height: number;
    constructor(data: Uint8ClampedArray, width: number, height: number) {
      this.data = data;
      this.width = width;
      this.height = height;
    }
  };
}

/** Any Emscripten module factory; its option type is jSquash's, ours is the subset used below. */
export type EmscriptenFactory<M> = (options: never) => Promise<M>;

export function instantiate<M>(factory: EmscriptenFactory<M>, wasm: WebAssembly.Module): Promise<M> {
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
