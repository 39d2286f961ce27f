/** Byte reading shared by the container walkers. Out-of-range bytes read as 0, as a truncated file's missing bytes. */

/** The bytes from `start` up to (not including) `end` as Latin-1 text: one character a byte, for four-character codes and signatures. */
export function ascii(bytes: Uint8Array, start = 0, end = bytes.length): string {
  const range = bytes.subarray(start, end);
  let text = '';
  // In pieces: spreading a whole file's bytes into one call would overflow the stack.
  for (let at = 0; at < range.length; at += 8192) text += String.fromCharCode(...range.subarray(at, at + 8192));
  return text;
}

export function readUint16BE(bytes: Uint8Array, at: number): number {
  return ((bytes[at] ?? 0) << 8) | (bytes[at + 1] ?? 0);
}

export function readUint32BE(bytes: Uint8Array, at: number): number {
  return (((bytes[at] ?? 0) << 24) | ((bytes[at + 1] ?? 0) << 16) | ((bytes[at + 2] ?? 0) << 8) | (bytes[at + 3] ?? 0)) >>> 0;
}

export function readUint16LE(bytes: Uint8Array, at: number): number {
  return (bytes[at] ?? 0) | ((bytes[at + 1] ?? 0) << 8);
}

export function readUint32LE(bytes: Uint8Array, at: number): number {
  return ((bytes[at] ?? 0) | ((bytes[at + 1] ?? 0) << 8) | ((bytes[at + 2] ?? 0) << 16) | ((bytes[at + 3] ?? 0) << 24)) >>> 0;
}

export function writeUint32BE(bytes: Uint8Array, at: number, value: number): void {
  bytes.set([(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff], at);
}

export function writeUint32LE(bytes: Uint8Array, at: number, value: number): void {
  bytes.set([value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff], at);
}

/** The parts one after another in a new array. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** The ASCII text as bytes (four-character codes, signatures). */
export const asciiBytes = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
