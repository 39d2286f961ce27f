import { describe, expect, it } from 'vitest';
import { concat } from '../../../src/formats/bytes';
import { PNG_SIGNATURE, pngChunk, pngChunkLength, pngHeader, pngPixels, readPngChunks, writePngChunk } from '../../../src/formats/png';

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/** A 1×1 RGBA PNG's chunks (the IDAT's data need not inflate for the container). */
function minimalPng(): Uint8Array {
  return concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', pngHeader(1, 1, 6)),
    pngChunk('IDAT', Uint8Array.of(1, 2, 3)),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}

describe('pngChunk', () => {
  it('writes length, type, data and the CRC over type and data', () => {
    expect(hex(pngChunk('IHDR', pngHeader(1, 1, 6)))).toBe('0000000d' + '49484452' + '00000001000000010806000000' + '1f15c489');
    expect(hex(pngChunk('IEND', new Uint8Array(0)))).toBe('00000000' + '49454e44' + 'ae426082');
  });

  it('writes data given in pieces as one chunk, and says where the next begins', () => {
    const out = new Uint8Array(pngChunkLength(3) + 1);
    expect(writePngChunk(out, 1, 'tEXt', [Uint8Array.of(0x61), Uint8Array.of(0x00, 0x62)])).toBe(16);
    expect(hex(out.subarray(1))).toBe('00000003' + '74455874' + '610062' + 'dc49a23b');
  });
});

describe('readPngChunks', () => {
  it('reads back the chunks it wrote, with their data offsets', () => {
    expect(readPngChunks(minimalPng())).toEqual({
      chunks: [
        { type: 'IHDR', offset: 16, length: 13 },
        { type: 'IDAT', offset: 41, length: 3 },
        { type: 'IEND', offset: 56, length: 0 },
      ],
    });
  });

  it("finds a critical chunk's damaged checksum, unless told to skip CRCs", () => {
    const damaged = minimalPng();
    damaged[42]! ^= 0xff; // inside the IDAT's data
    expect(readPngChunks(damaged)).toEqual({ corrupt: "the IDAT chunk's checksum does not match" });
    expect(readPngChunks(damaged, { verifyCrc: false })).toHaveProperty('chunks');
  });

  it('reports a truncated chunk and a missing IEND', () => {
    const png = minimalPng();
    expect(readPngChunks(png.subarray(0, 46))).toEqual({ corrupt: 'the IDAT chunk is truncated' });
    expect(readPngChunks(png.subarray(0, 52))).toEqual({ corrupt: 'the file ends before its IEND chunk' });
  });
});

describe('pngPixels', () => {
  it('reads width × height from the IHDR, and 0 where there is none', () => {
    const png = concat([PNG_SIGNATURE, pngChunk('IHDR', pngHeader(3000, 4000, 2)), pngChunk('IEND', new Uint8Array(0))]);
    expect(pngPixels(png)).toBe(12_000_000);
    expect(pngPixels(png.subarray(0, 20))).toBe(0);
    expect(pngPixels(concat([PNG_SIGNATURE, pngChunk('IEND', new Uint8Array(0))]))).toBe(0);
  });
});
