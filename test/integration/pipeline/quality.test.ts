import exifr from 'exifr';
import { describe, expect, it } from 'vitest';
import { createWasmCodecs, wasmCodecs } from '../../../src/codecs/wasm';
import type { RawImage } from '../../../src/codecs/types';
import { type PipelineOptions, compressImage, inspectImage } from '../../../src/pipeline/compress';
import { possibleOutputFormats } from '../../../src/pipeline/admission';
import { readMetadata, writeMetadata } from '../../../src/pipeline/metadata';
import { applyOrientation } from '../../../src/pipeline/orientation';
import { mapToPalette } from '../../../src/pipeline/palette-mapping';
import { paletteBuilder } from '../../../src/pipeline/quantize';
import { wuPalettes } from '../../../src/pipeline/wu';
import { colourShiftAgainst } from '../../../src/pipeline/colour-shift';
import { ssimulacra2, ssimulacra2Against } from '../../../src/pipeline/ssimulacra2';
import { type Mode, PALETTE_COLOUR_SHIFT_LIMITS, PALETTE_STEPS, SMART_TARGETS, palettePng, smartLossy } from '../../../src/pipeline/smart';
import { IMAGE_FORMATS } from '../../../src/pipeline/image-formats';
import { compressOptionsSchema } from '../../../src/schemas/options';
import { acceptedFormats } from '../../../src/http/answer';
import { AUTH, api, fixtures, fromDataUri, pngClaiming, similarity } from '../../helpers';

const orientationFixtures = import.meta.glob('../../fixtures/exif-orientation/*.jpg', {
  query: '?inline',
  import: 'default',
  eager: true,
}) as Record<string, string>;
const orientationFixture = (name: string) => fromDataUri(orientationFixtures[`../../fixtures/exif-orientation/${name}.jpg`]!);

const LIMITS = { maxPixels: 40e6 };
const options = (overrides: Record<string, unknown> = {}): PipelineOptions => compressOptionsSchema.parse(overrides);
const MODES: Mode[] = ['size', 'balanced', 'quality'];

