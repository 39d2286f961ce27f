/**
 * Joins baseline (sequential, Huffman) JPEGs that are horizontal strips of one image, all the
 * same width and encoded with the same quantisation tables, into one baseline JPEG: the strips'
 * entropy-coded data are re-coded with Huffman tables optimal for the whole image and separated
 * by restart markers (a restart resets the DC predictors, as each strip's encoder started from
 * zero). Every strip but the last must be a whole number of MCU rows high.
 *
 * Only symbols and their extra bits are moved, never coefficients, so it needs no memory beyond
 * the strips and the output.
 */
import { JpegMarker, jpegSegment, jpegSegments, setJpegFrameHeight } from '../formats/jpeg';
import { BitWriter, type HuffTable, codesOf, decodeTable, dhtSegment, optimalTable } from './jpeg-huffman';

interface Strip {
  bytes: Uint8Array;
  /** Offsets: SOS marker, first entropy byte, EOI. */
  sos: number;
  dataStart: number;
  dataEnd: number;
  dc: (HuffTable | undefined)[];
  ac: (HuffTable | undefined)[];
}

interface Frame {
  width: number;
  height: number;
  comps: { id: number; h: number; v: number; tq: number }[];
  /** Per component in SOS order: index into comps, DC table, AC table. */
  scan: { comp: number; td: number; ta: number }[];
}

