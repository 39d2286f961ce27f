import { describe, expect, it } from 'vitest';
import { createWasmCodecs, wasmCodecs } from '../../../src/codecs/wasm';
import { createJpegEncoder } from '../../../src/codecs/jpeg/encoder';
import { fixtures, similarity } from '../../helpers';

/** Start-of-frame marker: SOF0 baseline, SOF2 progressive. */
function frameMarker(jpeg: Uint8Array): number | undefined {
  for (let i = 2; i + 3 < jpeg.length; ) {
    if (jpeg[i] !== 0xff) return undefined;
    const marker = jpeg[i + 1]!;
    if (marker >= 0xc0 && marker <= 0xc2) return marker;
    i += 2 + ((jpeg[i + 2]! << 8) | jpeg[i + 3]!);
  }
  return undefined;
}

describe('our JPEG encoder (jpegli, fed a band of rows at a time)', () => {
  it('writes the same file in bands of one row as from the whole image at once, progressive and baseline, 4:2:0 and 4:4:4', async () => {
    const photo = await wasmCodecs.decode('jpeg', fixtures.photoJpeg);
    for (const settings of [
      { quality: 75, subsample: true, progressive: true },
      { quality: 92, subsample: false, progressive: true },
      { quality: 50, subsample: true, progressive: false },
    ]) {
      const banded = createJpegEncoder({ bandPixels: 1 }).encode(photo, settings);
      const whole = createJpegEncoder({ bandPixels: Number.MAX_SAFE_INTEGER }).encode(photo, settings);
      expect(banded, JSON.stringify(settings)).toEqual(whole);
      expect(frameMarker(whole)).toBe(settings.progressive ? 0xc2 : 0xc0);
      expect(similarity(await wasmCodecs.decode('jpeg', whole), photo)).toBeGreaterThan(0.9);
    }
  });

  it('joins baseline strips into one JPEG that decodes to the image a whole encode makes', async () => {
    const photo = await wasmCodecs.decode('jpeg', fixtures.photoJpeg);
    const strips = createWasmCodecs({ jpegStrips: 0, pngStream: 0, indexedOxipng: 0, leaveInHeap: 0, pngStreamDecode: 0 });
    const whole = createWasmCodecs();
    for (const quality of [60, 95]) {
      const joined = await strips.encode('jpeg', photo, { quality, lossless: false });
      expect(frameMarker(joined)).toBe(0xc0);
      const fromStrips = await wasmCodecs.decode('jpeg', joined);
      const fromWhole = await wasmCodecs.decode('jpeg', await whole.encode('jpeg', photo, { quality, lossless: false }));
      expect([fromStrips.width, fromStrips.height]).toEqual([photo.width, photo.height]);
      expect(similarity(fromStrips, fromWhole)).toBeGreaterThan(0.97);
    }
  });

  it('throws on an image jpegli refuses, and a new encoder works after it', () => {
    const tooWide = { data: new Uint8Array(70_000 * 4), width: 70_000, height: 1 };
    expect(() => createJpegEncoder().encode(tooWide, { quality: 75, subsample: true, progressive: true })).toThrow(/JPEG encoder failed/);
    const small = { data: new Uint8Array(16 * 16 * 4).fill(200), width: 16, height: 16 };
    expect(createJpegEncoder().encode(small, { quality: 75, subsample: true, progressive: true })[0]).toBe(0xff);
  });
});
