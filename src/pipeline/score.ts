import { ssim } from 'ssim.js';
import type { RawImage } from '../codecs/types';

/**
 * The perceptual metric: mean SSIM (ssim.js, Weber variant, on luma) at full resolution.
 * ssim.js would otherwise downsample large images to a ~256 px scale first, where
 * compression artefacts vanish and every target is met at the lowest quality.
 */
export const METRIC = 'ssim';

/** 0..1, 1 = identical. Transparent pixels are compared as they would show on white. */
export function perceptualScore(reference: RawImage, candidate: RawImage): number {
  if (reference.width !== candidate.width || reference.height !== candidate.height) {
    throw new Error(`cannot score ${candidate.width}×${candidate.height} against ${reference.width}×${reference.height}`);
  }
  type SsimImage = Parameters<typeof ssim>[0];
  const asImage = (image: RawImage) => ({ data: flattenOnWhite(image.data), width: image.width, height: image.height }) as unknown as SsimImage;
  return ssim(asImage(reference), asImage(candidate), { downsample: false, ssim: 'weber' }).mssim;
}

function flattenOnWhite(data: RawImage['data']): Uint8ClampedArray {
  const out = new Uint8ClampedArray(data.length);
  for (let i = 0; i < data.length; i += 4) {
    const alpha = data[i + 3]!;
    const white = 255 * (255 - alpha);
    out[i] = (data[i]! * alpha + white) / 255;
    out[i + 1] = (data[i + 1]! * alpha + white) / 255;
    out[i + 2] = (data[i + 2]! * alpha + white) / 255;
    out[i + 3] = 255;
  }
  return out;
}
