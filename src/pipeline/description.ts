import { toHex } from '../hex';
import type { ImageDescription } from '../schemas/responses';
import type { CompressResult } from './compress';
import { mimeType } from './image-formats';
import { METRIC } from './smart';

// How a compression's input and output are described to clients, in sync answers and jobs alike.

/** Output name: the input's base name with the output format as extension (`a.jpg` → `a.jpeg`). */
export function outputName(inputName: string, format: string): string {
  const base = inputName
    .split(/[\\/]/)
    .pop()!
    .replace(/\.[^.]*$/, '')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what a file name must not carry
    .replace(/[\x00-\x1f\x7f"]/g, '')
    .trim()
    .slice(0, 200);
  return `${base || 'image'}.${format}`;
}

/** The contract's `input`/`output` object, shared by sync answers and jobs. */
export async function describeImage(info: CompressResult['output'], name: string, bytes: Uint8Array): Promise<ImageDescription> {
  return {
    name,
    format: info.format,
    mime: mimeType(info.format),
    size: info.size,
    width: info.width,
    height: info.height,
    sha1: await sha1(bytes),
    ...(info.quality !== undefined ? { quality: info.quality } : {}),
    ...(info.colors !== undefined ? { colors: info.colors } : {}),
    ...(info.score !== undefined ? { score: { metric: METRIC, value: Math.round(info.score * 100) / 100 } } : {}),
    ...(info.targetMet !== undefined ? { target_met: info.targetMet } : {}),
  };
}

async function sha1(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-1', bytes);
  return toHex(digest);
}

/** Rounded to hundredths; negative when a format change made the file larger. */
export const savingsPercent = (input: number, output: number) => Math.round(((input - output) / input) * 10000) / 100;
