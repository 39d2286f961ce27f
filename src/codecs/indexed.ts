import type { IndexedImage, RawImage } from './types';

/** A palette image back to RGBA, for encoders that take pixels. */
export function expandPalette(image: IndexedImage): RawImage {
  const colours = new Uint32Array(image.palette.buffer, image.palette.byteOffset, image.palette.length / 4);
  const out = new Uint32Array(image.indices.length);
  for (let i = 0; i < out.length; i++) out[i] = colours[image.indices[i]!]!;
  return { data: new Uint8Array(out.buffer), width: image.width, height: image.height };
}
