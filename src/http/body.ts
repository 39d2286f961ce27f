import { ApiError } from '../errors';
import { concat } from '../formats/bytes';

/**
 * Reads a stream whole, refusing as soon as it passes `maxBytes` (a Content-Length header
 * can be absent or wrong, so the count is what decides).
 */
export async function readLimited(
  stream: ReadableStream<Uint8Array> | null,
  maxBytes: number,
  tooLarge: () => ApiError,
): Promise<Uint8Array> {
  if (!stream) return new Uint8Array(0);
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? chunks[0]! : concat(chunks);
}

/** `param`: the field that carried the image (`file`, `data`); none when the image is the body itself. */
export const fileTooLarge = (maxBytes: number, param?: string) => () =>
  new ApiError('file_too_large', `The input is larger than this plan's limit of ${formatBytes(maxBytes)}`, { param });

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${+(bytes / (1024 * 1024)).toFixed(1)} MB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KB`;
  return `${bytes} bytes`;
}