describe('smart quality', () => {
  for (const format of ['jpeg', 'webp', 'avif'] as const) {
    it(`${format}: each mode meets its target, and stricter modes cost more bytes`, async () => {
      const source = await wasmCodecs.decode('jpeg', fixtures.photoJpeg);
      const sizes: number[] = [];
      for (const mode of MODES) {
        const result = await compressImage(fixtures.photoJpeg, options({ format, mode }), wasmCodecs, LIMITS);
        sizes.push(result.bytes.byteLength);
        if (!result.compressed) {
          // Reaching the target would have cost more than the (high-quality) input: it comes back as it was.
          expect(result.bytes).toBe(fixtures.photoJpeg);
          expect(result.output.targetMet).toBe(true);
          continue;
        }
        const { score, quality, targetMet } = result.output;
        // Met means scored at least the target; a miss happens only at the top of the range.
        if (targetMet) expect(score, `${mode}: q${quality}`).toBeGreaterThanOrEqual(SMART_TARGETS[mode]);
        else expect(quality, `${mode}: missed at q${quality}, scored ${score}`).toBe(IMAGE_FORMATS[format].smartSearch!.qualities[1]);
        // Measured again, independently, on the whole decoded output.
        expect(ssimulacra2(source, await wasmCodecs.decode(format, result.bytes))).toBeCloseTo(score!, 6);
      }
      expect(sizes[0]).toBeLessThanOrEqual(sizes[1]!);
      expect(sizes[1]).toBeLessThanOrEqual(sizes[2]!);
    });
  }

  it('reports quality, score and whether the target was met, in the JSON answer and in headers', async () => {
    const form = new FormData();
    form.append('file', new File([fixtures.photoJpeg], 'a.jpg'));
    form.append('format', 'webp');
    const response = await api('/v1/compress', { method: 'POST', headers: { ...AUTH, Accept: 'application/json' }, body: form });
    const body = (await response.json()) as { output: { quality: number; score: { metric: string; value: number }; target_met: boolean } };
    expect(body.output.score.metric).toBe('ssimulacra2');
    expect(body.output.target_met).toBe(true);
    expect(body.output.score.value).toBeGreaterThanOrEqual(SMART_TARGETS.balanced);
    const binary = await api('/v1/compress?format=webp', {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'image/jpeg' },
      body: fixtures.photoJpeg,
    });
    expect(binary.headers.get('X-Quality')).toBe(String(body.output.quality));
    expect(binary.headers.get('X-Score')).toBe(`ssimulacra2=${body.output.score.value.toFixed(2)}`);
    expect(binary.headers.get('X-Target-Met')).toBe('true');
    // An explicit quality has no target to meet.
    const explicit = await api('/v1/compress?format=webp&quality=70', {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'image/jpeg' },
      body: fixtures.photoJpeg,
    });
    expect(explicit.headers.get('X-Target-Met')).toBeNull();
  });

  it('a target the encoder cannot reach ends at quality 100, marked as missed', async () => {
    const image = await wasmCodecs.decode('jpeg', fixtures.photoJpeg);
    // SSIMULACRA 2 is 100 only for identical images, which lossy JPEG never gives back.
    const result = await smartLossy(wasmCodecs, 'jpeg', image, 'quality', 100);
    expect(result.quality).toBe(100);
    expect(result.targetMet).toBe(false);
    expect(result.score).toBeLessThan(100);
    expect(ssimulacra2(image, await wasmCodecs.decode('jpeg', result.bytes))).toBeCloseTo(result.score!, 6);
  });

  it('gives fine texture a lower quality than a smooth gradient in the same mode', async () => {
    // SSIM had this backwards: it graded fine texture as damage and let a smooth gradient band.
    for (const format of ['jpeg', 'webp'] as const) {
      const textured = await compressImage(fixtures.patternJpeg, options({ format }), wasmCodecs, LIMITS);
      const smooth = await compressImage(fixtures.birdJpeg, options({ format }), wasmCodecs, LIMITS);
      expect(textured.output.quality!, format).toBeLessThan(smooth.output.quality!);
    }
  });

  describe('a smooth gradient does not band, in any mode', () => {
    // A dark, slow gradient (a wallpaper's sky): 40 levels over 512 pixels, where banding shows first.
    const gradient: RawImage = { data: new Uint8Array(512 * 256 * 4), width: 512, height: 256 };
    for (let y = 0; y < 256; y++) {
      for (let x = 0; x < 512; x++)
        gradient.data.set([20 + (x * 40) / 511 + y / 64, 28 + (x * 40) / 511, 60 + (x * 50) / 511, 255].map(Math.round), (y * 512 + x) * 4);
    }
    /**
     * The largest gap, in 8-bit levels, between the source's and the output's channels averaged
     * down each column: bands are steps in it. On this gradient JPEG at q40–q70 reads 2.3–3.9
     * and AVIF at q20–q40 2.9–4.8, with bands plain at 1:1; JPEG at q80–q90 1.2–1.8.
     */
    const banding = (output: RawImage) => {
      let worst = 0;
      for (let x = 0; x < gradient.width; x++) {
        for (let c = 0; c < 3; c++) {
          let difference = 0;
          for (let y = 0; y < gradient.height; y++)
            difference += output.data[(y * gradient.width + x) * 4 + c]! - gradient.data[(y * gradient.width + x) * 4 + c]!;
          worst = Math.max(worst, Math.abs(difference / gradient.height));
        }
      }
      return worst;
    };
    for (const format of ['jpeg', 'webp', 'avif', 'png'] as const) {
      it(format, async () => {
        const input = await wasmCodecs.encode('png', gradient, { quality: 100, lossless: true });
        for (const mode of MODES) {
          const result = await compressImage(input, options({ format, mode }), wasmCodecs, LIMITS);
          const output = await wasmCodecs.decode(format, result.bytes);
          // A miss may only mean the top quality was not enough, never a banded result.
          if (!result.output.targetMet) expect(result.output.quality, mode).toBe(100);
          expect(banding(output), `${mode}: ${result.output.quality ?? result.output.colors}`).toBeLessThanOrEqual(2);
        }
      });
    }
  });
});

