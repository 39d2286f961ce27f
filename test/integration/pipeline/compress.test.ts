import { describe, expect, it } from 'vitest';
import { MEMORY_THRESHOLDS, createWasmCodecs, jpegStripRows, wasmCodecs } from '../../../src/codecs/wasm';
import type { IndexedImage, RawImage } from '../../../src/codecs/types';
import { ApiError } from '../../../src/errors';
import { type Inspection, type PipelineOptions, compressImage, inspectImage } from '../../../src/pipeline/compress';
import {
  HEAVY_PAIR_MARGIN_MIB,
  MEMORY_BUDGET_MIB,
  maxInputPixelsWithinBudget,
  maxPixelsWithinBudget,
  pixelLimit,
  possibleOutputFormats,
  predictedInputPeakMiB,
  predictedPeakMiB,
  reservedProfile,
} from '../../../src/pipeline/admission';
import { MemoryGate } from '../../../src/limits/isolate-memory';
import { reservationMiB } from '../../../src/compression';
import { avifHasAlphaPlane, detectFormat, isLosslessWebp, isLossyWebpWithAlpha } from '../../../src/pipeline/detect';
import { planResize } from '../../../src/pipeline/geometry';
import { resizeInStrips } from '../../../src/pipeline/resize';
import { type ImageFormat, compressOptionsSchema } from '../../../src/schemas/options';
import { fixtures, pngClaiming, similarity } from '../../helpers';

const LIMITS = { maxPixels: 16_000_000 };
const options = (overrides: Record<string, unknown> = {}): PipelineOptions => compressOptionsSchema.parse(overrides);

const inputs: Record<ImageFormat, () => Promise<Uint8Array>> = {
  jpeg: async () => fixtures.photoJpeg,
  png: async () => fixtures.goldfishPng,
  // No WebP in the corpus: made from the PNG fixture, losslessly, by our own encoder.
  webp: async () => wasmCodecs.encode('webp', await wasmCodecs.decode('png', fixtures.goldfishPng), { quality: 100, lossless: true }),
  avif: async () => fixtures.kimonoAvif,
};

/** RGB SSIM floors for each output at the default quality (smart, balanced; PNG is a dithered palette). */
const MIN_SIMILARITY: Record<ImageFormat, number> = { jpeg: 0.95, webp: 0.95, avif: 0.95, png: 0.9 };

describe('every input format to every output format', () => {
  for (const inputFormat of Object.keys(inputs) as ImageFormat[]) {
    for (const outputFormat of Object.keys(inputs) as ImageFormat[]) {
      it(`${inputFormat} → ${outputFormat}`, async () => {
        const bytes = await inputs[inputFormat]();
        const source = await wasmCodecs.decode(inputFormat, bytes);
        const result = await compressImage(bytes, options({ format: outputFormat }), wasmCodecs, LIMITS);

        expect(result.output.format).toBe(outputFormat);
        expect(detectFormat(result.bytes)).toEqual({ kind: 'supported', format: outputFormat });
        const decoded = await wasmCodecs.decode(outputFormat, result.bytes);
        expect([decoded.width, decoded.height]).toEqual([source.width, source.height]);
        expect([result.output.width, result.output.height]).toEqual([source.width, source.height]);
        expect(similarity(source, decoded)).toBeGreaterThanOrEqual(MIN_SIMILARITY[outputFormat]);
      });
    }
  }
});

describe('quality and losslessness', () => {
  it('a lower quality gives fewer bytes and lower similarity', async () => {
    const source = await wasmCodecs.decode('jpeg', fixtures.photoJpeg);
    const high = await compressImage(fixtures.photoJpeg, options({ format: 'webp', quality: 90 }), wasmCodecs, LIMITS);
    const low = await compressImage(fixtures.photoJpeg, options({ format: 'webp', quality: 10 }), wasmCodecs, LIMITS);
    expect(low.bytes.byteLength).toBeLessThan(high.bytes.byteLength);
    expect(similarity(source, await wasmCodecs.decode('webp', low.bytes))).toBeLessThan(
      similarity(source, await wasmCodecs.decode('webp', high.bytes)),
    );
    expect(high.output.quality).toBe(90);
  });

  it('lossless WebP reproduces every pixel', async () => {
    const source = await wasmCodecs.decode('png', fixtures.cityPng);
    const result = await compressImage(fixtures.cityPng, options({ format: 'webp', lossless: true }), wasmCodecs, LIMITS);
    expect(await wasmCodecs.decode('webp', result.bytes)).toEqual(source);
  });

  it('lossless AVIF is near-exact', async () => {
    const source = await wasmCodecs.decode('png', fixtures.alphaPng);
    const result = await compressImage(fixtures.alphaPng, options({ format: 'avif', lossless: true }), wasmCodecs, LIMITS);
    expect(similarity(source, await wasmCodecs.decode('avif', result.bytes))).toBeGreaterThan(0.99);
  });

  it('lossless is refused for JPEG output', async () => {
    await expect(compressImage(fixtures.photoJpeg, options({ lossless: true }), wasmCodecs, LIMITS)).rejects.toMatchObject({
      code: 'invalid_param',
      param: 'lossless',
    });
  });
});

