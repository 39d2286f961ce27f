import { open, readdir, realpath, stat } from 'node:fs/promises';
import { basename, extname, join, relative, resolve, sep } from 'node:path';

export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'avif';

const EXTENSION_FORMATS: Record<string, ImageFormat> = { '.jpg': 'jpeg', '.jpeg': 'jpeg', '.png': 'png', '.webp': 'webp', '.avif': 'avif' };
const FORMAT_EXTENSION: Record<ImageFormat, string> = { jpeg: '.jpg', png: '.png', webp: '.webp', avif: '.avif' };

export interface PlannedFile {
  /** The file as found, absolute. */
  source: string;
  /** Its path as shown to the user: relative to the folder it was found in, or its name. */
  display: string;
  size: number;
  /** Where the result goes when the server answers in `expectedFormat`. */
  output: string;
  /** `output` without its extension, to place a result whose format differs from the expected one. */
  outputStem: string;
  /** The output format: the one asked for, or with `auto` the input's by content (undefined when its bytes are no known image). */
  expectedFormat?: ImageFormat;
}

/** A plan the CLI refuses to carry out, such as two inputs written to the same place. */
export class PlanError extends Error {}

/** The format of an image from its first bytes, as the server decides it. */
export function sniffFormat(head: Uint8Array): ImageFormat | undefined {
  const ascii = (from: number, to: number) => String.fromCharCode(...head.subarray(from, to));
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (ascii(0, 8) === '\x89PNG\r\n\x1a\n') return 'png';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  if (ascii(4, 8) === 'ftyp') {
    // The major brand, then the compatible ones: an AVIF may declare itself `mif1` first.
    const boxSize = ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
    if (/avi[fs]/.test(ascii(8, Math.min(head.length, boxSize)))) return 'avif';
  }
  return undefined;
}

/** Enough for every signature, and for the compatible brands of an AVIF's `ftyp` box. */
const HEAD_BYTES = 64;

async function readHead(path: string): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buffer = new Uint8Array(HEAD_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, HEAD_BYTES, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** A result's path: the input's stem and, unless its extension already names that format, the format's own extension. */
export function outputPath(outputStem: string, inputExtension: string, format: ImageFormat | undefined): string {
  if (!format) return outputStem + inputExtension;
  return outputStem + (EXTENSION_FORMATS[inputExtension.toLowerCase()] === format ? inputExtension : FORMAT_EXTENSION[format]);
}

/**
 * Every image under the given paths, with where its result goes: a folder's tree is kept under
 * `outDir`, a file named directly lands at its top. Inside folders only images count (by
 * extension, or by content for files without one of those extensions); a file named directly
 * is always sent. Hidden entries and the output folder itself are skipped, so compressing a
 * folder into a subfolder of it twice does not compress the results again.
 */
export async function planFiles(inputs: string[], outDir: string, format: string): Promise<PlannedFile[]> {
  const out = resolve(outDir);
  const outReal = await realpath(out).catch(() => out);
  const found: { source: string; display: string; relativeOut: string; size: number; walked: boolean }[] = [];

  for (const input of inputs) {
    const path = resolve(input);
    const info = await stat(path).catch(() => {
      throw new PlanError(`${input}: no such file or folder`);
    });
    if (info.isDirectory()) {
      for await (const file of walk(path, [out, outReal])) {
        const rel = relative(path, file.path);
        found.push({
          source: file.path,
          display: join(relative(process.cwd(), path) || '.', rel),
          relativeOut: rel,
          size: file.size,
          walked: true,
        });
      }
    } else if (info.isFile()) {
      found.push({ source: path, display: input, relativeOut: basename(path), size: info.size, walked: false });
    } else {
      throw new PlanError(`${input}: neither a file nor a folder`);
    }
  }

  const planned: PlannedFile[] = [];
  const claimed = new Map<string, string>();
  const sources = new Set(found.map((f) => f.source));
  for (const file of found) {
    const extension = extname(file.relativeOut);
    const byName = EXTENSION_FORMATS[extension.toLowerCase()];
    const byContent = sniffFormat(await readHead(file.source));
    if (file.walked && !byName && !byContent) continue;
    const expectedFormat = format === 'auto' ? byContent : (format as ImageFormat);
    const outputStem = join(out, extension ? file.relativeOut.slice(0, -extension.length) : file.relativeOut);
    const output = outputPath(outputStem, extension, expectedFormat);
    const earlier = claimed.get(output);
    if (earlier) throw new PlanError(`${earlier} and ${file.display} would both be written to ${output}`);
    if (sources.has(output)) throw new PlanError(`${file.display} would be written over the input ${output}; choose another --out`);
    claimed.set(output, file.display);
    planned.push({ source: file.source, display: file.display, size: file.size, output, outputStem, expectedFormat });
  }
  return planned;
}

async function* walk(folder: string, skip: string[]): AsyncGenerator<{ path: string; size: number }> {
  const entries = await readdir(folder, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    throw new PlanError(`${folder}: cannot be read (${error.code ?? error.message})`);
  });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = join(folder, entry.name);
    if (entry.isDirectory()) {
      if (skip.some((s) => path === s || path.startsWith(s + sep))) continue;
      yield* walk(path, skip);
    } else if (entry.isFile() || entry.isSymbolicLink()) {
      // Links are followed to files only: a linked folder could loop back on the tree.
      const info = await stat(path).catch(() => undefined);
      if (info?.isFile()) yield { path, size: info.size };
    }
  }
}
