/**
 * The AVIF encoder's levers, measured in Node on the same pixels, one encode at a time:
 *
 *   node scripts/bench-avif.ts <image>... [--megapixels 2,12 | --sizes 4000x3000,4619x2598] [--variants name,...] [--runs 1]
 *
 * For each image scaled to each size (sharp, Lanczos; `--sizes` stretches it to exact shapes,
 * since a grid's memory depends on the width of its last column) and each variant (settings below):
 * CPU time of the encode, the encoder's WebAssembly memory after it (a fresh instance per
 * encode, so its peak), output bytes, and SSIMULACRA 2 of the output decoded by sharp against
 * the pixels given (libjxl's `ssimulacra2`, `SSIMULACRA2` to use another path). jSquash's
 * encoder runs as `jsquash` (its Emscripten heap, same measurements); `--wasm <file>` measures
 * another build of ours as `<variant>@other`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { type AvifEncodeSettings, avifEncoderOn } from '../src/codecs/avif/avif-encoder.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    megapixels: { type: 'string', default: '2' },
    /** Exact WxH shapes, in place of --megapixels. */
    sizes: { type: 'string', default: '' },
    variants: { type: 'string', default: 'jsquash,ours' },
    quality: { type: 'string', default: '50' },
    runs: { type: 'string', default: '1' },
    /** Another build of the module to measure (e.g. one without SIMD), as variant `<name>@other`. */
    wasm: { type: 'string', default: '' },
  },
});
if (positionals.length === 0) {
  console.error(
    'usage: node scripts/bench-avif.ts <image>... [--megapixels 2,12 | --sizes WxH,...] [--variants jsquash,ours,...] [--quality 50]',
  );
  process.exit(1);
}
const SSIMULACRA2 = process.env.SSIMULACRA2 ?? '/opt/jxl/bin/ssimulacra2';
const ssim = { tune: 'ssim', 'enable-intrabc': '0' };

/** Settings by name: our encoder's levers. Quality is filled in per run. */
const VARIANTS: Record<string, Omit<AvifEncodeSettings, 'quality'>> = {
  ours: { lossless: false, speed: 6, options: ssim },
  'speed-5': { lossless: false, speed: 5, options: ssim },
  'speed-7': { lossless: false, speed: 7, options: ssim },
  'speed-8': { lossless: false, speed: 8, options: ssim },
  'speed-9': { lossless: false, speed: 9, options: ssim },
  'intrabc-on': { lossless: false, speed: 6, options: { tune: 'ssim' }, cellSize: 1024 },
  'no-palette': { lossless: false, speed: 6, options: { ...ssim, 'enable-palette': '0' } },
  'deltaq-0': { lossless: false, speed: 6, options: { ...ssim, 'deltaq-mode': '0' } },
  'tune-psnr': { lossless: false, speed: 6, options: { 'enable-intrabc': '0' } },
  'grid-1024': { lossless: false, speed: 6, options: ssim, cellSize: 1024 },
  'grid-2048': { lossless: false, speed: 6, options: ssim, cellSize: 2048 },
  'grid-512': { lossless: false, speed: 6, options: ssim, cellSize: 512 },
  'grid-768': { lossless: false, speed: 6, options: ssim, cellSize: 768 },
  'grid-1024-s7': { lossless: false, speed: 7, options: ssim, cellSize: 1024 },
  'grid-1024-s8': { lossless: false, speed: 8, options: ssim, cellSize: 1024 },
  'grid-2048-s7': { lossless: false, speed: 7, options: ssim, cellSize: 2048 },
  'grid-2048-s8': { lossless: false, speed: 8, options: ssim, cellSize: 2048 },
  lossless: { lossless: true, speed: 6 },
};

const module = new WebAssembly.Module(readFileSync(new URL('../src/codecs/avif/avif_enc.wasm', import.meta.url)));
const otherModule = values.wasm ? new WebAssembly.Module(readFileSync(values.wasm)) : undefined;
const folder = mkdtempSync(join(tmpdir(), 'bench-avif-'));

interface Measured {
  bytes: Uint8Array;
  cpuMs: number;
  memoryMiB: number;
}

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