describe('trial decodes in place', () => {
  it('decodeBriefly sees the pixels decode returns, and the decoder stays sound for the next decodes', async () => {
    const source = await wasmCodecs.decode('jpeg', fixtures.photoJpeg);
    for (const format of ['jpeg', 'webp', 'avif'] as const) {
      const codecs = createWasmCodecs();
      const encoded = [80, 40].map(async (quality) => codecs.encode(format, source, { quality, lossless: false }));
      const [high, low] = await Promise.all(encoded);
      for (let round = 0; round < 3; round++) {
        for (const bytes of [high!, low!]) {
          const copy = await wasmCodecs.decode(format, bytes);
          const seen = await codecs.decodeBriefly(format, bytes, (image) => ({
            width: image.width,
            height: image.height,
            data: Uint8Array.from(image.data),
          }));
          expect(seen).toEqual({ width: copy.width, height: copy.height, data: Uint8Array.from(copy.data) });
        }
      }
    }
  });

  it("an error thrown by the caller's function is the caller's, not a decode error", async () => {
    const codecs = createWasmCodecs();
    const bytes = await codecs.encode('jpeg', await wasmCodecs.decode('jpeg', fixtures.photoJpeg), { quality: 60, lossless: false });
    const mine = new RangeError('from the scorer');
    await expect(
      codecs.decodeBriefly('jpeg', bytes, () => {
        throw mine;
      }),
    ).rejects.toBe(mine);
    expect(await codecs.decodeBriefly('jpeg', bytes, (image) => image.width)).toBe(480);
  });
});

describe('the colour shift', () => {
  const patch = (colour: (x: number, y: number) => number[]): RawImage => {
    const image: RawImage = { data: new Uint8Array(64 * 64 * 4), width: 64, height: 64 };
    for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) image.data.set(colour(x, y), (y * 64 + x) * 4);
    return image;
  };

  it('sees a hue shift that SSIMULACRA 2 lets through on a flat area, and not dithering noise', () => {
    const orange = patch(() => [230, 140, 40, 255]);
    // Pinker, at nearly the same luma.
    const pink = patch(() => [238, 136, 120, 255]);
    // Black and white in a checkerboard, the same mean as the grey between them in linear light.
    const grey = patch(() => [188, 188, 188, 255]);
    const checkerboard = patch((x, y) => ((x + y) % 2 ? [255, 255, 255, 255] : [0, 0, 0, 255]));
    expect(colourShiftAgainst(orange)(orange)).toBe(0);
    // Flat areas have no structure to compare: SSIMULACRA 2 rates this pink as well above `balanced`.
    expect(ssimulacra2(orange, pink)).toBeGreaterThan(SMART_TARGETS.balanced);
    expect(colourShiftAgainst(orange)(pink)).toBeGreaterThan(10);
    expect(colourShiftAgainst(grey)(checkerboard)).toBeLessThan(1);
  });
});

