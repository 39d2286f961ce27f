import { describe, expect, it } from 'vitest';
import { JpegMarker, JpegStructureError, jpegSegment, jpegSegments, setJpegFrameHeight } from '../../../src/formats/jpeg';

// biome-ignore format: one segment a line
/** SOI, APP0 "JFIF", one fill byte, SOF0 (8×16, one component), SOS, entropy data with a stuffed 0xFF, EOI. */
const minimalJpeg = Uint8Array.of(
  0xff, 0xd8,
  0xff, 0xe0, 0x00, 0x07, 0x4a, 0x46, 0x49, 0x46, 0x00,
  0xff,
  0xff, 0xc0, 0x00, 0x0b, 0x08, 0x00, 0x10, 0x00, 0x08, 0x01, 0x01, 0x11, 0x00,
  0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00,
  0x12, 0xff, 0x00, 0x34,
  0xff, 0xd9,
);

describe('jpegSegments', () => {
  it('lists each segment with its offsets, skips fill bytes, and finds the end of the scan', () => {
    expect([...jpegSegments(minimalJpeg)]).toEqual([
      { marker: JpegMarker.APP0, offset: 2, dataOffset: 6, end: 11 },
      { marker: JpegMarker.SOF0, offset: 12, dataOffset: 16, end: 25 },
      { marker: JpegMarker.SOS, offset: 25, dataOffset: 29, end: 35, scanEnd: 39 },
    ]);
  });

  it('leaves the scan end undefined when the file is cut before its EOI', () => {
    const truncated = minimalJpeg.subarray(0, 38);
    expect([...jpegSegments(truncated)].at(-1)).toEqual({
      marker: JpegMarker.SOS,
      offset: 25,
      dataOffset: 29,
      end: 35,
      scanEnd: undefined,
    });
  });

  it('stops at an EOI before any scan', () => {
    const empty = Uint8Array.of(0xff, 0xd8, 0xff, 0xd9, 0xff, 0xe0, 0x00, 0x02);
    expect([...jpegSegments(empty)]).toEqual([{ marker: JpegMarker.EOI, offset: 2, dataOffset: 4, end: 4 }]);
  });

  it('throws where a marker is missing', () => {
    const broken = minimalJpeg.slice();
    broken[25] = 0x00; // where SOS begins
    const walk = () => [...jpegSegments(broken)];
    expect(walk).toThrow(JpegStructureError);
    expect(walk).toThrow('a marker is missing where one must be');
  });

  it('yields nothing for a file too short for a segment header', () => {
    expect([...jpegSegments(Uint8Array.of(0xff, 0xd8, 0xff, 0xe0, 0x00))]).toEqual([]);
  });
});

describe('jpegSegment', () => {
  it('writes the marker and a length that counts itself', () => {
    expect(jpegSegment(JpegMarker.DRI, Uint8Array.of(0x01, 0x02))).toEqual(Uint8Array.of(0xff, 0xdd, 0x00, 0x04, 0x01, 0x02));
  });
});

describe('setJpegFrameHeight', () => {
  it('rewrites the height in the frame header only', () => {
    const copy = minimalJpeg.slice();
    setJpegFrameHeight(copy, 0x1234);
    expect(Array.from(copy.subarray(16, 21))).toEqual([0x08, 0x12, 0x34, 0x00, 0x08]);
    expect(copy.filter((_, i) => i < 17 || i > 18)).toEqual(minimalJpeg.filter((_, i) => i < 17 || i > 18));
  });

  it('throws without a baseline frame header', () => {
    const progressive = minimalJpeg.slice();
    progressive[13] = JpegMarker.SOF2;
    expect(() => setJpegFrameHeight(progressive, 1)).toThrow('no frame header');
  });
});