async function jsquash(pixels: Uint8Array, width: number, height: number, quality: number): Promise<Measured> {
  const { default: factory } = await import('@jsquash/avif/codec/enc/avif_enc.js');
  const { defaultOptions } = await import('@jsquash/avif/meta.js');
  const wasm = new WebAssembly.Module(readFileSync(new URL('../node_modules/@jsquash/avif/codec/enc/avif_enc.wasm', import.meta.url)));
  let memory: WebAssembly.Memory | undefined;
  const encoder = await factory({
    noInitialRun: true,
    locateFile: (path: string) => path,
    instantiateWasm(imports: WebAssembly.Imports, receive: (instance: WebAssembly.Instance) => void) {
      const instance = new WebAssembly.Instance(wasm, imports);
      memory = Object.values(instance.exports).find((e) => e instanceof WebAssembly.Memory) as WebAssembly.Memory;
      receive(instance);
      return instance.exports;
    },
  } as never);
  const start = cpuMs();
  const out = encoder.encode(pixels, width, height, { ...defaultOptions, quality, subsample: 1 });
  const elapsed = cpuMs() - start;
  return { bytes: new Uint8Array(out), cpuMs: elapsed, memoryMiB: (memory?.buffer.byteLength ?? 0) / 2 ** 20 };
}

function ours(pixels: Uint8Array, width: number, height: number, settings: AvifEncodeSettings, on = module): Measured {
  const encoder = avifEncoderOn(on);
  const start = cpuMs();
  const bytes = encoder.encode({ data: pixels, width, height }, settings);
  const elapsed = cpuMs() - start;
  return { bytes, cpuMs: elapsed, memoryMiB: encoder.memoryBytes() / 2 ** 20 };
}

async function score(reference: string, avif: Uint8Array): Promise<number> {
  const path = join(folder, 'candidate.png');
  writeFileSync(path, await sharp(avif).png({ compressionLevel: 1 }).toBuffer());
  return Number(execFileSync(SSIMULACRA2, [reference, path], { encoding: 'utf8' }).trim());
}

/** Each size as a function of the source's shape: the same area, or an exact shape. */
const sizes: ((width: number, height: number) => [number, number])[] = values.sizes
  ? values.sizes.split(',').map((size) => {
      const [w, h] = size.split('x').map(Number);
      return () => [w!, h!];
    })
  : values.megapixels.split(',').map((megapixels) => (width: number, height: number) => {
      const scale = Math.sqrt((Number(megapixels) * 1e6) / (width * height));
      return [Math.round(width * scale), Math.round(height * scale)];
    });
const qualities = values.quality.split(',').map(Number);
console.log(['image', 'MP', 'variant', 'q', 'cpu ms', 'memory MiB', 'bytes', 'SSIMULACRA2'].join('\t'));
for (const file of positionals) {
  for (const sizeOf of sizes) {
    const source = sharp(readFileSync(file)).rotate();
    const { width = 0, height = 0 } = await source.metadata();
    const { data, info } = await source
      .resize(...sizeOf(width, height), { kernel: 'lanczos3', fit: 'fill' })
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const pixels = new Uint8Array(data.buffer, data.byteOffset, data.length);
    const reference = join(folder, 'reference.png');
    writeFileSync(
      reference,
      await sharp(pixels, { raw: { width: info.width, height: info.height, channels: 4 } })
        .png({ compressionLevel: 1 })
        .toBuffer(),
    );
    for (const quality of qualities) {
      for (const variant of values.variants.split(',')) {
        for (let run = 0; run < Number(values.runs); run++) {
          const [variantName, build] = variant.split('@');
          const settings = { ...VARIANTS[variantName as string], quality } as AvifEncodeSettings;
          const measured =
            variant === 'jsquash'
              ? await jsquash(pixels, info.width, info.height, quality)
              : ours(pixels, info.width, info.height, settings, build === 'other' && otherModule ? otherModule : module);
          const s2 = await score(reference, measured.bytes);
          const name = file.split('/').pop();
          console.log(
            [
              name,
              ((info.width * info.height) / 1e6).toFixed(2),
              variant,
              quality,
              measured.cpuMs.toFixed(0),
              measured.memoryMiB.toFixed(1),
              measured.bytes.length,
              s2.toFixed(2),
            ].join('\t'),
          );
        }
      }
    }
  }
}
rmSync(folder, { recursive: true, force: true });
