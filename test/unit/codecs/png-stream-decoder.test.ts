import { describe, expect, it } from 'vitest';
// @ts-expect-error the .d.ts beside this file types the instance's exports; Workers import the compiled module.
import pngWasm from '@jsquash/png/codec/pkg/squoosh_png_bg.wasm';
import { decodePngInFreshInstance } from '../../../src/codecs/png-decoder';
import { decodePngStreaming } from '../../../src/codecs/png-stream-decoder';
import { DecodeError, type RawImage } from '../../../src/codecs/types';
import { MEMORY_THRESHOLDS, createWasmCodecs } from '../../../src/codecs/wasm';
import { concat } from '../../../src/formats/bytes';
import { PNG_SIGNATURE, pngChunk } from '../../../src/formats/png';
import { fromDataUri } from '../../helpers';

const suite = Object.entries(
  import.meta.glob<string>('../../fixtures/pngsuite/*.png', { query: '?inline', import: 'default', eager: true }),
).map(([path, uri]) => ({ name: path.slice(path.lastIndexOf('/') + 1, -4), bytes: fromDataUri(uri) }));
const fixture = (name: string) => suite.find((file) => file.name === name)!.bytes;

const squoosh = (bytes: Uint8Array) => decodePngInFreshInstance(bytes, pngWasm as WebAssembly.Module)!;
const bytesOf = ({ data }: RawImage) => new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
/** Where two decodes first differ, -1 when they are the same image (a diff of megabytes would drown the report). */
function firstDifference(a: RawImage, b: RawImage): number {
  if (a.width !== b.width || a.height !== b.height || a.data.length !== b.data.length) return 0;
  const [x, y] = [bytesOf(a), bytesOf(b)];
  return x.findIndex((value, i) => value !== y[i]);
}

/** A PNG from raw (unfiltered) rows, each row given filter `filterOf(y)`: the spec's predictors, as an encoder applies them. */
async function writePng(
  header: { width: number; height: number; bitDepth: number; colorType: number },
  rows: Uint8Array[],
  { filterOf = (_y: number): number => 0, before = [] as [string, Uint8Array][], bytesPerPixel = 1 } = {},
): Promise<Uint8Array> {
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, header.width);
  new DataView(ihdr.buffer).setUint32(4, header.height);
  ihdr.set([header.bitDepth, header.colorType, 0, 0, 0], 8);
  // As the PNG specification writes it.
  const paeth = (a: number, b: number, c: number) => {
    const p = a + b - c;
    const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
  };
  const predictors = [() => 0, (a: number) => a, (_: number, b: number) => b, (a: number, b: number) => (a + b) >> 1, paeth];
  const filtered = rows.map((row, y) => {
    const above = rows[y - 1] ?? new Uint8Array(row.length);
    const filter = filterOf(y);
    const predict = predictors[filter] ?? (() => 0); // an undefined filter type: the bytes as they are
    const out = Uint8Array.of(filter, ...row);
    for (let i = 0; i < row.length; i++) {
      const left = i >= bytesPerPixel ? row[i - bytesPerPixel]! : 0;
      const upLeft = i >= bytesPerPixel ? above[i - bytesPerPixel]! : 0;
      out[i + 1] = row[i]! - predict(left, above[i]!, upLeft);
    }
    return out;
  });
  return withImageData(ihdr, await deflate(concat(filtered)), before);
}

const deflate = async (data: Uint8Array) =>
  new Uint8Array(await new Response(new Blob([data]).stream().pipeThrough(new CompressionStream('deflate'))).arrayBuffer());
const withImageData = (ihdr: Uint8Array, idat: Uint8Array, before: [string, Uint8Array][] = []) =>
  concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', ihdr),
    ...before.map(([type, data]) => pngChunk(type, data)),
    pngChunk('IDAT', idat),
    pngChunk('IEND', new Uint8Array(0)),
  ]);

