/**
 * The two PNG decoders side by side in Node: squoosh_png (the small-image path) and the
 * streaming decoder (src/codecs/png-stream-decoder.ts).
 *
 *   node --import ./scripts/resolve-ts.mjs scripts/png-decoders.ts compare <png>...
 *   node --expose-gc --import ./scripts/resolve-ts.mjs scripts/png-decoders.ts measure <png> [--runs 5]
 *
 * `compare` decodes each file with both and says whether the pixels are the same bytes, or
 * which decoder refused it. `measure` reports each decoder's peak memory and time, each in a
 * process of its own: squoosh_png's is its instance's memory (which only grows; Node does not
 * count it among ArrayBuffers), the streaming decoder's the peak growth of ArrayBuffer memory.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { decodePngInFreshInstance } from '../src/codecs/png-decoder.ts';
import { decodePngStreaming } from '../src/codecs/png-stream-decoder.ts';
import type { RawImage } from '../src/codecs/types.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { runs: { type: 'string', default: '5' }, decoder: { type: 'string' } },
});
const [command, ...files] = positionals;
const pngWasm = new WebAssembly.Module(
  readFileSync(new URL('../node_modules/@jsquash/png/codec/pkg/squoosh_png_bg.wasm', import.meta.url)),
);
const MiB = 1024 * 1024;

const squoosh = async (bytes: Uint8Array) => decodePngInFreshInstance(bytes, pngWasm);
const decoders = { squoosh, stream: decodePngStreaming };

const bytesOf = ({ data }: RawImage) => Buffer.from(data.buffer, data.byteOffset, data.byteLength);

async function attempt(decode: (bytes: Uint8Array) => Promise<RawImage | null>, bytes: Uint8Array) {
  try {
    const image = await decode(bytes);
    return image ? { image } : { unhandled: true };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

async function compare() {
  const tally: Record<string, number> = {};
  for (const file of files) {
    const bytes = new Uint8Array(readFileSync(file));
    const [ours, theirs] = [await attempt(decodePngStreaming, bytes), await attempt(squoosh, bytes)];
    let verdict: string;
    if ('unhandled' in ours) verdict = 'left to squoosh_png';
    else if ('error' in ours) verdict = 'error' in theirs ? 'both refuse' : `only ours refuses: ${ours.error}`;
    else if (!theirs.image) verdict = `only squoosh_png refuses: ${theirs.error}`;
    else verdict = Buffer.compare(bytesOf(ours.image), bytesOf(theirs.image)) ? 'DIFFERENT' : 'identical';
    tally[verdict.split(':')[0]!] = (tally[verdict.split(':')[0]!] ?? 0) + 1;
    console.log(`${basename(file).padEnd(16)} ${verdict}${'error' in ours ? ` (${ours.error})` : ''}`);
  }
  console.log(tally);
  if (tally.DIFFERENT) process.exitCode = 1;
}

/**
 * Peak growth of ArrayBuffer memory and RSS while `run` runs, sampled every event-loop turn.
 * With `collect`, garbage is collected every few samples, so the peak is what is still referenced:
 * Node's DecompressionStream hands out every chunk in a new buffer (workerd's reads into one).
 */
async function peakDuring<T>(run: () => Promise<T>, collect: boolean) {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  gc();
  const base = process.memoryUsage();
  const peak = { ...base };
  let samples = 0;
  let sampling = true;
  const sample = () => {
    if (collect && ++samples % 8 === 0) gc();
    const now = process.memoryUsage();
    peak.arrayBuffers = Math.max(peak.arrayBuffers, now.arrayBuffers);
    peak.rss = Math.max(peak.rss, now.rss);
    if (sampling) setImmediate(sample);
  };
  sample();
  const result = await run();
  sampling = false;
  sample();
  return { result, arrayBuffersMiB: (peak.arrayBuffers - base.arrayBuffers) / MiB, rssMiB: (peak.rss - base.rss) / MiB };
}

/** One decoder on one file, in this process: peak memory of a first run, then of one with garbage collected, then times. */
async function measureOne(name: keyof typeof decoders, file: string) {
  const bytes = new Uint8Array(readFileSync(file));
  const first = await peakDuring(() => decoders[name](bytes), false);
  if (!first.result) throw new Error(`${name} left the file to the other decoder`);
  const { width, height, data } = first.result;
  const wasmMemoryMiB = name === 'squoosh' ? data.buffer.byteLength / MiB : undefined;
  first.result = null;
  const collected = await peakDuring(() => decoders[name](bytes), true);
  collected.result = null;
  const times: number[] = [];
  for (let run = 0; run < Number(values.runs); run++) {
    (globalThis as { gc?: () => void }).gc?.();
    const started = performance.now();
    await decoders[name](bytes);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 10) / 10;
  console.log(
    JSON.stringify({
      decoder: name,
      megapixels: (width * height) / 1e6,
      outputMiB: round((width * height * 4) / MiB),
      wasmMemoryMiB,
      arrayBuffersPeakMiB: round(first.arrayBuffersMiB),
      arrayBuffersPeakCollectedMiB: round(collected.arrayBuffersMiB),
      rssPeakMiB: round(first.rssMiB),
      medianMs: round(times[times.length >> 1]!),
      minMs: round(times[0]!),
    }),
  );
}

if (command === 'compare') await compare();
else if (command === 'measure' && values.decoder) await measureOne(values.decoder as keyof typeof decoders, files[0]!);
else if (command === 'measure') {
  for (const decoder of Object.keys(decoders)) {
    const args = [...process.execArgv, process.argv[1]!, 'measure', files[0]!, '--decoder', decoder, '--runs', values.runs];
    process.stdout.write(execFileSync(process.execPath, args));
  }
} else {
  console.error('usage: png-decoders.ts compare <png>... | measure <png> [--runs N]');
  process.exitCode = 2;
}
