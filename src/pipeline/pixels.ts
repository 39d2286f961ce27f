import type { RawImage } from '../codecs/types';

/** Flattens transparency onto white, in place (the pixels are ours by now). */
export function compositeOnWhite(image: RawImage): RawImage {
  const { data } = image;
  for (let i = 0; i < data.length; i += 4) {
    const alpha = data[i + 3]!;
    if (alpha === 255) continue;
    const white = 255 * (255 - alpha);
    data[i] = Math.round((data[i]! * alpha + white) / 255);
    data[i + 1] = Math.round((data[i + 1]! * alpha + white) / 255);
    data[i + 2] = Math.round((data[i + 2]! * alpha + white) / 255);
    data[i + 3] = 255;
  }
  return image;
}