export function joinJpegStrips(strips: Uint8Array[], totalHeight: number): Uint8Array {
  if (strips.length === 1) return strips[0]!;
  const parsed = strips.map(parseStrip);
  const frame = parseFrame(strips[0]!);
  const maxH = Math.max(...frame.comps.map((c) => c.h));
  const maxV = Math.max(...frame.comps.map((c) => c.v));
  const mcusPerRow = Math.ceil(frame.width / (8 * maxH));
  const firstRows = parseFrame(strips[0]!).height;
  if (firstRows % (8 * maxV) !== 0) throw new Error('strip height is not a whole number of MCU rows');
  const mcusPerStrip = (firstRows / (8 * maxV)) * mcusPerRow;
  if (mcusPerStrip > 0xffff) throw new Error('strips too large for a restart interval');
  const quant = markerSegments(strips[0]!, JpegMarker.DQT);
  for (const s of strips) {
    if (!sameBytes(markerSegments(s, JpegMarker.DQT), quant)) throw new Error('strips have different quantisation tables');
  }

  // Each strip's MCUs; a partial MCU row at the bottom is coded whole.
  const mcus = strips.map((s) => Math.ceil(parseFrame(s).height / (8 * maxV)) * mcusPerRow);

  // Pass 1: symbol statistics over all strips, by destination table.
  const dcFreq = [new Int32Array(257), new Int32Array(257), new Int32Array(257), new Int32Array(257)];
  const acFreq = [new Int32Array(257), new Int32Array(257), new Int32Array(257), new Int32Array(257)];
  for (let i = 0; i < parsed.length; i++) {
    walk(
      parsed[i]!,
      frame,
      mcus[i]!,
      (t, sym) => dcFreq[t]![sym]!++,
      (t, sym) => acFreq[t]![sym]!++,
      () => {},
    );
  }
  const dcTables = dcFreq.map((f) => (f.some((n) => n > 0) ? optimalTable(f) : undefined));
  const acTables = acFreq.map((f) => (f.some((n) => n > 0) ? optimalTable(f) : undefined));

  // Pass 2: re-code.
  const writer = new BitWriter(strips.reduce((n, s) => n + s.byteLength, 0) + 1024);
  const header = strips[0]!.subarray(0, parsed[0]!.sos);
  writer.raw(withoutSegments(header, [JpegMarker.DHT, JpegMarker.DRI]));
  setJpegFrameHeight(writer.buffer.subarray(0, writer.length), totalHeight);
  writer.raw(dhtSegment(dcTables, acTables));
  writer.raw(jpegSegment(JpegMarker.DRI, Uint8Array.of(mcusPerStrip >> 8, mcusPerStrip & 0xff)));
  writer.raw(strips[0]!.subarray(parsed[0]!.sos, parsed[0]!.dataStart));
  const dcCodes = dcTables.map((t) => t && codesOf(t));
  const acCodes = acTables.map((t) => t && codesOf(t));
  for (let i = 0; i < parsed.length; i++) {
    if (i > 0) {
      writer.flush();
      writer.raw(Uint8Array.of(0xff, JpegMarker.RST0 + ((i - 1) & 7)));
    }
    walk(
      parsed[i]!,
      frame,
      mcus[i]!,
      (t, sym) => writer.code(dcCodes[t]!, sym),
      (t, sym) => writer.code(acCodes[t]!, sym),
      (bits, n) => writer.bits(bits, n),
    );
  }
  writer.flush();
  writer.raw(Uint8Array.of(0xff, JpegMarker.EOI));
  return writer.result();
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function markerSegments(b: Uint8Array, marker: number): Uint8Array {
  const parts: number[] = [];
  for (const s of jpegSegments(b)) if (s.marker === marker) parts.push(...b.subarray(s.offset, s.end));
  return Uint8Array.from(parts);
}

function withoutSegments(header: Uint8Array, drop: number[]): Uint8Array {
  const out: number[] = [header[0]!, header[1]!];
  for (const s of jpegSegments(header)) if (!drop.includes(s.marker)) for (let i = s.offset; i < s.end; i++) out.push(header[i]!);
  return Uint8Array.from(out);
}

function parseFrame(b: Uint8Array): Frame {
  let frame: Frame | undefined;
  for (const s of jpegSegments(b)) {
    if (s.marker === JpegMarker.SOF0 || s.marker === JpegMarker.SOF1) {
      const p = s.dataOffset;
      const height = (b[p + 1]! << 8) | b[p + 2]!;
      const width = (b[p + 3]! << 8) | b[p + 4]!;
      const n = b[p + 5]!;
      const comps = [];
      for (let c = 0; c < n; c++) {
        const q = p + 6 + c * 3;
        comps.push({ id: b[q]!, h: b[q + 1]! >> 4, v: b[q + 1]! & 15, tq: b[q + 2]! });
      }
      frame = { width, height, comps, scan: [] };
    } else if (s.marker === JpegMarker.SOF2 || s.marker === JpegMarker.SOF9 || s.marker === JpegMarker.SOF10) {
      throw new Error('strips must be baseline Huffman JPEGs');
    } else if (s.marker === JpegMarker.SOS) {
      if (!frame) throw new Error('no frame header');
      const p = s.dataOffset;
      const n = b[p]!;
      if (n !== frame.comps.length) throw new Error('strips must have one interleaved scan');
      for (let c = 0; c < n; c++) {
        const id = b[p + 1 + c * 2]!;
        const t = b[p + 2 + c * 2]!;
        frame.scan.push({ comp: frame.comps.findIndex((x) => x.id === id), td: t >> 4, ta: t & 15 });
      }
    }
  }
  if (!frame) throw new Error('no frame header');
  return frame;
}

function parseStrip(bytes: Uint8Array): Strip {
  const dc: (HuffTable | undefined)[] = [];
  const ac: (HuffTable | undefined)[] = [];
  let sos = -1;
  let dataStart = -1;
  let dataEnd: number | undefined;
  for (const s of jpegSegments(bytes)) {
    if (s.marker === JpegMarker.DHT) {
      let p = s.dataOffset;
      while (p < s.end) {
        const tc = bytes[p]! >> 4;
        const th = bytes[p]! & 15;
        const counts = bytes.subarray(p + 1, p + 17);
        const total = counts.reduce((a, b) => a + b, 0);
        const values = bytes.slice(p + 17, p + 17 + total);
        (tc === 0 ? dc : ac)[th] = decodeTable(counts, values);
        p += 17 + total;
      }
    } else if (s.marker === JpegMarker.SOS) {
      sos = s.offset;
      dataStart = s.end;
      dataEnd = s.scanEnd;
    } else if (s.marker === JpegMarker.DRI) {
      throw new Error('strips must not have restart markers');
    }
  }
  if (sos < 0) throw new Error('no scan');
  if (dataEnd !== bytes.length - 2) throw new Error('strip does not end in EOI');
  return { bytes, sos, dataStart, dataEnd, dc, ac };
}

/** Decodes a strip's MCUs, reporting each symbol and each run of extra bits in order. */
function walk(
  strip: Strip,
  frame: Frame,
  mcus: number,
  onDc: (table: number, symbol: number) => void,
  onAc: (table: number, symbol: number) => void,
  onBits: (bits: number, n: number) => void,
) {
  const b = strip.bytes;
  let pos = strip.dataStart;
  const end = strip.dataEnd;
  let acc = 0;
  let nacc = 0;
  const fill = () => {
    while (nacc <= 24) {
      let byte = 0;
      if (pos < end) {
        byte = b[pos++]!;
        if (byte === 0xff) {
          const next = b[pos]!;
          if (next === 0) pos++;
          else {
            pos--;
            byte = 0;
            pos = end;
          } // a marker: pad with zeros
        }
      }
      acc = ((acc << 8) | byte) >>> 0;
      nacc += 8;
    }
  };
  const read = (n: number): number => {
    if (n === 0) return 0;
    if (nacc < n) fill();
    nacc -= n;
    return (acc >>> nacc) & ((1 << n) - 1);
  };
  const decode = (t: HuffTable): number => {
    let code = read(1);
    let len = 1;
    while (code > t.maxcode[len]!) {
      code = (code << 1) | read(1);
      if (++len > 16) throw new Error('bad Huffman code in strip');
    }
    return t.values[t.valptr[len]! + code - t.mincode[len]!]!;
  };
  const blocks: { dc: HuffTable; ac: HuffTable; td: number; ta: number }[] = [];
  for (const s of frame.scan) {
    const c = frame.comps[s.comp]!;
    for (let i = 0; i < c.h * c.v; i++) blocks.push({ dc: strip.dc[s.td]!, ac: strip.ac[s.ta]!, td: s.td, ta: s.ta });
  }
  for (let m = 0; m < mcus; m++) {
    for (const blk of blocks) {
      const s = decode(blk.dc);
      onDc(blk.td, s);
      if (s) onBits(read(s), s);
      for (let k = 1; k < 64; ) {
        const rs = decode(blk.ac);
        onAc(blk.ta, rs);
        const r = rs >> 4;
        const size = rs & 15;
        if (size === 0) {
          if (r !== 15) break;
          k += 16;
        } else {
          k += r;
          onBits(read(size), size);
          k++;
        }
      }
    }
  }
}
