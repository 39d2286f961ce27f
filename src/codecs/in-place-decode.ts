import type { RawImage } from './types';

// Decoded pixels handed over where the decoder wrote them, instead of copied out of its memory.

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

export type DecodedImage = { width: number; height: number; data: Uint8ClampedArray };

/**
 * Runs an Embind decoder whose C++ ends with `ImageData(Uint8ClampedArray.new_(typed_memory_view(…)))`
 * without the JS copy that line makes, and returns the image as the glue made it plus, for
 * all but tiny images, a view of the pixels in the decoder's own memory. By then the C++ has
 * freed that buffer, and the allocator keeps its bookkeeping at the buffer's ends, so the
 * pixels' first and last 256 bytes are saved as they were written.
 */
function capturePixels(
  run: () => DecodedImage | null,
): { image: DecodedImage; view?: Uint8Array; head?: Uint8Array; tail?: Uint8Array } | null {
  let view: Uint8Array | undefined;
  let head: Uint8Array | undefined;
  let tail: Uint8Array | undefined;
  collectPixels = (pixels) => {
    view = pixels;
    head = pixels.slice(0, 256);
    tail = pixels.slice(pixels.length - 256);
  };
  (globalThis as { Uint8ClampedArray: unknown }).Uint8ClampedArray = CollectingUint8ClampedArray;
  let image: DecodedImage | null;
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
export function takePixels(run: () => DecodedImage | null, leaveInHeapAbove: number): { image: RawImage; retired: boolean } | null {
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
export function usePixelsInPlace<T>(run: () => DecodedImage | null, use: (image: RawImage) => T): { value: T } | null {
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
