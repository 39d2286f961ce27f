import { describe, expect, it } from 'vitest';
import avifEncoderWasm from '../../../src/codecs/avif/avif_enc.wasm';
import { avifEncoderOn } from '../../../src/codecs/avif/avif-encoder';
import { GRID_ABOVE_PIXELS, GRID_CELL_SIZE, avifSettings } from '../../../src/codecs/avif/encoder';
import type { RawImage } from '../../../src/codecs/types';
import { wasmCodecs } from '../../../src/codecs/wasm';
import { ssimulacra2Against } from '../../../src/pipeline/ssimulacra2';
import { AUTH, api, fixtures, multipart, similarity } from '../../helpers';

const WHOLE_IMAGE = Number.MAX_SAFE_INTEGER;

/** `image` repeated, mirrored at every other copy so that copies meet without a hard edge. */
function tiled(image: RawImage, width: number, height: number): RawImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    const band = Math.floor(y / image.height);
    const sy = band % 2 ? image.height - 1 - (y % image.height) : y % image.height;
    for (let x = 0; x < width; x++) {
      const column = Math.floor(x / image.width);
      const sx = column % 2 ? image.width - 1 - (x % image.width) : x % image.width;
      data.set(image.data.subarray((sy * image.width + sx) * 4, (sy * image.width + sx) * 4 + 4), (y * width + x) * 4);
    }
  }
  return { data, width, height };
}

/** `image` with its bottom `rows` rows made half transparent. */
function withTransparentBottom(image: RawImage, rows: number): RawImage {
  const data = Uint8Array.from(image.data);
  for (let i = (image.height - rows) * image.width * 4 + 3; i < data.length; i += 4) data[i] = 128;
  return { data, width: image.width, height: image.height };
}

/** Whether the file's meta box declares a grid item ('grid' in its item info). */
function hasGridItem(avif: Uint8Array): boolean {
  const text = new TextDecoder('latin1').decode(avif.subarray(0, Math.min(avif.length, 4096)));
  return text.includes('infe') && text.includes('grid');
}