describe('alpha', () => {
  const alphaOf = (image: RawImage) => image.data.filter((_, i) => i % 4 === 3);

  for (const format of ['png', 'webp', 'avif'] as const) {
    it(`${format} keeps transparency`, async () => {
      const source = await wasmCodecs.decode('png', fixtures.alphaPng);
      const result = await compressImage(fixtures.alphaPng, options({ format, quality: 90 }), wasmCodecs, LIMITS);
      const decoded = await wasmCodecs.decode(format, result.bytes);
      const expected = alphaOf(source);
      const actual = alphaOf(decoded);
      const worst = Math.max(...actual.map((a, i) => Math.abs(a - expected[i]!)));
      expect(worst).toBeLessThanOrEqual(format === 'png' ? 0 : 8);
    });
  }

  it('JPEG output flattens transparency onto white', async () => {
    const source = await wasmCodecs.decode('png', fixtures.alphaPng);
    const transparent = alphaOf(source).indexOf(0);
    expect(transparent).toBeGreaterThanOrEqual(0);
    const result = await compressImage(fixtures.alphaPng, options({ format: 'jpeg', quality: 95 }), wasmCodecs, LIMITS);
    const decoded = await wasmCodecs.decode('jpeg', result.bytes);
    const pixel = Array.from(decoded.data.subarray(transparent * 4, transparent * 4 + 3));
    expect(Math.min(...pixel)).toBeGreaterThan(230);
  });
});

describe('resizing', () => {
  const resized = async (overrides: Record<string, unknown>) => {
    const result = await compressImage(fixtures.photoJpeg, options(overrides), wasmCodecs, LIMITS);
    const decoded = await wasmCodecs.decode(result.output.format, result.bytes);
    return [decoded.width, decoded.height];
  };

  it('max_width shrinks and keeps the aspect', async () => expect(await resized({ max_width: 240 })).toEqual([240, 158]));
  it('max_width never enlarges', async () => expect(await resized({ max_width: 4000 })).toEqual([480, 316]));
  it('max_width and max_height fit inside both', async () =>
    expect(await resized({ max_width: 300, max_height: 100 })).toEqual([152, 100]));
  it('width alone keeps the aspect', async () => expect(await resized({ width: 100 })).toEqual([100, 66]));
  it('height alone keeps the aspect', async () => expect(await resized({ height: 100 })).toEqual([152, 100]));
  it('cover crops to the exact size', async () => expect(await resized({ width: 100, height: 100, fit: 'cover' })).toEqual([100, 100]));
  it('contain fits inside the box', async () => expect(await resized({ width: 100, height: 100, fit: 'contain' })).toEqual([100, 66]));
  it('fill stretches to the exact size', async () => expect(await resized({ width: 100, height: 300, fit: 'fill' })).toEqual([100, 300]));

  it('cover keeps the centre of the picture', async () => {
    const source = await wasmCodecs.decode('jpeg', fixtures.photoJpeg);
    const result = await compressImage(fixtures.photoJpeg, options({ width: 316, height: 316, format: 'png' }), wasmCodecs, LIMITS);
    const decoded = await wasmCodecs.decode('png', result.bytes);
    const centre = { data: new Uint8Array(316 * 316 * 4), width: 316, height: 316 };
    for (let y = 0; y < 316; y++) centre.data.set(source.data.subarray((y * 480 + 82) * 4, (y * 480 + 82 + 316) * 4), y * 316 * 4);
    expect(similarity(centre, decoded)).toBeGreaterThan(0.97);
  });

  it('plans nothing when no option changes the size', () => {
    expect(planResize({ width: 10, height: 10 }, { fit: 'cover' })).toBeUndefined();
    expect(planResize({ width: 10, height: 10 }, { max_width: 10, fit: 'cover' })).toBeUndefined();
  });
});

describe('never larger than the input', () => {
  it('returns the input unchanged when re-encoding would grow it', async () => {
    const small = (await compressImage(fixtures.photoJpeg, options({ quality: 5 }), wasmCodecs, LIMITS)).bytes;
    const result = await compressImage(small, options({ quality: 100 }), wasmCodecs, LIMITS);
    expect(result.compressed).toBe(false);
    expect(result.bytes).toBe(small);
    expect(result.output.size).toBe(small.byteLength);
  });

  it('still converts when the format changes, even if bigger', async () => {
    const result = await compressImage(fixtures.photoJpeg, options({ format: 'png' }), wasmCodecs, LIMITS);
    expect(result.compressed).toBe(true);
    expect(result.output.format).toBe('png');
  });
});

describe('target_size', () => {
  it('finds a quality whose output fits', async () => {
    const result = await compressImage(fixtures.photoJpeg, options({ format: 'webp', target_size: 6000 }), wasmCodecs, LIMITS);
    expect(result.bytes.byteLength).toBeLessThanOrEqual(6000);
    expect(result.output.targetMet).toBe(true);
    const oneHigher = await compressImage(
      fixtures.photoJpeg,
      options({ format: 'webp', quality: result.output.quality! + 1 }),
      wasmCodecs,
      LIMITS,
    );
    expect(oneHigher.bytes.byteLength).toBeGreaterThan(6000);
  });

  it('answers with the smallest result when nothing fits', async () => {
    const result = await compressImage(fixtures.photoJpeg, options({ format: 'jpeg', target_size: 50 }), wasmCodecs, LIMITS);
    expect(result.output.targetMet).toBe(false);
    expect(result.output.quality).toBe(1);
  });
});