describe('the streaming PNG decoder', () => {
  it("gives squoosh_png's bytes for every PngSuite fixture it reads, and leaves it the interlaced and 16-bit ones", async () => {
    const leftToSquoosh: string[] = [];
    let read = 0;
    for (const { name, bytes } of suite.filter(({ name }) => !name.startsWith('x'))) {
      const image = await decodePngStreaming(bytes);
      if (!image) {
        leftToSquoosh.push(name);
        continue;
      }
      expect(firstDifference(image, squoosh(bytes)), name).toBe(-1);
      read++;
    }
    expect(leftToSquoosh.sort()).toEqual(['basi0g08', 'basi3p04', 'basn2c16', 'basn6a16', 'tbwn0g16']);
    expect(read).toBe(28);
  });

  it('decodes a 600×400 RGB image with every filter type to its pixels, as squoosh_png does', async () => {
    const [width, height] = [600, 400];
    const rgb = Array.from({ length: height }, (_, y) =>
      Uint8Array.from({ length: width * 3 }, (_, i) => (i * 7 + y * 13 + ((i * y) % 31)) & 255),
    );
    const png = await writePng({ width, height, bitDepth: 8, colorType: 2 }, rgb, { filterOf: (y) => y % 5, bytesPerPixel: 3 });
    const image = (await decodePngStreaming(png))!;
    expect([image.width, image.height]).toEqual([width, height]);
    const expected = new Uint8Array(width * height * 4).fill(255);
    for (const [y, row] of rgb.entries()) {
      for (const [i, value] of row.entries()) expected[(y * width + Math.floor(i / 3)) * 4 + (i % 3)] = value;
    }
    expect(firstDifference(image, { data: expected, width, height })).toBe(-1);
    expect(firstDifference(image, squoosh(png))).toBe(-1);
  });

  it('decodes 2-bit palette rows of an odd width, with transparency and indices past the palette', async () => {
    // Four pixels a byte: indices 0 1 2 3, then 3 2 1 0; the palette has three entries, tRNS two.
    const rows = Array.from({ length: 3 }, (_, y) => Uint8Array.of(0b00011011, 0b11100100).map((b) => (y === 1 ? 255 - b : b)));
    const before: [string, Uint8Array][] = [
      ['PLTE', Uint8Array.of(10, 20, 30, 40, 50, 60, 70, 80, 90)],
      ['tRNS', Uint8Array.of(0, 128)],
    ];
    const png = await writePng({ width: 7, height: 3, bitDepth: 2, colorType: 3 }, rows, { filterOf: (y) => y + 2, before });
    const image = (await decodePngStreaming(png))!;
    expect(Array.from(bytesOf(image).subarray(0, 28))).toEqual([
      ...[10, 20, 30, 0, 40, 50, 60, 128, 70, 80, 90, 255, 0, 0, 0, 255],
      ...[0, 0, 0, 255, 70, 80, 90, 255, 40, 50, 60, 128],
    ]);
    expect(firstDifference(image, squoosh(png))).toBe(-1);
  });

  it('leaves an APNG whose first frame has frame control to squoosh_png', async () => {
    const fcTL = new Uint8Array(26);
    const apng = withImageData(fixture('basn2c08').subarray(16, 29), new Uint8Array(8), [
      ['acTL', Uint8Array.of(0, 0, 0, 1, 0, 0, 0, 0)],
      ['fcTL', fcTL],
    ]);
    expect(await decodePngStreaming(apng)).toBeNull();
  });

  it("refuses PngSuite's broken files", async () => {
    const broken = suite.filter(({ name }) => name.startsWith('x'));
    expect(broken.length).toBe(14);
    for (const { name, bytes } of broken) await expect(decodePngStreaming(bytes), name).rejects.toThrow(Error);
  });

  it('refuses broken image data: short, truncated, corrupt, or with an undefined filter', async () => {
    const header = { width: 4, height: 3, bitDepth: 8, colorType: 0 };
    const rows = [0, 1, 2].map((y) => Uint8Array.of(y, y, y, y));
    const good = await writePng(header, rows);
    const idat = (png: Uint8Array) => png.subarray(41, png.length - 16); // the one IDAT's data
    const ihdr = (fields: number[]) => Uint8Array.of(0, 0, 0, 4, 0, 0, 0, 3, ...fields);
    const cases: [string, Uint8Array, RegExp][] = [
      ['too few rows', await writePng({ ...header, height: 4 }, rows), /ends after 3 of 4 rows/],
      ['a truncated zlib stream', withImageData(ihdr([8, 0, 0, 0, 0]), idat(good).subarray(0, 10)), /does not inflate/],
      ['data that is not zlib', withImageData(ihdr([8, 0, 0, 0, 0]), Uint8Array.of(1, 2, 3, 4, 5, 6)), /does not inflate/],
      ['no image data at all', withImageData(ihdr([8, 0, 0, 0, 0]), new Uint8Array(0)), /does not inflate/],
      ['filter type 5', await writePng(header, rows, { filterOf: (y) => (y === 2 ? 5 : 0) }), /filter type 5/],
      ['a zero width', withImageData(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 3, 8, 0, 0, 0, 0), idat(good)), /0×3/],
      ['bit depth 16 for a palette', withImageData(ihdr([16, 3, 0, 0, 0]), idat(good)), /is not PNG/],
      ['interlace method 2', withImageData(ihdr([8, 0, 0, 0, 2]), idat(good)), /interlace/],
      ['tRNS for RGBA', withImageData(ihdr([8, 6, 0, 0, 0]), idat(good), [['tRNS', new Uint8Array(8)]]), /tRNS/],
      ['a palette image without PLTE', withImageData(ihdr([8, 3, 0, 0, 0]), idat(good)), /no PLTE/],
      ['a file cut short', good.subarray(0, good.length - 20), /truncated/],
    ];
    for (const [what, png, message] of cases) await expect(decodePngStreaming(png), what).rejects.toThrow(message);
    // Through the codecs, which the pipeline turns into a 400.
    const codecs = createWasmCodecs({ ...MEMORY_THRESHOLDS, pngStreamDecode: 0 });
    await expect(codecs.decode('png', cases[0]![1])).rejects.toThrow(DecodeError);
  });
});

describe('PNG decoding in the codecs', () => {
  // squoosh_png's pixels are a view into its instance's memory; the streamed ones fill their buffer.
  const streamed = (image: RawImage) => image.data.buffer.byteLength === image.data.byteLength;

  it('streams images above pngStreamDecode, falls back to squoosh_png for what it leaves, and keeps squoosh_png below', async () => {
    const streaming = createWasmCodecs({ ...MEMORY_THRESHOLDS, pngStreamDecode: 0 });
    const rgb = fixture('basn2c08');
    const image = await streaming.decode('png', rgb);
    expect(streamed(image)).toBe(true);
    expect(image).toEqual(squoosh(rgb));
    for (const name of ['basi0g08', 'basn2c16']) {
      const fallback = await streaming.decode('png', fixture(name));
      expect(streamed(fallback), name).toBe(false);
      expect(fallback, name).toEqual(squoosh(fixture(name)));
    }
    expect(streamed(await createWasmCodecs().decode('png', rgb))).toBe(false);
  });
});
