import { ascii, readUint32BE } from './bytes';

/** An ISO base media file format box (AVIF, HEIF, MP4). */
export interface IsobmffBox {
  type: string;
  /** Offset of the box's header. */
  offset: number;
  /** The box's length as its header states it, header included. */
  size: number;
  /** The body after the header, cut short where a truncated file ends. */
  data: Uint8Array;
}

/**
 * The boxes one after another in `bytes` (a file's top level, or a box's body), with 64-bit
 * sizes and size 0 ("to the end"). Stops at a size too small to hold its own header.
 */
export function* isobmffBoxes(bytes: Uint8Array): Generator<IsobmffBox> {
  for (let offset = 0; offset + 8 <= bytes.length; ) {
    let size = readUint32BE(bytes, offset);
    let header = 8;
    if (size === 1 && offset + 16 <= bytes.length) {
      size = readUint32BE(bytes, offset + 8) * 2 ** 32 + readUint32BE(bytes, offset + 12);
      header = 16;
    } else if (size === 0) size = bytes.length - offset;
    if (size < header) return;
    yield {
      type: ascii(bytes, offset + 4, offset + 8),
      offset,
      size,
      data: bytes.subarray(offset + header, Math.min(bytes.length, offset + size)),
    };
    offset += size;
  }
}

/** The first box of `type` among `bytes`' boxes. */
export function findBox(bytes: Uint8Array, type: string): IsobmffBox | undefined {
  for (const box of isobmffBoxes(bytes)) if (box.type === type) return box;
  return undefined;
}