describe('limits, checked from the header before decoding', () => {
  const refusingCodecs = { ...wasmCodecs, decode: () => Promise.reject(new Error('must not decode')) };

  it('refuses too many input pixels', async () => {
    await expect(compressImage(fixtures.photoJpeg, options(), refusingCodecs, { maxPixels: 480 * 316 - 1 })).rejects.toMatchObject({
      code: 'image_too_large',
    });
  });

  it('a 12 MP phone photo fits every output format, AVIF included (its grid cells bound the encoder); 13 MP none', async () => {
    const twelveMegapixels = pngClaiming(4000, 3000);
    const thirteenMegapixels = pngClaiming(4000, 3250);
    for (const format of ['jpeg', 'webp', 'png', 'avif'] as const) {
      expect(pixelLimit(format, { maxPixels: 40e6 })).toBe(12e6);
      await expect(compressImage(twelveMegapixels, options({ format }), refusingCodecs, { maxPixels: 40e6 })).rejects.toThrow(
        'must not decode',
      );
      // Past the largest size measured, nothing is admitted.
      await expect(compressImage(thirteenMegapixels, options({ format }), refusingCodecs, { maxPixels: 40e6 })).rejects.toMatchObject({
        code: 'image_too_large',
      });
    }
  });

  it('lossless WebP has its own, lower limit (libwebp holds the whole image several times over)', async () => {
    const limit = pixelLimit('webp', { maxPixels: 40e6 }, { lossless: true });
    expect(limit).toBe(maxPixelsWithinBudget('webp-lossless'));
    expect(limit).toBeLessThan(maxPixelsWithinBudget('webp'));
    const justOver = pngClaiming(2000, Math.ceil((limit + 1) / 2000));
    await expect(
      compressImage(justOver, options({ format: 'webp', lossless: true }), refusingCodecs, { maxPixels: 40e6 }),
    ).rejects.toMatchObject({
      code: 'image_too_large',
      message: expect.stringMatching(/lossless webp output/),
    });
    await expect(compressImage(justOver, options({ format: 'webp' }), refusingCodecs, { maxPixels: 40e6 })).rejects.toThrow(
      'must not decode',
    );
  });
  it('refuses an output larger than the limit', async () => {
    await expect(
      compressImage(fixtures.photoJpeg, options({ width: 5000, height: 5000, fit: 'fill' }), refusingCodecs, LIMITS),
    ).rejects.toBeInstanceOf(ApiError);
  });
});

/** Codecs that decode any input to (a copy of) `image` and refuse to encode: a refusal must come first. */
const codecsDecodingTo = (image: RawImage) => ({
  ...wasmCodecs,
  decode: async () => ({ ...image, data: image.data.slice() }),
  encode: async (): Promise<Uint8Array> => {
    throw new Error('must not encode');
  },
});

/** Codecs that decode any input to `image` and record the formats they are asked to encode. */
const codecsRecording = (image: RawImage, tried: ImageFormat[]) => ({
  ...codecsDecodingTo(image),
  encode: async (format: ImageFormat) => (tried.push(format), new Uint8Array(100)),
  encodeIndexedPng: async () => (tried.push('png'), new Uint8Array(100)),
});

/** Opaque pixels with many values in every block: a photo, to libaom's screen-content test. */
const noise = (width: number, height: number) => ({
  width,
  height,
  data: new Uint8Array(width * height * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 2654435761) >>> 24)),
});

describe('flat-colour artwork and memory (libaom codes it with IntraBC unless turned off)', () => {
  /** Bands of three flat colours 8 pixels wide, crossing every 16×16 block: screenshots and line art look like this to libaom. */
  const flatColours = (width: number, height: number, alpha = 255) => {
    const palette = [
      [250, 250, 250],
      [30, 60, 200],
      [200, 40, 40],
    ];
    const data = new Uint8Array(width * height * 4);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const [r, g, b] = palette[((x >> 3) + (y >> 3)) % 3]!;
        data.set([r!, g!, b!, alpha], (y * width + x) * 4);
      }
    }
    return { data, width, height };
  };

  /** Noisy colours (no screen content there) under a mask of hard-edged bands. */
  const hardEdgedAlpha = (width: number, height: number) => {
    const image = noise(width, height);
    for (let i = 3; i < image.data.length; i += 4) image.data[i] = (((i >> 2) % width) >> 3) % 3 === 0 ? 0 : 255;
    return image;
  };

  it('flat-colour artwork gets the AVIF limits of a photo: our build has IntraBC off, whose tables were the cost', async () => {
    const [width, height] = [2000, 1500]; // 3 MP: over every limit the screen-content lines used to set
    const png = pngClaiming(width, height, 2);
    await expect(
      compressImage(png, options({ format: 'avif', quality: 50 }), codecsDecodingTo(flatColours(width, height)), { maxPixels: 40e6 }),
    ).rejects.toThrow('must not encode');
    await expect(
      compressImage(png, options({ format: 'avif', lossless: true }), codecsDecodingTo(flatColours(width, height)), { maxPixels: 40e6 }),
    ).rejects.toThrow('must not encode');
    // Transparent screen content, at the same size: transparency has no limit of its own either.
    await expect(
      compressImage(
        pngClaiming(width, height, 6),
        options({ format: 'avif', quality: 50 }),
        codecsDecodingTo(hardEdgedAlpha(width, height)),
        {
          maxPixels: 40e6,
        },
      ),
    ).rejects.toThrow('must not encode');
  });

  it("the gate reserves a photo's memory for AVIF output", async () => {
    const small = await inspectImage(fixtures.photoJpeg, options({ format: 'avif' }), LIMITS);
    expect(reservedProfile(small, options({ format: 'avif' }), 'avif')).toBe('avif');
    const pixels = small.input.width * small.input.height;
    expect(reservationMiB(small, options({ format: 'avif' }))).toBe(predictedPeakMiB('avif', pixels));
  });
});