describe('our AVIF encoder (libavif + libaom, fed a band of rows at a time)', () => {
  it('a photo over the grid threshold comes back as a grid that decodes to pixels close to the source', async () => {
    const photo = await wasmCodecs.decode('jpeg', fixtures.photoJpeg);
    // Just over the threshold, so the service encodes it as cells, at a size CI encodes in seconds.
    const width = 1800;
    const height = Math.ceil(GRID_ABOVE_PIXELS / width) + 2;
    const large = tiled(photo, width, height);
    const avif = await wasmCodecs.encode('avif', large, { quality: 60, lossless: false });
    expect(hasGridItem(avif)).toBe(true);
    const decoded = await wasmCodecs.decode('avif', avif);
    expect([decoded.width, decoded.height]).toEqual([width, height]);
    expect(ssimulacra2Against(large)(decoded)).toBeGreaterThan(70);
    // The seams between cells (every GRID_CELL_SIZE px) are not visible as a band of error.
    const strip = (image: RawImage, top: number) => ({
      data: image.data.subarray(top * width * 4, (top + 16) * width * 4),
      width,
      height: 16,
    });
    expect(similarity(strip(decoded, GRID_CELL_SIZE - 8), strip(large, GRID_CELL_SIZE - 8))).toBeGreaterThan(0.9);
  });

  it('a small image is one AV1 frame, close to the source', async () => {
    const photo = await wasmCodecs.decode('jpeg', fixtures.photoJpeg);
    const avif = await wasmCodecs.encode('avif', photo, { quality: 60, lossless: false });
    expect(hasGridItem(avif)).toBe(false);
    expect(ssimulacra2Against(photo)(await wasmCodecs.decode('avif', avif))).toBeGreaterThan(70);
  });

  it('grid cells of any multiple of 64, the last column and row narrower, decode to the right pixels', async () => {
    const photo = await wasmCodecs.decode('jpeg', fixtures.photoJpeg); // 480×316: cells of 128 leave 96 and 60
    const encoder = avifEncoderOn(avifEncoderWasm);
    const settings = { ...avifSettings(photo.width, photo.height, { quality: 70, lossless: false }), cellSize: 128 };
    const grid = await wasmCodecs.decode('avif', encoder.encode(photo, settings));
    const whole = await wasmCodecs.decode('avif', encoder.encode(photo, { ...settings, cellSize: 0 }));
    expect([grid.width, grid.height]).toEqual([photo.width, photo.height]);
    expect(similarity(grid, photo)).toBeGreaterThan(0.95);
    // Cells are placed where they belong: the grid is as close to the source as the single frame.
    expect(ssimulacra2Against(photo)(grid)).toBeGreaterThan(ssimulacra2Against(photo)(whole) - 5);
    // Odd sizes, which a 4:2:0 grid cannot have (MIAF), come back as a full-chroma grid.
    const odd = { data: photo.data.subarray(0, photo.width * 315 * 4), width: photo.width, height: 315 };
    const oddGrid = await wasmCodecs.decode('avif', encoder.encode(odd, settings));
    expect([oddGrid.width, oddGrid.height]).toEqual([odd.width, odd.height]);
    expect(similarity(oddGrid, odd)).toBeGreaterThan(0.95);
  });

  it('a lossless grid, filled a cell at a time, gives back every pixel and alpha value where it was', async () => {
    const photo = await wasmCodecs.decode('jpeg', fixtures.photoJpeg); // 480×316: cells of 128 leave 96 and 60
    const encoder = avifEncoderOn(avifEncoderWasm, { bandPixels: 128 * 6 });
    // Transparency only in the last row of cells: opaque cells share the alpha item with the rest.
    const transparent = withTransparentBottom(photo, 40);
    const odd = { data: transparent.data.subarray(0, photo.width * 315 * 4), width: photo.width, height: 315 };
    for (const image of [photo, transparent, odd]) {
      const settings = { ...avifSettings(image.width, image.height, { quality: 100, lossless: true }), cellSize: 128 };
      const avif = encoder.encode(image, settings);
      expect(hasGridItem(avif)).toBe(true);
      const decoded = await wasmCodecs.decode('avif', avif);
      expect([decoded.width, decoded.height]).toEqual([image.width, image.height]);
      expect(Uint8Array.from(decoded.data)).toEqual(Uint8Array.from(image.data));
    }
  });

  it('writes the same file in bands of two rows as from the whole image at once', async () => {
    const photo = await wasmCodecs.decode('jpeg', fixtures.photoJpeg);
    const odd = { data: photo.data.subarray(0, photo.width * 301 * 4), width: photo.width, height: 301 };
    for (const image of [photo, odd, withTransparentBottom(photo, 7)]) {
      for (const settings of [
        { quality: 50, lossless: false },
        { quality: 100, lossless: true },
      ]) {
        const full = avifSettings(image.width, image.height, settings);
        const banded = avifEncoderOn(avifEncoderWasm, { bandPixels: image.width * 2 }).encode(image, full);
        const whole = avifEncoderOn(avifEncoderWasm, { bandPixels: WHOLE_IMAGE }).encode(image, full);
        expect(banded).toEqual(whole);
      }
    }
  });

  it('keeps alpha that first appears in a later band', async () => {
    const photo = await wasmCodecs.decode('jpeg', fixtures.photoJpeg);
    const encoder = avifEncoderOn(avifEncoderWasm, { bandPixels: photo.width * 2 });
    const image = withTransparentBottom(photo, 7);
    const decoded = await wasmCodecs.decode(
      'avif',
      encoder.encode(image, avifSettings(photo.width, photo.height, { quality: 90, lossless: false })),
    );
    const alphaAt = (row: number) => decoded.data[(row * decoded.width + 10) * 4 + 3]!;
    expect(alphaAt(photo.height - 1)).toBeGreaterThan(115);
    expect(alphaAt(photo.height - 1)).toBeLessThan(140);
    expect(alphaAt(0)).toBe(255);
  });

  it('lossless keeps every RGB value', async () => {
    const image = await wasmCodecs.decode('png', fixtures.goldfishPng);
    const opaque = Uint8Array.from(image.data);
    for (let i = 3; i < opaque.length; i += 4) opaque[i] = 255;
    const avif = await wasmCodecs.encode('avif', { ...image, data: opaque }, { quality: 100, lossless: true });
    const decoded = await wasmCodecs.decode('avif', avif);
    expect(Uint8Array.from(decoded.data)).toEqual(opaque);
  });

  it('format=auto with Accept: image/avif answers AVIF for a photo', async () => {
    const response = await api('/v1/compress', {
      method: 'POST',
      headers: { ...AUTH, Accept: 'image/avif,image/webp,image/*,*/*;q=0.8' },
      body: multipart(fixtures.birdJpeg, { format: 'auto' }, 'photo.jpg'),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/avif');
    const decoded = await wasmCodecs.decode('avif', new Uint8Array(await response.arrayBuffer()));
    const source = await wasmCodecs.decode('jpeg', fixtures.birdJpeg);
    expect(similarity(decoded, source)).toBeGreaterThan(0.95);
  });
});