describe('lossy PNG', () => {
  const pngColourType = (png: Uint8Array) => png[25];
  const distinctColours = (image: RawImage) =>
    new Set(new Uint32Array(image.data.buffer, image.data.byteOffset, image.width * image.height)).size;

  it('smart quantises a photo-like PNG to a palette of at most 256 colours that meets the target', async () => {
    const source = await wasmCodecs.decode('png', fixtures.goldfishPng);
    const result = await compressImage(fixtures.goldfishPng, options({ format: 'png' }), wasmCodecs, LIMITS);
    expect(pngColourType(result.bytes)).toBe(3); // indexed
    const decoded = await wasmCodecs.decode('png', result.bytes);
    expect(distinctColours(decoded)).toBeLessThanOrEqual(256);
    expect(result.output.colors).toBeLessThanOrEqual(256);
    expect(ssimulacra2(source, decoded)).toBeGreaterThanOrEqual(SMART_TARGETS.balanced);
    expect(result.output.targetMet).toBe(true);
    expect(colourShiftAgainst(source)(decoded)).toBeLessThanOrEqual(PALETTE_COLOUR_SHIFT_LIMITS.balanced);
    expect(result.bytes.byteLength).toBeLessThan(fixtures.goldfishPng.byteLength * 0.6);
  });

  it('keeps alpha correct', async () => {
    // The artwork with an alpha ramp across it and a fully transparent band at the top.
    const source = await wasmCodecs.decode('png', fixtures.goldfishPng);
    for (let y = 0; y < source.height; y++) {
      for (let x = 0; x < source.width; x++)
        source.data[(y * source.width + x) * 4 + 3] = y < 20 ? 0 : Math.round((255 * x) / (source.width - 1));
    }
    const input = await wasmCodecs.encode('png', source, { quality: 100, lossless: true });
    const result = await compressImage(input, options({ format: 'png', quality: 50 }), wasmCodecs, LIMITS);
    expect(result.compressed).toBe(true);
    const decoded = await wasmCodecs.decode('png', result.bytes);
    expect(distinctColours(decoded)).toBeLessThanOrEqual(128);
    let error = 0;
    for (let i = 3; i < source.data.length; i += 4) {
      error += Math.abs(source.data[i]! - decoded.data[i]!);
      if (source.data[i] === 0) expect(decoded.data[i]).toBe(0); // transparent stays transparent
    }
    // Dithering spreads alpha error over neighbours; on average it stays small.
    expect(error / (source.width * source.height)).toBeLessThan(4);
  });

  it('quality=100 and lossless=true stay lossless', async () => {
    const source = await wasmCodecs.decode('png', fixtures.goldfishPng);
    for (const overrides of [{ quality: 100 }, { lossless: true }]) {
      const result = await compressImage(fixtures.goldfishPng, options({ format: 'png', ...overrides }), wasmCodecs, LIMITS);
      expect(await wasmCodecs.decode('png', result.bytes)).toEqual(source);
    }
  });

  it('a PNG that already fits a palette is kept exact', async () => {
    const flat: RawImage = { data: new Uint8Array(64 * 64 * 4), width: 64, height: 64 };
    for (let i = 0; i < flat.data.length; i += 4) flat.data.set([(i / 4) % 3 === 0 ? 255 : 0, 40, 200, 255], i);
    const png = await wasmCodecs.encode('png', flat, { quality: 100, lossless: true });
    const result = await compressImage(png, options({ format: 'png', mode: 'size' }), wasmCodecs, LIMITS);
    expect(await wasmCodecs.decode('png', result.bytes)).toEqual(await wasmCodecs.decode('png', png));
  });

  it('a 256-colour palette of artwork scores as high quality', async () => {
    // Measured on this fixture: 86.2 (SSIMULACRA 2); 81.9 before the palette's sample of
    // every row, its completed entries and the channel weights that count blue.
    const source = await wasmCodecs.decode('png', fixtures.goldfishPng);
    const indexed = mapToPalette(source, paletteBuilder(source)(256));
    expect(ssimulacra2Against(source)(indexed)).toBeGreaterThan(85.5);
  });

  describe('a smooth many-hued gradient with a one-pixel line across it', () => {
    // Blue to purple to red, like wallpaper artwork, 1 MP so the palette is chosen on a sample.
    const width = 1200;
    const height = 800;
    const line = [40, 60, 230, 255];
    const gradient: RawImage = { data: new Uint8Array(width * height * 4), width, height };
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const u = x / (width - 1);
        const v = y / (height - 1);
        const colour = [30 + 150 * u * v + 30 * v, 20 + 60 * (1 - u) * v, 110 + 110 * (1 - v) + 20 * u, 255];
        // An odd row: a sample of every second row and column would miss it.
        gradient.data.set(y === height - 3 ? line : colour.map(Math.round), (y * width + x) * 4);
      }
    }
    const palette = paletteBuilder(gradient)(256);

    it("scores at least libimagequant's 256 colours", () => {
      // sharp's palette: true (libimagequant) scores 86.8 on this image; our palette before
      // the sample of every row and the completed entries scored 75.0.
      expect(ssimulacra2Against(gradient)(mapToPalette(gradient, palette))).toBeGreaterThan(86.8);
    });

    it('keeps the line in the palette', () => {
      const distances = Array.from({ length: palette.length / 4 }, (_, e) =>
        Math.max(...line.map((channel, c) => Math.abs(channel - palette[e * 4 + c]!))),
      );
      expect(Math.min(...distances)).toBeLessThanOrEqual(2);
    });
  });

  it("Wu's palette has every colour asked for on a smooth gradient", () => {
    // Red and green each span 128 levels: 16 × 16 cells of a 5-bit histogram, 8 × 8 of the
    // 4-bit one we used before, which could never give more than 64 colours here.
    const gradient: RawImage = { data: new Uint8Array(256 * 256 * 4), width: 256, height: 256 };
    for (let y = 0; y < 256; y++)
      for (let x = 0; x < 256; x++) gradient.data.set([64 + (x >> 1), 64 + (y >> 1), 100, 255], (y * 256 + x) * 4);
    const palettes = wuPalettes(gradient, 256);
    expect(palettes(256).length / 4).toBe(256);
    for (const colors of [1, 2, 17, 100]) expect(palettes(colors).length / 4).toBe(colors);
    // One colour is the mean of them all.
    expect([...palettes(1)]).toEqual([128, 128, 100, 255]);
  });

  it('completes a palette Wu leaves short, for artwork whose colours crowd into a few cells', () => {
    // 400 colours, all within 2 × 2 × 4 cells of Wu's histogram; colour i covers 400 − i pixels.
    const colours = Array.from({ length: 400 }, (_, i) => [100 + (i % 8), 100 + ((i >> 3) % 8), 100 + 3 * (i >> 6), 255]);
    const pixels = colours.flatMap((colour, i) => Array<number[]>(400 - i).fill(colour));
    const artwork: RawImage = { data: new Uint8Array(pixels.flat()), width: pixels.length / 10, height: 10 };
    expect(wuPalettes(artwork, 256)(256).length / 4).toBeLessThanOrEqual(16);
    const palette = paletteBuilder(artwork)(256);
    expect(palette.length / 4).toBe(256);
    // Wu's 16 entries alone score 97.2, 128 entries 98.5.
    expect(ssimulacra2Against(artwork)(mapToPalette(artwork, palette))).toBeGreaterThan(98.8);
  });

  it("Wu's palette finds well-separated colours exactly, alpha levels included", () => {
    const colours = [
      [255, 0, 0, 255],
      [0, 255, 0, 255],
      [0, 0, 255, 255],
      [0, 0, 255, 96],
      [0, 0, 255, 160],
      [250, 250, 250, 40],
    ];
    const image: RawImage = { data: new Uint8Array(60 * 4), width: 60, height: 1 };
    for (let i = 0; i < 60; i++) image.data.set(colours[i % colours.length]!, i * 4);
    const palette = wuPalettes(image, colours.length, { colourBits: 5, alphaBits: 3 })(colours.length);
    const entries = Array.from({ length: palette.length / 4 }, (_, e) => [...palette.subarray(e * 4, e * 4 + 4)]);
    expect(entries.sort()).toEqual([...colours].sort());
  });

  it('target_size picks the most colours that fit', async () => {
    // 20 kB falls between this fixture's 64- and 96-colour files (19 and 21 kB).
    const result = await compressImage(fixtures.goldfishPng, options({ format: 'png', target_size: 20_000 }), wasmCodecs, LIMITS);
    expect(result.bytes.byteLength).toBeLessThanOrEqual(20_000);
    expect(result.output.targetMet).toBe(true);
    expect(result.output.colors).toBeLessThan(256);
    const source = await wasmCodecs.decode('png', fixtures.goldfishPng);
    const moreColours = PALETTE_STEPS[PALETTE_STEPS.indexOf(result.output.colors!) - 1]!;
    expect((await palettePng(wasmCodecs, source, moreColours)).bytes.byteLength).toBeGreaterThan(20_000);
  });

  it('target_size below any palette answers with the fewest colours, saying it does not fit', async () => {
    const result = await compressImage(fixtures.goldfishPng, options({ format: 'png', target_size: 100 }), wasmCodecs, LIMITS);
    expect(result.output.targetMet).toBe(false);
    expect(result.output.colors).toBe(PALETTE_STEPS.at(-1));
  });
});