describe('transparency and memory (AVIF grid cells bound the alpha encoder as they do the colour one)', () => {
  // 2000×1000 is 2 MP: within AVIF's limit, transparent or not.
  const decodedAs = (alpha: number) => {
    const data = new Uint8Array(2000 * 1000 * 4).fill(200);
    for (let i = 3; i < data.length; i += 4) data[i] = alpha;
    return { data, width: 2000, height: 1000 };
  };

  it('a transparent image gets the limit of an opaque one, and reaches the encoder', async () => {
    for (const colourType of [6, 2] as const) {
      for (const alpha of [128, 255]) {
        await expect(
          compressImage(pngClaiming(2000, 1000, colourType), options({ format: 'avif', quality: 50 }), codecsDecodingTo(decodedAs(alpha)), {
            maxPixels: 40e6,
          }),
        ).rejects.toThrow('must not encode');
      }
    }
  });

  it('format=auto keeps AVIF for a transparent image as for an opaque one', async () => {
    const tried = async (alpha: number) => {
      const encoded: ImageFormat[] = [];
      await compressImage(
        pngClaiming(2000, 1000, 6),
        { ...options({ format: 'auto', quality: 50 }), accept: ['avif', 'webp'] },
        codecsRecording(decodedAs(alpha), encoded),
        { maxPixels: 40e6 },
      );
      return encoded;
    };
    expect(await tried(128)).toEqual(['png', 'avif', 'webp']);
    expect(await tried(255)).toEqual(['png', 'avif', 'webp']);
  });

  it("format=auto gives way to a format that fits when the input's own does not", async () => {
    // 1.5 MP: an alpha-plane AVIF input fits alone (1.57 MP) but not beside an AVIF encoder (1.39 MP with the pair's margin).
    const avif: Inspection = {
      input: { format: 'avif', size: 5000, width: 1500, height: 1000 },
      orientation: 1,
      inputKind: 'avif-alpha',
      outputFormat: 'avif',
      outputSize: { width: 1500, height: 1000 },
    };
    const auto = (accept: ImageFormat[]) => ({ ...options({ format: 'auto' }), accept });
    expect(possibleOutputFormats(avif, auto(['webp']))).toEqual(['webp']);
    expect(possibleOutputFormats(avif, auto([]))).toEqual(['avif']);
    expect(possibleOutputFormats({ ...avif, inputKind: 'avif' }, auto(['webp']))).toEqual(['avif', 'webp']);
  });

  it('reserves the same memory for a PNG whatever its colour type, and lossless WebP its own', async () => {
    const rgba = await inspectImage(pngClaiming(1000, 1000, 6), options({ format: 'avif' }), LIMITS);
    const rgb = await inspectImage(pngClaiming(1000, 1000, 2), options({ format: 'avif' }), LIMITS);
    expect(reservedProfile(rgba, options({ format: 'avif' }), 'avif')).toBe('avif');
    expect(reservationMiB(rgba, options({ format: 'avif' }))).toBe(reservationMiB(rgb, options({ format: 'avif' })));
    expect(reservedProfile(rgba, options({ format: 'webp', lossless: true }), 'webp')).toBe('webp-lossless');
  });

  it("finds an AVIF's alpha plane in its header (its decoder holds a second plane)", () => {
    expect(avifHasAlphaPlane(fixtures.kimonoAvif)).toBe(false);
    expect(avifHasAlphaPlane(fixtures.alphaAvif)).toBe(true);
  });
});

