import { readUint16BE } from './bytes';

/** The JPEG markers the code reads or writes (the byte after 0xFF). */
export const JpegMarker = {
  SOF0: 0xc0,
  SOF1: 0xc1,
  SOF2: 0xc2,
  DHT: 0xc4,
  SOF9: 0xc9,
  SOF10: 0xca,
  RST0: 0xd0,
  SOI: 0xd8,
  EOI: 0xd9,
  SOS: 0xda,
  DQT: 0xdb,
  DRI: 0xdd,
  APP0: 0xe0,
  APP1: 0xe1,
  APP2: 0xe2,
} as const;

export interface JpegSegment {
  marker: number;
  /** Offset of the segment's 0xFF. */
  offset: number;
  /** Offset of the payload, after the marker and its length field. */
  dataOffset: number;
  /** Offset just past the segment. */
  end: number;
  /**
   * SOS only: offset of the end-of-image marker after the entropy-coded data, undefined when the
   * file ends without one (it is truncated).
   */
  scanEnd?: number;
}

/** Thrown where a marker must begin and none does. */
export class JpegStructureError extends Error {
  readonly offset: number;

  constructor(offset: number) {
    super('a marker is missing where one must be');
    this.name = 'JpegStructureError';
    this.offset = offset;
  }
}

/** Markers without a length field: TEM and RST0–7 (SOI and EOI too, which the walk handles). */
const standalone = (marker: number) => marker === 0x01 || (marker >= JpegMarker.RST0 && marker <= JpegMarker.RST0 + 7);

/**
 * The segments from after SOI up to and including the first SOS (or EOI, or as far as whole
 * segment headers go), skipping 0xFF fill bytes. The last segment may reach past the end of a
 * truncated file. Throws JpegStructureError where a marker is missing.
 */
export function* jpegSegments(bytes: Uint8Array): Generator<JpegSegment> {
  for (let offset = 2; offset + 4 <= bytes.length; ) {
    if (bytes[offset] !== 0xff) throw new JpegStructureError(offset);
    const marker = bytes[offset + 1]!;
    if (marker === 0xff) {
      offset++; // fill byte
      continue;
    }
    if (marker === JpegMarker.EOI || standalone(marker)) {
      yield { marker, offset, dataOffset: offset + 2, end: offset + 2 };
      if (marker === JpegMarker.EOI) return;
      offset += 2;
      continue;
    }
    const end = offset + 2 + readUint16BE(bytes, offset + 2);
    if (marker === JpegMarker.SOS) {
      yield { marker, offset, dataOffset: offset + 4, end, scanEnd: endOfImage(bytes, end) };
      return;
    }
    yield { marker, offset, dataOffset: offset + 4, end };
    offset = end;
  }
}

/**
 * The first FF D9 from `from` on. Entropy-coded data stuffs every 0xFF with 0x00, so after a
 * scan's header that can only be the end-of-image marker.
 */
function endOfImage(bytes: Uint8Array, from: number): number | undefined {
  for (let at = bytes.indexOf(0xff, from); at >= 0 && at + 1 < bytes.length; at = bytes.indexOf(0xff, at + 1)) {
    if (bytes[at + 1] === JpegMarker.EOI) return at;
  }
  return undefined;
}

/** A marker segment: the marker, a length field counting itself, the payload (at most 65,533 bytes). */
export function jpegSegment(marker: number, payload: Uint8Array): Uint8Array {
  const segment = new Uint8Array(4 + payload.length);
  segment.set([0xff, marker, (payload.length + 2) >> 8, (payload.length + 2) & 0xff]);
  segment.set(payload, 4);
  return segment;
}

const isBaselineFrame = (marker: number) => marker === JpegMarker.SOF0 || marker === JpegMarker.SOF1;

/** Rewrites the height in a baseline frame header (SOF0/SOF1), in place. */
export function setJpegFrameHeight(bytes: Uint8Array, height: number): void {
  for (const segment of jpegSegments(bytes)) {
    if (isBaselineFrame(segment.marker)) {
      bytes.set([height >> 8, height & 0xff], segment.dataOffset + 1);
      return;
    }
  }
  throw new Error('no frame header');
}
