// PNG rows one at a time: undoing a row's filter, and widening it to RGBA the way squoosh_png
// (the png crate's EXPAND, then its own widening) does, so both decoders give the same bytes.

/** The colour types and bit depths the streaming decoder reads. */
export interface RowFormat {
  colorType: 0 | 2 | 3 | 4 | 6;
  bitDepth: 1 | 2 | 4 | 8;
  width: number;
  /** RGB entries, 3 bytes each (palette images). */
  palette?: Uint8Array;
  /** The tRNS chunk's data. */
  transparency?: Uint8Array;
}

const CHANNELS = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as const;

export const bitsPerPixel = ({ colorType, bitDepth }: RowFormat) => CHANNELS[colorType] * bitDepth;

/** Reverses filter `type` on `row` in place; `previous` is the row above, unfiltered (zeros above the first). */
export function unfilterRow(type: number, row: Uint8Array, previous: Uint8Array, bytesPerPixel: number): void {
  const n = row.length;
  const bpp = bytesPerPixel;
  switch (type) {
    case 0:
      return;
    case 1:
      for (let i = bpp; i < n; i++) row[i] = row[i]! + row[i - bpp]!;
      return;
    case 2:
      for (let i = 0; i < n; i++) row[i] = row[i]! + previous[i]!;
      return;
    case 3:
      for (let i = 0; i < bpp && i < n; i++) row[i] = row[i]! + (previous[i]! >> 1);
      for (let i = bpp; i < n; i++) row[i] = row[i]! + ((row[i - bpp]! + previous[i]!) >> 1);
      return;
    case 4:
      // Paeth with nothing to the left predicts the byte above.
      for (let i = 0; i < bpp && i < n; i++) row[i] = row[i]! + previous[i]!;
      for (let i = bpp; i < n; i++) {
        const a = row[i - bpp]!;
        const b = previous[i]!;
        const c = previous[i - bpp]!;
        const pa = Math.abs(b - c);
        const pb = Math.abs(a - c);
        const pc = Math.abs(a + b - 2 * c);
        row[i] = row[i]! + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
      }
      return;
    default:
      throw new Error(`a row has filter type ${type}, which PNG does not define`);
  }
}

/** Writes one unfiltered row as RGBA into `out` from `at`. */
export type RowExpander = (row: Uint8Array, out: Uint8Array, at: number) => void;

export function rowExpander(format: RowFormat): RowExpander {
  const { colorType, bitDepth, width, transparency } = format;
  if (colorType === 3) return paletteExpander(format);
  if (colorType === 6) return (row, out, at) => out.set(row, at);
  if (colorType === 4) {
    return (row, out, at) => {
      for (let x = 0, i = 0; x < width; x++, i += 2, at += 4) {
        const grey = row[i]!;
        out[at] = grey;
        out[at + 1] = grey;
        out[at + 2] = grey;
        out[at + 3] = row[i + 1]!;
      }
    };
  }
  // The png crate compares the key's low byte(s) with the samples before any scaling.
  const key = transparency ? (colorType === 0 ? [transparency[1]!] : [transparency[1]!, transparency[3]!, transparency[5]!]) : undefined;
  if (colorType === 2) {
    const [kr = -1, kg = -1, kb = -1] = key ?? [];
    return (row, out, at) => {
      for (let x = 0, i = 0; x < width; x++, i += 3, at += 4) {
        const r = row[i]!;
        const g = row[i + 1]!;
        const b = row[i + 2]!;
        out[at] = r;
        out[at + 1] = g;
        out[at + 2] = b;
        out[at + 3] = r === kr && g === kg && b === kb ? 0 : 255;
      }
    };
  }
  const keyGrey = key ? key[0]! : -1;
  const scale = 255 / ((1 << bitDepth) - 1);
  const mask = (1 << bitDepth) - 1;
  return (row, out, at) => {
    for (let x = 0; x < width; x++, at += 4) {
      const bit = x * bitDepth;
      const sample = (row[bit >> 3]! >> (8 - bitDepth - (bit & 7))) & mask;
      const grey = sample * scale;
      out[at] = grey;
      out[at + 1] = grey;
      out[at + 2] = grey;
      out[at + 3] = sample === keyGrey ? 0 : 255;
    }
  };
}

/**
 * Palette rows through a 256-entry RGBA table. As in the png crate: an index past the palette
 * is opaque black, entries past tRNS are opaque, and a tRNS longer than the palette is ignored.
 */
function paletteExpander({ bitDepth, width, palette, transparency }: RowFormat): RowExpander {
  const table = new Uint8Array(256 * 4);
  const entries = Math.floor(palette!.length / 3);
  const alpha = transparency && transparency.length <= entries ? transparency : new Uint8Array(0);
  for (let i = 0; i < 256; i++) {
    if (i < entries) table.set(palette!.subarray(i * 3, i * 3 + 3), i * 4);
    table[i * 4 + 3] = i < alpha.length ? alpha[i]! : 255;
  }
  const mask = (1 << bitDepth) - 1;
  return (row, out, at) => {
    for (let x = 0; x < width; x++, at += 4) {
      const bit = x * bitDepth;
      const t = ((row[bit >> 3]! >> (8 - bitDepth - (bit & 7))) & mask) * 4;
      out[at] = table[t]!;
      out[at + 1] = table[t + 1]!;
      out[at + 2] = table[t + 2]!;
      out[at + 3] = table[t + 3]!;
    }
  };
}