describe('inputs whose decoders hold more memory (AVIF, lossless WebP)', () => {
  const refusingCodecs = { ...wasmCodecs, decode: () => Promise.reject(new Error('must not decode')) };
  /** An AVIF (by default the kimono) with its 'ispe' properties claiming another size (image-size reads it from there). */
  const avifClaiming = (width: number, height: number, avif = fixtures.kimonoAvif) => {
    const bytes = avif.slice();
    const text = new TextDecoder('latin1').decode(bytes);
    for (let at = text.indexOf('ispe'); at >= 0; at = text.indexOf('ispe', at + 1)) {
      new DataView(bytes.buffer).setUint32(at + 8, width);
      new DataView(bytes.buffer).setUint32(at + 12, height);
    }
    return bytes;
  };

  it('tells a lossless WebP from a lossy one by its chunks', async () => {
    const goldfish = await wasmCodecs.decode('png', fixtures.goldfishPng);
    const alpha = await wasmCodecs.decode('png', fixtures.alphaPng);
    expect(isLosslessWebp(await wasmCodecs.encode('webp', goldfish, { quality: 100, lossless: true }))).toBe(true);
    expect(isLosslessWebp(await wasmCodecs.encode('webp', alpha, { quality: 100, lossless: true }))).toBe(true);
    expect(isLosslessWebp(await wasmCodecs.encode('webp', goldfish, { quality: 80, lossless: false }))).toBe(false);
    expect(isLosslessWebp(await wasmCodecs.encode('webp', alpha, { quality: 80, lossless: false }))).toBe(false);
    const lossyAlpha = await wasmCodecs.encode('webp', alpha, { quality: 80, lossless: false });
    expect(isLossyWebpWithAlpha(lossyAlpha)).toBe(true);
    const photo = await wasmCodecs.decode('jpeg', fixtures.photoJpeg);
    expect(isLossyWebpWithAlpha(await wasmCodecs.encode('webp', photo, { quality: 80, lossless: false }))).toBe(false);
    expect((await inspectImage(lossyAlpha, options({ format: 'jpeg' }), LIMITS)).inputKind).toBe('webp-alpha');
    const plan = await inspectImage(
      await wasmCodecs.encode('webp', goldfish, { quality: 100, lossless: true }),
      options({ format: 'jpeg' }),
      LIMITS,
    );
    expect(plan.inputKind).toBe('webp-lossless');
    expect((await inspectImage(fixtures.kimonoAvif, options({ format: 'jpeg' }), LIMITS)).inputKind).toBe('avif');
    expect((await inspectImage(fixtures.photoJpeg, options({ format: 'jpeg' }), LIMITS)).inputKind).toBeUndefined();
  });

  it('refuses an AVIF input over its own limit from the header, whatever the output', async () => {
    const limit = maxInputPixelsWithinBudget('avif');
    expect(limit).toBeLessThan(maxPixelsWithinBudget('jpeg'));
    const over = avifClaiming(2000, Math.ceil((limit + 1) / 2000));
    for (const format of ['jpeg', 'png'] as const) {
      await expect(compressImage(over, options({ format }), refusingCodecs, { maxPixels: 40e6 })).rejects.toMatchObject({
        code: 'image_too_large',
        message: expect.stringMatching(/for an AVIF input/),
      });
    }
    const within = avifClaiming(1000, Math.floor(limit / 1000));
    await expect(compressImage(within, options({ format: 'jpeg' }), refusingCodecs, { maxPixels: 40e6 })).rejects.toThrow(
      'must not decode',
    );
  });

  it('an AVIF input with an alpha plane has its own input limit, lower again beside an AVIF encoder, from the header', async () => {
    // 1.45 MP: within the alpha-plane input's limit (1.57 MP), over it with a heavy pair's margin (1.39 MP).
    const alphaPlane = avifClaiming(1450, 1000, fixtures.alphaAvif);
    expect((await inspectImage(alphaPlane, options({ format: 'jpeg' }), LIMITS)).inputKind).toBe('avif-alpha');
    await expect(compressImage(alphaPlane, options({ format: 'jpeg' }), refusingCodecs, { maxPixels: 40e6 })).rejects.toThrow(
      'must not decode',
    );
    await expect(compressImage(alphaPlane, options({ format: 'avif' }), refusingCodecs, { maxPixels: 40e6 })).rejects.toMatchObject({
      code: 'image_too_large',
      message: expect.stringMatching(/the limit is 1\.3 MP for an AVIF input with an alpha plane/),
    });
    const overInput = avifClaiming(2000, Math.ceil((maxInputPixelsWithinBudget('avif-alpha') + 1) / 2000), fixtures.alphaAvif);
    await expect(compressImage(overInput, options({ format: 'jpeg' }), refusingCodecs, { maxPixels: 40e6 })).rejects.toMatchObject({
      message: expect.stringMatching(/for an AVIF input with an alpha plane/),
    });
  });

  it("AVIF from AVIF is bounded by the input's line with a heavy pair's margin (both libavif heaps are held at once)", async () => {
    const limit = pixelLimit('avif', { maxPixels: 40e6 }, { lossless: false, input: 'avif' });
    expect(limit).toBe(maxInputPixelsWithinBudget('avif', MEMORY_BUDGET_MIB - HEAVY_PAIR_MARGIN_MIB));
    expect(limit).toBeLessThan(maxInputPixelsWithinBudget('avif'));
    const between = Math.floor((limit + maxInputPixelsWithinBudget('avif')) / 2);
    const [width, height] = [1300, Math.floor(between / 1300)];
    await expect(
      compressImage(avifClaiming(width, height), options({ format: 'avif' }), refusingCodecs, { maxPixels: 40e6 }),
    ).rejects.toMatchObject({
      code: 'image_too_large',
      message: expect.stringMatching(/for an AVIF input/),
    });
    await expect(
      compressImage(avifClaiming(width, height), options({ format: 'jpeg' }), refusingCodecs, { maxPixels: 40e6 }),
    ).rejects.toThrow('must not decode');
  });

  it('a heavy decoder and a heavy encoder in one compression keep a margin', async () => {
    /** A lossless WebP whose VP8L header claims another size (image-size reads it from there). */
    const losslessWebpClaiming = async (width: number, height: number) => {
      const goldfish = await wasmCodecs.decode('png', fixtures.goldfishPng);
      const bytes = (await wasmCodecs.encode('webp', goldfish, { quality: 100, lossless: true })).slice();
      const view = new DataView(bytes.buffer);
      expect(String.fromCharCode(...bytes.subarray(12, 16))).toBe('VP8L');
      view.setUint32(21, (view.getUint32(21, true) & 0xf0000000) | (width - 1) | ((height - 1) << 14), true);
      return bytes;
    };
    // 3.0 MP: within a lossless WebP input's limit (4.5) and lossless WebP output's (3.4), not both at once (2.9).
    const both = await losslessWebpClaiming(2000, 1500);
    await expect(
      compressImage(both, options({ format: 'webp', lossless: true }), refusingCodecs, { maxPixels: 40e6 }),
    ).rejects.toMatchObject({ code: 'image_too_large' });
    await expect(compressImage(both, options({ format: 'jpeg' }), refusingCodecs, { maxPixels: 40e6 })).rejects.toThrow('must not decode');
    const small = await inspectImage(await losslessWebpClaiming(1500, 1000), options({ format: 'webp', lossless: true }), LIMITS);
    expect(small.inputKind).toBe('webp-lossless');
    expect(reservationMiB(small, options({ format: 'webp', lossless: true }))).toBe(
      Math.max(predictedPeakMiB('webp-lossless', 1.5e6), predictedInputPeakMiB('webp-lossless', 1.5e6)) + HEAVY_PAIR_MARGIN_MIB,
    );
    const toJpeg = await inspectImage(await losslessWebpClaiming(1500, 1000), options({ format: 'jpeg' }), LIMITS);
    expect(reservationMiB(toJpeg, options({ format: 'jpeg' }))).toBe(
      Math.max(predictedPeakMiB('jpeg', 1.5e6), predictedInputPeakMiB('webp-lossless', 1.5e6)),
    );
  });

  it('the gate reserves what decoding the input takes where that is more than the output needs', async () => {
    const limit = maxInputPixelsWithinBudget('avif');
    const plan = await inspectImage(avifClaiming(1000, Math.floor(limit / 1000)), options({ format: 'jpeg' }), LIMITS);
    const pixels = plan.input.width * plan.input.height;
    expect(reservationMiB(plan, options({ format: 'jpeg' }))).toBe(
      Math.max(predictedPeakMiB('jpeg', pixels), predictedInputPeakMiB('avif', pixels)),
    );
    expect(reservationMiB(plan, options({ format: 'jpeg' }))).toBeGreaterThanOrEqual(predictedInputPeakMiB('avif', pixels));
    const png = await inspectImage(pngClaiming(600, 500, 2), options({ format: 'avif' }), LIMITS);
    expect(reservationMiB(png, options({ format: 'avif' }))).toBe(predictedPeakMiB('avif', 600 * 500));
  });

  it('an enlargement reserves the whole budget (its readings ran over the lines); a reduction its line', async () => {
    const small = pngClaiming(400, 300, 2);
    const enlarged = await inspectImage(small, options({ format: 'avif', width: 1000 }), LIMITS);
    expect(reservationMiB(enlarged, options({ format: 'avif', width: 1000 }))).toBe(MEMORY_BUDGET_MIB);
    const reduced = await inspectImage(small, options({ format: 'avif', width: 200 }), LIMITS);
    expect(reservationMiB(reduced, options({ format: 'avif', width: 200 }))).toBeLessThan(MEMORY_BUDGET_MIB);
  });
});

