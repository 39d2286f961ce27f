import { ascii, asciiBytes, concat, readUint32LE, writeUint32LE } from './bytes';

/** A RIFF file's header: "RIFF", the length of what follows, the form type ("WEBP"). */
const HEADER_LENGTH = 12;

export interface RiffChunk {
  fourcc: string;
  data: Uint8Array;
}

/** The form type of a RIFF file ("WEBP"), or undefined for anything else. */
export function riffForm(bytes: Uint8Array): string | undefined {
  return bytes.length >= HEADER_LENGTH && ascii(bytes, 0, 4) === 'RIFF' ? ascii(bytes, 8, 12) : undefined;
}

/** The file length the RIFF header declares (its length field counts from byte 8). */
export const riffDeclaredLength = (bytes: Uint8Array) => readUint32LE(bytes, 4) + 8;

/** A RIFF file's chunks, in order; a truncated last chunk comes as far as it goes. */
export function riffChunks(bytes: Uint8Array): RiffChunk[] {
  const chunks: RiffChunk[] = [];
  for (let position = HEADER_LENGTH; position + 8 <= bytes.length; ) {
    const size = readUint32LE(bytes, position + 4);
    chunks.push({ fourcc: ascii(bytes, position, position + 4), data: bytes.subarray(position + 8, position + 8 + size) });
    position += 8 + size + (size % 2);
  }
  return chunks;
}

/** A RIFF file of `form` holding the chunks in order, each padded to an even length. */
export function riffFile(form: string, chunks: readonly RiffChunk[]): Uint8Array {
  const body = concat(
    chunks.map(({ fourcc, data }) => {
      const chunk = new Uint8Array(8 + data.length + (data.length % 2));
      chunk.set(asciiBytes(fourcc));
      writeUint32LE(chunk, 4, data.length);
      chunk.set(data, 8);
      return chunk;
    }),
  );
  const header = new Uint8Array(HEADER_LENGTH);
  header.set(asciiBytes('RIFF'));
  writeUint32LE(header, 4, 4 + body.length);
  header.set(asciiBytes(form), 8);
  return concat([header, body]);
}
