/**
 * What a codec throws when it fails on an image. Emscripten builds end with an `ExitStatus`
 * (not an Error) or trap with a `WebAssembly.RuntimeError`; either happens again for the same
 * image and settings, so it is permanent. Running out of memory is the exception: it depends
 * on what else the isolate held at the time, so it may pass.
 */
export function isCodecFault(error: unknown): boolean {
  if (isOutOfMemory(error)) return false;
  return error instanceof WebAssembly.RuntimeError || isExitStatus(error);
}

function isExitStatus(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'ExitStatus';
}

function isOutOfMemory(error: unknown): boolean {
  const message = describeFault(error);
  return error instanceof RangeError || /\bOOM\b|out of memory|allocation failed|could not allocate|maximum memory/i.test(message);
}

/** The same image and settings would fail the same way, so the message does not invite a retry. */
export const codecFaultMessage = (error: unknown) =>
  `The encoder or decoder failed on this image (${describeFault(error)}); trying again with the same image and options will fail the same way`;

/** A line for logs and job records, whatever was thrown (never "[object Object]"). */
export function describeFault(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === 'object' && error !== null) {
    const { name, message, status } = error as { name?: unknown; message?: unknown; status?: unknown };
    if (typeof message === 'string' && message) return message;
    if (typeof name === 'string') return status === undefined ? name : `${name} ${String(status)}`;
    try {
      return JSON.stringify(error);
    } catch {
      return Object.prototype.toString.call(error);
    }
  }
  return String(error);
}
