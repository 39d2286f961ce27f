// Baseline JPEG Huffman coding: tables read from DHT segments for decoding, optimal tables
// built from symbol counts with their DHT segment and codes, and the bit writer that emits them.

import { JpegMarker, jpegSegment } from '../formats/jpeg';

export interface HuffTable {
  /** For decoding: code → symbol by length. */
  maxcode: Int32Array;
  valptr: Int32Array;
  mincode: Int32Array;
  values: Uint8Array;
}

export function decodeTable(counts: Uint8Array, values: Uint8Array): HuffTable {
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

/** libjpeg's jpeg_gen_optimal_table: code lengths ≤ 16, no all-ones code. Returns DHT counts and values. */
export function optimalTable(freqIn: Int32Array): { counts: Uint8Array; values: Uint8Array } {
  const freq = Array.from(freqIn);
  freq[256] = 1; // reserve one code point
  const codesize = new Array(257).fill(0);
  const others = new Array(257).fill(-1);
  for (;;) {
    let c1 = -1;
    let v = 1e18;
    for (let i = 0; i <= 256; i++)
      if (freq[i]! && freq[i]! <= v) {
        v = freq[i]!;
        c1 = i;
      }
    let c2 = -1;
    v = 1e18;
    for (let i = 0; i <= 256; i++)
      if (freq[i]! && freq[i]! <= v && i !== c1) {
        v = freq[i]!;
        c2 = i;
      }
    if (c2 < 0) break;
    freq[c1] = freq[c1]! + freq[c2]!;
    freq[c2] = 0;
    codesize[c1]++;
    while (others[c1] >= 0) {
      c1 = others[c1];
      codesize[c1]++;
    }
    others[c1] = c2;
    codesize[c2]++;
    while (others[c2] >= 0) {
      c2 = others[c2];
      codesize[c2]++;
    }
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

export function codesOf(t: { counts: Uint8Array; values: Uint8Array }): { code: Int32Array; size: Int8Array } {
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

export function dhtSegment(
  dc: ({ counts: Uint8Array; values: Uint8Array } | undefined)[],
  ac: ({ counts: Uint8Array; values: Uint8Array } | undefined)[],
): Uint8Array {
  const body: number[] = [];
  for (const [id, t] of dc.entries()) if (t) body.push(0x00 | id, ...t.counts, ...t.values);
  for (const [id, t] of ac.entries()) if (t) body.push(0x10 | id, ...t.counts, ...t.values);
  return jpegSegment(JpegMarker.DHT, Uint8Array.from(body));
}

export class BitWriter {
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