describe('EXIF orientation', () => {
  for (const kind of ['Landscape', 'Portrait']) {
    it(`${kind}: all eight orientations come out upright, like orientation 1`, async () => {
      const lossless = options({ format: 'png', lossless: true });
      const upright = await compressImage(orientationFixture(`${kind}_1`), lossless, wasmCodecs, LIMITS);
      const reference = await wasmCodecs.decode('png', upright.bytes);
      expect(reference.width > reference.height).toBe(kind === 'Landscape');
      for (let orientation = 0; orientation <= 8; orientation++) {
        const result = await compressImage(orientationFixture(`${kind}_${orientation}`), lossless, wasmCodecs, LIMITS);
        const decoded = await wasmCodecs.decode('png', result.bytes);
        expect([decoded.width, decoded.height], `orientation ${orientation}`).toEqual([reference.width, reference.height]);
        expect([result.input.width, result.input.height]).toEqual([reference.width, reference.height]);
        expect(similarity(reference, decoded), `orientation ${orientation}`).toBeGreaterThan(0.9);
      }
    });
  }

  it('the transforms are the eight of EXIF (checked on a 2×3 image)', () => {
    const image = (): RawImage => ({ data: new Uint8Array(Uint32Array.from([1, 2, 3, 4, 5, 6]).buffer), width: 2, height: 3 });
    const pixels = (n: number) => Array.from(new Uint32Array(applyOrientation(image(), n).data.buffer));
    // 1 2      orientation 6 (turn clockwise): 5 3 1 / 6 4 2
    // 3 4
    // 5 6
    expect(pixels(2)).toEqual([2, 1, 4, 3, 6, 5]);
    expect(pixels(3)).toEqual([6, 5, 4, 3, 2, 1]);
    expect(pixels(4)).toEqual([5, 6, 3, 4, 1, 2]);
    expect(pixels(5)).toEqual([1, 3, 5, 2, 4, 6]);
    expect(pixels(6)).toEqual([5, 3, 1, 6, 4, 2]);
    expect(pixels(7)).toEqual([6, 4, 2, 5, 3, 1]);
    expect(pixels(8)).toEqual([2, 4, 6, 1, 3, 5]);
  });

  it('strip_metadata=false keeps EXIF, with the orientation reset to 1', async () => {
    const input = orientationFixture('Landscape_6');
    expect(await exifr.orientation(input)).toBe(6);
    const kept = await compressImage(input, options({ strip_metadata: false, quality: 20 }), wasmCodecs, LIMITS);
    expect(kept.compressed).toBe(true);
    expect(await exifr.orientation(kept.bytes)).toBe(1);
    expect([kept.output.width, kept.output.height]).toEqual([96, 64]);
    const stripped = await compressImage(input, options({ quality: 20 }), wasmCodecs, LIMITS);
    expect((await readMetadata('jpeg', stripped.bytes)).exif).toBeUndefined();
  });
});

