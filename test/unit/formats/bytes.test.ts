import { describe, expect, it } from 'vitest';
import {
  ascii,
  asciiBytes,
  concat,
  readUint16BE,
  readUint16LE,
  readUint32BE,
  readUint32LE,
  startsWith,
  writeUint32BE,
  writeUint32LE,
} from '../../../src/formats/bytes';

describe('ascii', () => {
  it('maps each byte to one character, 0x80–0xFF included', () => {
    expect(ascii(Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a))).toBe('\x89PNG\r\n\x1a\n');
    expect(ascii(Uint8Array.of(0x41, 0x42, 0x43, 0x44), 1, 3)).toBe('BC');
    expect(ascii(Uint8Array.of(0x41, 0x42), 1, 10)).toBe('B');
  });

  it('reads a range larger than a call can spread', () => {
    const text = ascii(new Uint8Array(300_000).fill(0x61));
    expect(text.length).toBe(300_000);
    expect(text.startsWith('aaa')).toBe(true);
  });
});

describe('integers', () => {
  const bytes = Uint8Array.of(0x12, 0x34, 0x56, 0x78, 0x9a);

  it('reads big- and little-endian, missing bytes as 0', () => {
    expect(readUint16BE(bytes, 0)).toBe(0x1234);
    expect(readUint16LE(bytes, 0)).toBe(0x3412);
    expect(readUint32BE(bytes, 1)).toBe(0x3456789a);
    expect(readUint32LE(bytes, 1)).toBe(0x9a785634);
    expect(readUint32BE(bytes, 3)).toBe(0x789a0000);
  });

  it('writes what it reads', () => {
    const out = new Uint8Array(8);
    writeUint32BE(out, 0, 0xfedcba98);
    writeUint32LE(out, 4, 0xfedcba98);
    expect(Array.from(out)).toEqual([0xfe, 0xdc, 0xba, 0x98, 0x98, 0xba, 0xdc, 0xfe]);
  });
});

describe('concat, startsWith, asciiBytes', () => {
  it('joins, compares prefixes, encodes', () => {
    expect(concat([Uint8Array.of(1), new Uint8Array(0), Uint8Array.of(2, 3)])).toEqual(Uint8Array.of(1, 2, 3));
    expect(startsWith(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2))).toBe(true);
    expect(startsWith(Uint8Array.of(1), Uint8Array.of(1, 2))).toBe(false);
    expect(asciiBytes('RIFF')).toEqual(Uint8Array.of(0x52, 0x49, 0x46, 0x46));
  });
});
