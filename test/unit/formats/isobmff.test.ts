import { describe, expect, it } from 'vitest';
import { findBox, isobmffBoxes } from '../../../src/formats/isobmff';
import { fixtures } from '../../helpers';

const summary = (bytes: Uint8Array) => Array.from(isobmffBoxes(bytes), ({ type, offset, size, data }) => [type, offset, size, data.length]);

describe('isobmffBoxes', () => {
  it("lists an AVIF's top-level boxes and, inside meta (a full box: 4 bytes of version and flags first), its children", () => {
    expect(summary(fixtures.kimonoAvif)).toEqual([
      ['ftyp', 0, 32, 24],
      ['meta', 32, 285, 277],
      ['mdat', 317, 85128, 85120],
    ]);
    expect(summary(findBox(fixtures.kimonoAvif, 'meta')!.data.subarray(4)).map(([type]) => type)).toEqual([
      'hdlr',
      'iloc',
      'iinf',
      'pitm',
      'iprp',
    ]);
  });

  it('reads 64-bit sizes and size 0 (to the end of the file)', () => {
    // biome-ignore format: one box a line
    const bytes = Uint8Array.of(
      0x00, 0x00, 0x00, 0x01, 0x66, 0x72, 0x65, 0x65, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x12, 0xaa, 0xbb,
      0x00, 0x00, 0x00, 0x00, 0x6d, 0x64, 0x61, 0x74, 0x01, 0x02, 0x03,
    );
    expect(summary(bytes)).toEqual([
      ['free', 0, 18, 2],
      ['mdat', 18, 11, 3],
    ]);
  });

  it('cuts a truncated box short and stops at a size smaller than its header', () => {
    const truncated = Uint8Array.of(0x00, 0x00, 0x00, 0x10, 0x66, 0x74, 0x79, 0x70, 0x61, 0x76);
    expect(summary(truncated)).toEqual([['ftyp', 0, 16, 2]]);
    const undersized = Uint8Array.of(0x00, 0x00, 0x00, 0x04, 0x66, 0x74, 0x79, 0x70, 0x61, 0x76, 0x69, 0x66);
    expect(summary(undersized)).toEqual([]);
  });
});

describe('findBox', () => {
  it('finds a box wherever it is at its level, and nothing that is not there', () => {
    expect(findBox(fixtures.kimonoAvif, 'mdat')?.offset).toBe(317);
    expect(findBox(fixtures.kimonoAvif, 'hdlr')).toBeUndefined();
  });
});
