import type { RawImage } from './types';

/** Whether any pixel is not fully opaque. */
export function hasAlpha(image: RawImage): boolean {
  const { data } = image;
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 255) return true;
  return false;
}