describe('the isolate memory gate', () => {
  it('runs work side by side within the budget, and queues what would overflow it, in order', async () => {
    const gate = new MemoryGate(100);
    const log: string[] = [];
    const releases: Record<string, () => void> = {};
    const job = (name: string, mib: number) =>
      gate.run(mib, () => {
        log.push(`start ${name}`);
        return new Promise<void>((resolve) => (releases[name] = resolve));
      });
    const a = job('a', 60);
    const b = job('b', 30);
    const c = job('c', 50); // does not fit beside a and b
    const d = job('d', 5); // would fit, but waits behind c: first come, first served
    await Promise.resolve();
    expect(log).toEqual(['start a', 'start b']);
    expect(gate.reservedMiB).toBe(90);
    releases.a!();
    await a;
    await new Promise((r) => setTimeout(r, 0));
    expect(log).toEqual(['start a', 'start b', 'start c', 'start d']);
    releases.b!();
    releases.c!();
    releases.d!();
    await Promise.all([b, c, d]);
    expect(gate.reservedMiB).toBe(0);
  });

  it('releases its reservation when the work fails', async () => {
    const gate = new MemoryGate(100);
    await expect(gate.run(80, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(gate.reservedMiB).toBe(0);
  });
});

describe('the memory-lean codec paths (forced on small images by zero thresholds)', () => {
  const expandPalette = ({ indices, palette, width, height }: IndexedImage): RawImage => {
    const colours = new Uint32Array(palette.buffer, palette.byteOffset, palette.length / 4);
    return { data: new Uint8Array(Uint32Array.from(indices, (index) => colours[index]!).buffer), width, height };
  };
  const lean = createWasmCodecs({ jpegStrips: 0, pngStream: 0, indexedOxipng: 0, leaveInHeap: 0, pngStreamDecode: 0 });
  const whole = createWasmCodecs({
    jpegStrips: Infinity,
    pngStream: Infinity,
    indexedOxipng: Infinity,
    leaveInHeap: Infinity,
    pngStreamDecode: Infinity,
  });

  it('a decoded image left in the decoder heap (or a PNG decoded row by row) equals the copied-out one, byte for byte', async () => {
    expect(await lean.decode('jpeg', fixtures.photoJpeg)).toEqual(await whole.decode('jpeg', fixtures.photoJpeg));
    expect(await lean.decode('png', fixtures.goldfishPng)).toEqual(await whole.decode('png', fixtures.goldfishPng));
    expect(await lean.decode('avif', fixtures.kimonoAvif)).toEqual(await whole.decode('avif', fixtures.kimonoAvif));
    const goldfish = await whole.decode('png', fixtures.goldfishPng);
    for (const lossless of [false, true]) {
      const webp = await whole.encode('webp', goldfish, { quality: 80, lossless });
      expect(await lean.decode('webp', webp)).toEqual(await whole.decode('webp', webp));
    }
  });

  it('a decoder whose image was left in its memory is retired, and the next decode gets a fresh one', async () => {
    const codecs = createWasmCodecs({ ...MEMORY_THRESHOLDS, leaveInHeap: 0 });
    const goldfish = await wasmCodecs.decode('png', fixtures.goldfishPng);
    const webp = await wasmCodecs.encode('webp', goldfish, { quality: 80, lossless: false });
    const first = await codecs.decode('webp', webp);
    const second = await codecs.decode('webp', webp);
    expect(second.data.buffer).not.toBe(first.data.buffer);
    expect(second).toEqual(first);
    // A quality search's trial decode after it still works.
    expect(await codecs.decodeBriefly('webp', webp, (image) => image.width)).toBe(goldfish.width);
  });

  it('JPEG in strips joins into one baseline JPEG with restart markers that looks like the whole-image encode', async () => {
    const source = await whole.decode('jpeg', fixtures.photoJpeg);
    const strips = await lean.encode('jpeg', source, { quality: 80, lossless: false });
    const hasMarker = (bytes: Uint8Array, marker: number) => bytes.some((b, i) => b === 0xff && bytes[i + 1] === marker);
    expect(hasMarker(strips, 0xc0)).toBe(true); // baseline
    expect(hasMarker(strips, 0xdd)).toBe(true); // restart interval
    const decoded = await whole.decode('jpeg', strips);
    expect([decoded.width, decoded.height]).toEqual([source.width, source.height]);
    const reference = await whole.decode('jpeg', await whole.encode('jpeg', source, { quality: 80, lossless: false }));
    expect(similarity(source, decoded)).toBeGreaterThan(similarity(source, reference) - 0.005);
  });

  it('streamed PNGs are lossless: RGBA, RGB and palette', async () => {
    const bytes = (image: RawImage) => ({
      ...image,
      data: new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength),
    });
    const art = bytes(await whole.decode('png', fixtures.goldfishPng));
    const translucent = { ...art, data: art.data.map((v, i) => (i % 4 === 3 ? i % 251 : v)) };
    const opaque = { ...art, data: art.data.map((v, i) => (i % 4 === 3 ? 255 : v)) };
    for (const image of [translucent, opaque]) {
      const png = await lean.encode('png', image, { quality: 100, lossless: true });
      expect(png[25]).toBe(image === opaque ? 2 : 6); // colour type: RGB when nothing is transparent
      expect(bytes(await whole.decode('png', png))).toEqual(image);
    }
    const palette = new Uint8Array([255, 0, 0, 255, 0, 0, 255, 128, 0, 0, 0, 0]);
    const indexed = { indices: Uint8Array.from({ length: 40 * 30 }, (_, i) => i % 3), palette, width: 40, height: 30 };
    const png = await lean.encodeIndexedPng(indexed);
    expect(png[25]).toBe(3); // colour type: palette
    expect(bytes(await whole.decode('png', png))).toEqual(expandPalette(indexed));
  });
});

describe('resizing in strips', () => {
  const crop = (image: RawImage, rect: { x: number; y: number; width: number; height: number }): RawImage => {
    const data = new Uint8Array(rect.width * rect.height * 4);
    for (let row = 0; row < rect.height; row++) {
      const start = ((rect.y + row) * image.width + rect.x) * 4;
      data.set(image.data.subarray(start, start + rect.width * 4), row * rect.width * 4);
    }
    return { data, width: rect.width, height: rect.height };
  };

  const resizeWhole = async (image: RawImage, width: number, height: number): Promise<RawImage> => {
    let data = new Uint8Array(0);
    await wasmCodecs.resize(image, width, height, (pixels) => (data = pixels.slice()));
    return { data, width, height };
  };

  it('a resize to the same size changes nothing (so each pass touches one dimension only)', async () => {
    const source = await wasmCodecs.decode('jpeg', fixtures.photoJpeg);
    const same = await resizeWhole(source, source.width, source.height);
    let maxDifference = 0;
    for (let i = 0; i < same.data.length; i++) maxDifference = Math.max(maxDifference, Math.abs(same.data[i]! - source.data[i]!));
    expect(maxDifference).toBeLessThanOrEqual(1);
  });

  it('matches one whole-image resize, for shrinking, cropping and enlarging, with strips of a few rows', async () => {
    const source = await wasmCodecs.decode('png', fixtures.goldfishPng);
    const plans = [
      { size: { width: 157, height: 101 } },
      { crop: { x: 40, y: 10, width: 200, height: 150 }, size: { width: 120, height: 90 } },
      { crop: { x: 40, y: 10, width: 200, height: 150 }, size: { width: 260, height: 90 } },
      { crop: { x: 0, y: 30, width: source.width, height: 150 }, size: { width: 120, height: 200 } },
      // Widths grow and heights shrink: the heights go first, so no image larger than both is made.
      { crop: { x: 20, y: 10, width: 300, height: 240 }, size: { width: 700, height: 60 } },
      { size: { width: source.width * 2, height: Math.round(source.height * 1.5) } },
    ];
    for (const plan of plans) {
      const cropped = plan.crop ? crop(source, plan.crop) : source;
      const whole = await resizeWhole(cropped, plan.size.width, plan.size.height);
      // A shrinking pass works in the source's own buffer: give it a copy.
      const strips = await resizeInStrips(wasmCodecs, { ...source, data: source.data.slice() }, plan, 4000);
      expect([strips.width, strips.height]).toEqual([plan.size.width, plan.size.height]);
      expect(similarity(whole, strips)).toBeGreaterThan(0.995);
    }
  });
});

describe('AVIF chroma', () => {
  it('lossy AVIF of odd width and height encodes at 4:2:0 and decodes to the same size', async () => {
    const source = await wasmCodecs.decode('jpeg', fixtures.photoJpeg);
    for (const [width, height] of [
      [301, 199],
      [300, 199],
      [301, 200],
    ] as const) {
      const odd = { data: new Uint8Array(width * height * 4), width, height };
      for (let y = 0; y < height; y++)
        odd.data.set(source.data.subarray(y * source.width * 4, (y * source.width + width) * 4), y * width * 4);
      const decoded = await wasmCodecs.decode('avif', await wasmCodecs.encode('avif', odd, { quality: 60, lossless: false }));
      expect([decoded.width, decoded.height]).toEqual([width, height]);
      expect(similarity(odd, decoded)).toBeGreaterThan(0.9);
    }
  });
});

describe('JPEG strips of very wide images', () => {
  it('keep each strip within the 65,535-MCU restart interval', () => {
    expect(jpegStripRows(4000, 16)).toBe(256);
    expect(jpegStripRows(65535, 16)).toBe(240); // 4096 MCUs a row: 15 MCU rows a strip
    expect(jpegStripRows(65535, 8)).toBe(56); // 8192 MCUs a row: seven
    for (const [width, mcu] of [
      [20000, 16],
      [65535, 8],
      [3000, 8],
    ] as const)
      expect((jpegStripRows(width, mcu) / mcu) * Math.ceil(width / mcu)).toBeLessThanOrEqual(0xffff);
  });

  it('a 20,000 px wide image encodes in strips and decodes to its size', async () => {
    const lean = createWasmCodecs({ jpegStrips: 0, pngStream: 0, indexedOxipng: 0, leaveInHeap: 0, pngStreamDecode: 0 });
    const width = 20000;
    const height = 40;
    const data = new Uint8Array(width * height * 4).map((_, i) => (i % 4 === 3 ? 255 : (i >> 4) & 255));
    const decoded = await lean.decode('jpeg', await lean.encode('jpeg', { data, width, height }, { quality: 70, lossless: false }));
    expect([decoded.width, decoded.height]).toEqual([width, height]);
  });
});

describe('codec sessions', () => {
  it('a decoder instance that first decoded a tiny image still hands over the next image whole', async () => {
    const codecs = createWasmCodecs();
    const tiny = await codecs.encode(
      'jpeg',
      { data: new Uint8Array(15 * 15 * 4).fill(200), width: 15, height: 15 },
      { quality: 80, lossless: false },
    );
    expect((await codecs.decode('jpeg', tiny)).data.length).toBe(15 * 15 * 4);
    for (let round = 0; round < 2; round++) {
      const photo = await codecs.decode('jpeg', fixtures.photoJpeg);
      expect(photo.data.length).toBe(photo.width * photo.height * 4);
      expect(photo).toEqual(await createWasmCodecs().decode('jpeg', fixtures.photoJpeg));
    }
  });
});

describe('extreme shapes', () => {
  it('a 1×70,000 PNG with thousands of colours gets a palette, not a 500', async () => {
    const height = 70_000;
    const strip = { data: new Uint8Array(height * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 37) & 255)), width: 1, height };
    const png = await wasmCodecs.encode('png', strip, { quality: 100, lossless: true });
    const result = await compressImage(png, options({ format: 'png', quality: 50 }), wasmCodecs, LIMITS);
    const decoded = await wasmCodecs.decode('png', result.bytes);
    expect([decoded.width, decoded.height]).toEqual([1, height]);
  });
});

describe('format=auto candidates', () => {
  it('format=auto only counts the formats it will try (lossless, memory limits)', async () => {
    const plan = await inspectImage(fixtures.photoJpeg, options({ format: 'auto', lossless: false }), LIMITS);
    expect(possibleOutputFormats(plan, { ...options({ format: 'auto' }), accept: ['avif', 'webp'] })).toEqual(['jpeg', 'avif', 'webp']);
    const png = await inspectImage(fixtures.goldfishPng, options({ format: 'auto', lossless: true }), LIMITS);
    expect(possibleOutputFormats(png, { ...options({ format: 'auto', lossless: true }), accept: ['avif', 'webp'] })).toEqual(['png']);
    const big = pngClaiming(3000, 2000); // 6 MP: within every format's memory limit, AVIF's included
    const bigPlan = await inspectImage(big, options({ format: 'auto' }), LIMITS);
    expect(possibleOutputFormats(bigPlan, { ...options({ format: 'auto' }), accept: ['avif', 'webp'] })).toEqual(['png', 'avif', 'webp']);
  });
});