describe('ICC profiles', () => {
  /** A stand-in profile: the bytes only have to travel intact. Large enough to need three JPEG segments. */
  const icc = Uint8Array.from({ length: 150_000 }, (_, i) => (i * 7 + (i >> 8)) & 255);
  icc.set(new TextEncoder().encode('acsp'), 36);

  for (const format of ['jpeg', 'png', 'webp'] as const) {
    it(`survives into ${format}, even with strip_metadata=true; keep_icc=false drops it`, async () => {
      const input = await writeMetadata('jpeg', fixtures.photoJpeg, { icc });
      expect((await readMetadata('jpeg', input)).icc).toEqual(icc);
      const kept = await compressImage(input, options({ format }), wasmCodecs, LIMITS);
      expect((await readMetadata(format, kept.bytes)).icc).toEqual(icc);
      await wasmCodecs.decode(format, kept.bytes); // still a valid file
      const dropped = await compressImage(input, options({ format, keep_icc: false }), wasmCodecs, LIMITS);
      expect((await readMetadata(format, dropped.bytes)).icc).toBeUndefined();
    });
  }

  it('travels from PNG and WebP inputs too, and through lossless and alpha WebP', async () => {
    const png = await writeMetadata('png', fixtures.alphaPng, { icc });
    for (const overrides of [{ format: 'webp', lossless: true }, { format: 'webp', quality: 80 }, { format: 'png' }]) {
      const result = await compressImage(png, options(overrides), wasmCodecs, LIMITS);
      expect((await readMetadata(result.output.format, result.bytes)).icc).toEqual(icc);
      const decoded = await wasmCodecs.decode(result.output.format, result.bytes);
      expect([decoded.width, decoded.height]).toEqual([32, 32]);
    }
  });
});

