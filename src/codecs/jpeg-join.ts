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

interface HuffTable {
  /** For decoding: code → symbol by length. */
  maxcode: Int32Array;
  valptr: Int32Array;
  mincode: Int32Array;
  values: Uint8Array;
}

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

  // Pass 1: symbol statistics over all strips, by destination table.
  const dcFreq = [new Int32Array(257), new Int32Array(257), new Int32Array(257), new Int32Array(257)];
  const acFreq = [new Int32Array(257), new Int32Array(257), new Int32Array(257), new Int32Array(257)];
  for (let i = 0; i < parsed.length; i++) {
    const rows = parseFrame(strips[i]!).height;
    const mcus = Math.ceil(rows / (8 * maxV)) * mcusPerRow;
    walk(parsed[i]!, frame, mcus, (t, sym) => dcFreq[t]![sym]!++, (t, sym) => acFreq[t]![sym]!++, () => {});
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
    const rows = parseFrame(strips[i]!).height;
    const mcus = Math.ceil(rows / (8 * maxV)) * mcusPerRow;
    walk(
      parsed[i]!,
      frame,
      mcus,
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

function decodeTable(counts: Uint8Array, values: Uint8Array): HuffTable {
  const maxcode = new Int32Array(18).fill(-1);
  const valptr = new Int32Array(17);
  const mincode = new Int32Array(17);
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    const n = counts[len - 1]!;
    if (n) {
      valptr[len] = k;
      mincode[len] = code;
      code += n;
      k += n;
      maxcode[len] = code - 1;
    }
    code <<= 1;
  }
  maxcode[17] = 0x7fffffff;
  return { maxcode, valptr, mincode, values };
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
          else { pos--; byte = 0; pos = end; } // a marker: pad with zeros
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

/** libjpeg's jpeg_gen_optimal_table: code lengths ≤ 16, no all-ones code. Returns DHT counts and values. */
function optimalTable(freqIn: Int32Array): { counts: Uint8Array; values: Uint8Array } {
  const freq = Array.from(freqIn);
  freq[256] = 1; // reserve one code point
  const codesize = new Array(257).fill(0);
  const others = new Array(257).fill(-1);
  for (;;) {
    let c1 = -1;
    let v = 1e18;
    for (let i = 0; i <= 256; i++) if (freq[i]! && freq[i]! <= v) { v = freq[i]!; c1 = i; }
    let c2 = -1;
    v = 1e18;
    for (let i = 0; i <= 256; i++) if (freq[i]! && freq[i]! <= v && i !== c1) { v = freq[i]!; c2 = i; }
    if (c2 < 0) break;
    freq[c1] = freq[c1]! + freq[c2]!;
    freq[c2] = 0;
    codesize[c1]++;
    while (others[c1] >= 0) { c1 = others[c1]; codesize[c1]++; }
    others[c1] = c2;
    codesize[c2]++;
    while (others[c2] >= 0) { c2 = others[c2]; codesize[c2]++; }
  }
  const bits = new Array(33).fill(0);
  for (let i = 0; i <= 256; i++) if (codesize[i]) bits[codesize[i]]++;
  for (let i = 32; i > 16; i--) {
    while (bits[i] > 0) {
      let j = i - 2;
      while (bits[j] === 0) j--;
      bits[i] -= 2;
      bits[i - 1]++;
      bits[j + 1] += 2;
      bits[j]--;
    }
  }
  let i = 16;
  while (bits[i] === 0) i--;
  bits[i]--; // remove the reserved code point
  const values: number[] = [];
  for (let len = 1; len <= 32; len++) for (let s = 0; s <= 255; s++) if (codesize[s] === len) values.push(s);
  return { counts: Uint8Array.from(bits.slice(1, 17)), values: Uint8Array.from(values) };
}

function codesOf(t: { counts: Uint8Array; values: Uint8Array }): { code: Int32Array; size: Int8Array } {
  const code = new Int32Array(256);
  const size = new Int8Array(256);
  let c = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let n = 0; n < t.counts[len - 1]!; n++) {
      const sym = t.values[k++]!;
      code[sym] = c++;
      size[sym] = len;
    }
    c <<= 1;
  }
  return { code, size };
}

function dhtSegment(dc: ({ counts: Uint8Array; values: Uint8Array } | undefined)[], ac: ({ counts: Uint8Array; values: Uint8Array } | undefined)[]): Uint8Array {
  const body: number[] = [];
  for (const [id, t] of dc.entries()) if (t) body.push(0x00 | id, ...t.counts, ...t.values);
  for (const [id, t] of ac.entries()) if (t) body.push(0x10 | id, ...t.counts, ...t.values);
  return jpegSegment(JpegMarker.DHT, Uint8Array.from(body));
}

class BitWriter {
  buffer: Uint8Array;
  length = 0;
  private acc = 0;
  private n = 0;
  constructor(capacity: number) {
    this.buffer = new Uint8Array(capacity);
  }
  private ensure(extra: number) {
    if (this.length + extra <= this.buffer.length) return;
    const next = new Uint8Array(Math.max(this.buffer.length * 2, this.length + extra));
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
  }
  raw(bytes: Uint8Array) {
    this.ensure(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }
  private byte(v: number) {
    this.ensure(2);
    this.buffer[this.length++] = v;
    if (v === 0xff) this.buffer[this.length++] = 0;
  }
  bits(value: number, n: number) {
    if (n === 0) return;
    this.acc = ((this.acc << n) | (value & ((1 << n) - 1))) >>> 0;
    this.n += n;
    while (this.n >= 8) {
      this.n -= 8;
      this.byte((this.acc >>> this.n) & 0xff);
    }
    this.acc &= (1 << this.n) - 1;
  }
  code(t: { code: Int32Array; size: Int8Array }, sym: number) {
    const size = t.size[sym]!;
    if (!size) throw new Error(`no code for symbol ${sym}`);
    this.bits(t.code[sym]!, size);
  }
  /** Pads with one-bits to a byte boundary. */
  flush() {
    if (this.n > 0) this.bits(0x7f, 8 - this.n);
  }
  result(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}
