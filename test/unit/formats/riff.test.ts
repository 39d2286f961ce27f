import { describe, expect, it } from 'vitest';
import { riffChunks, riffDeclaredLength, riffFile, riffForm } from '../../../src/formats/riff';

// biome-ignore format: one chunk a line
/** RIFF/WEBP with a 3-byte chunk (padded to 4) and a 4-byte one: 36 bytes, declared as 28 + 8. */
const webp = Uint8Array.of(
  0x52, 0x49, 0x46, 0x46, 0x1c, 0x00, 0x00, 0x00, 0x57, 0x45, 0x42, 0x50,
  0x49, 0x43, 0x43, 0x50, 0x03, 0x00, 0x00, 0x00, 0x0a, 0x0b, 0x0c, 0x00,
  0x45, 0x58, 0x49, 0x46, 0x04, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04,
);

describe('riffChunks', () => {
  it('walks the chunks, stepping over the pad byte of an odd one', () => {
    expect(riffChunks(webp)).toEqual([
      { fourcc: 'ICCP', data: Uint8Array.of(0x0a, 0x0b, 0x0c) },
      { fourcc: 'EXIF', data: Uint8Array.of(1, 2, 3, 4) },
    ]);
  });

  it('gives a truncated last chunk as far as it goes, and drops a header cut short', () => {
    expect(riffChunks(webp.subarray(0, 34))).toEqual([
      { fourcc: 'ICCP', data: Uint8Array.of(0x0a, 0x0b, 0x0c) },
      { fourcc: 'EXIF', data: Uint8Array.of(1, 2) },
    ]);
    expect(riffChunks(webp.subarray(0, 30))).toEqual([{ fourcc: 'ICCP', data: Uint8Array.of(0x0a, 0x0b, 0x0c) }]);
  });
});

describe('riffDeclaredLength and riffForm', () => {
  it('reads the length field (little-endian, counted from byte 8) and the form type', () => {
    expect(riffDeclaredLength(webp)).toBe(36);
    expect(riffDeclaredLength(webp.subarray(0, 20))).toBe(36);
    expect(riffForm(webp)).toBe('WEBP');
    expect(riffForm(webp.subarray(0, 11))).toBeUndefined();
    expect(riffForm(Uint8Array.from('RIFX\0\0\0\0WEBP', (c) => c.charCodeAt(0)))).toBeUndefined();
  });
});

describe('riffFile', () => {
  it('writes the same bytes the walker reads', () => {
    expect(riffFile('WEBP', riffChunks(webp))).toEqual(webp);
  });
});