describe('format=auto negotiates with Accept', () => {
  const post = (accept?: string, body = fixtures.photoJpeg) =>
    api('/v1/compress', {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'image/jpeg', ...(accept ? { Accept: accept } : {}) },
      body,
    });

  it('reads which modern formats an Accept header admits', () => {
    expect(acceptedFormats('image/avif,image/webp,image/apng,image/*,*/*;q=0.8')).toEqual(['avif', 'webp']);
    expect(acceptedFormats('image/webp;q=0, image/avif')).toEqual(['avif']);
    expect(acceptedFormats('*/*')).toEqual([]);
    expect(acceptedFormats(undefined)).toEqual([]);
  });

  it('without image/avif or image/webp in Accept, the input format stays', async () => {
    const response = await post('image/jpeg,*/*');
    expect(response.headers.get('X-Format')).toBe('jpeg');
    expect(response.headers.get('Vary')).toBe('Accept');
  });

  it('with them, the smallest of the candidates wins', async () => {
    const response = await post('image/avif,image/webp,*/*');
    const chosen = response.headers.get('X-Format')!;
    const size = Number(response.headers.get('X-Compressed-Size'));
    expect(response.headers.get('Vary')).toBe('Accept');
    for (const format of ['jpeg', 'webp', 'avif']) {
      const explicit = await compressImage(fixtures.photoJpeg, options({ format }), wasmCodecs, LIMITS);
      expect(size, `${chosen} against ${format}`).toBeLessThanOrEqual(explicit.bytes.byteLength);
    }
    // JPEG is a candidate too, and on this photo it can be the smallest.
    expect(['jpeg', 'webp', 'avif']).toContain(chosen);
  });

  it('picks AVIF for a natural photo when Accept lists it', async () => {
    // A crop of a natural photograph: AVIF meets the target in about 11% fewer bytes than JPEG.
    const response = await post('image/avif,image/webp,*/*', fixtures.patternJpeg);
    expect(response.status).toBe(200);
    expect(response.headers.get('X-Format')).toBe('avif');
  });

  it('an enlargement is held to 8 MP whatever the format, AVIF included', async () => {
    const png = pngClaiming(480, 316);
    const withWidth = (width: number): PipelineOptions => ({ ...options({ format: 'auto', width }), accept: ['avif', 'webp'] });
    // 3400 wide is 7.6 MP: every format stays a candidate.
    expect(possibleOutputFormats(await inspectImage(png, withWidth(3400), LIMITS), withWidth(3400))).toEqual(['png', 'avif', 'webp']);
    // 3600 wide is 8.5 MP: none does.
    await expect(inspectImage(png, withWidth(3600), LIMITS)).rejects.toMatchObject({
      code: 'image_too_large',
      message: expect.stringMatching(/the limit is 8\.0 MP for an enlarged png output/),
    });
  });

  it('AVIF is not chosen when it would drop an ICC profile', async () => {
    const icc = Uint8Array.from({ length: 4000 }, (_, i) => i & 255);
    const input = await writeMetadata('jpeg', fixtures.photoJpeg, { icc });
    const result = await compressImage(input, { ...options(), accept: ['avif'] }, wasmCodecs, LIMITS);
    expect(result.output.format).toBe('jpeg');
  });
});
