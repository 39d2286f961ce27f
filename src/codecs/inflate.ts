/**
 * zlib data inflated by the runtime's DecompressionStream (its zlib state lives outside the JS
 * heap), the output handed over as it comes and never gathered.
 *
 * workerd's DecompressionStream has no backpressure: a write inflates all its input at once
 * into a buffer that grows until it is read, so one write of a flat image's data could buffer
 * tens of MiB. So writes are small, sized by how far the last one expanded, and each waits
 * until the reader has drained what it made. Node's stream waits for its reader by itself.
 */

/** What one write may produce, aimed for from the last write's expansion. */
const WRITE_OUTPUT_BYTES = 1024 * 1024;
/** Bounds on a write; the first is the smallest, its expansion unknown. */
const MIN_WRITE_BYTES = 1024;
const MAX_WRITE_BYTES = 8 * 1024;
const READ_BYTES = 64 * 1024;

/**
 * Inflates `pieces` (one zlib stream, split anywhere) and calls `take` with each piece of
 * output, which is valid only during the call. Rejects for data that is not a complete zlib
 * stream with a matching checksum, or when `take` throws (then with its error).
 */
export async function inflate(pieces: readonly Uint8Array[], take: (chunk: Uint8Array) => void): Promise<void> {
  const stream = new DecompressionStream('deflate');
  const writer = stream.writable.getWriter();
  const reader = chunkReader(stream.readable);
  let received = 0;
  const writing = (async () => {
    const next = slicer(pieces);
    let size = MIN_WRITE_BYTES;
    for (let slice = next(size); slice; slice = next(size)) {
      const before = received;
      const drained = reader.drained();
      await writer.write(slice as Uint8Array<ArrayBuffer>);
      await drained;
      const expansion = (received - before) / slice.length;
      size = Math.max(MIN_WRITE_BYTES, Math.min(MAX_WRITE_BYTES, Math.floor(WRITE_OUTPUT_BYTES / expansion)));
    }
    await writer.close();
  })();
  // A failed write fails the read too, which is where the error is reported.
  writing.catch(() => {});
  const inflateError = (error: unknown): never => {
    throw new Error(`the image data does not inflate: ${reasonOf(error)}`, { cause: error });
  };
  try {
    for (let chunk: Uint8Array | undefined; (chunk = await reader.next().catch(inflateError)); ) {
      received += chunk.length;
      take(chunk);
    }
    await writing.catch(inflateError);
  } catch (error) {
    reader.cancel(); // ends the writer too, if it still waits
    throw error;
  }
}

/** Node's stream errors have an empty message, with zlib's reason in their cause. */
const reasonOf = (error: unknown): string =>
  error instanceof Error ? error.message || reasonOf(error.cause) || error.name : String(error ?? '');

/** Consecutive slices of `size` bytes across the pieces: views where a piece holds one, else a copy. */
function slicer(pieces: readonly Uint8Array[]) {
  let piece = 0;
  let at = 0;
  return (size: number): Uint8Array | undefined => {
    const current = pieces[piece];
    if (!current) return undefined;
    if (current.length - at >= size) {
      const slice = current.subarray(at, at + size);
      at += size;
      if (at === current.length) [piece, at] = [piece + 1, 0];
      return slice;
    }
    const slice = new Uint8Array(size);
    let filled = 0;
    for (let source = pieces[piece]; source && filled < size; source = pieces[piece]) {
      const n = Math.min(size - filled, source.length - at);
      slice.set(source.subarray(at, at + n), filled);
      filled += n;
      at += n;
      if (at === source.length) [piece, at] = [piece + 1, 0];
    }
    return filled ? slice.subarray(0, filled) : undefined;
  };
}

/**
 * The stream's output, read into one reused buffer where the runtime allows it (workerd does):
 * otherwise every chunk is a new ArrayBuffer, and the image's worth of them would wait for
 * garbage collection. `drained()` resolves once the output buffered so far has been read: at a
 * read that got less than it asked for, or when nothing else is left to run (the last write
 * made no output, or exactly a whole number of reads).
 */
function chunkReader(readable: ReadableStream<Uint8Array>) {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = readable.getReader({ mode: 'byob' });
  } catch {} // not a byte stream (Node's)
  const reader = byob ?? readable.getReader();
  let buffer = new ArrayBuffer(READ_BYTES);
  let onDrained: (() => void) | undefined;
  return {
    async next(): Promise<Uint8Array | undefined> {
      if (!byob) return (await (reader as ReadableStreamDefaultReader<Uint8Array>).read()).value;
      const { done, value } = await byob.read(new Uint8Array(buffer));
      if (done || !value) return undefined;
      buffer = value.buffer as ArrayBuffer; // the read moved it into `value`
      if (value.length < READ_BYTES) onDrained?.();
      return value;
    },
    async drained(): Promise<void> {
      if (!byob) return;
      let timer: ReturnType<typeof setTimeout> | undefined;
      // A zero timeout fires only once the event loop has nothing else to run.
      await Promise.race([
        new Promise<void>((resolve) => (onDrained = resolve)),
        new Promise((resolve) => (timer = setTimeout(resolve, 0))),
      ]);
      clearTimeout(timer);
    },
    cancel: () => reader.cancel().catch(() => {}),
  };
}
