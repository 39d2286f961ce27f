import { describe, expect, it } from 'vitest';
import { DEFAULT_SYNC_COMPUTE_SECONDS } from '../../../src/pipeline/cost';
import type { Inspection, PipelineOptions } from '../../../src/pipeline/compress';
import { predictedSeconds } from '../../../src/pipeline/admission';
import { compressOptionsSchema } from '../../../src/schemas/options';
import type { ImageFormat } from '../../../src/schemas/options';

/** An image as its header describes it, and what was asked of it. */
function work(
  input: [ImageFormat, number, number],
  output: { format: ImageFormat; size?: [number, number] },
  asked: Record<string, unknown> = {},
) {
  const [format, width, height] = input;
  const [outWidth, outHeight] = output.size ?? [width, height];
  const plan: Inspection = {
    input: { format, width, height, size: 0 },
    orientation: 1,
    outputFormat: output.format,
    outputSize: { width: outWidth, height: outHeight },
    ...(output.size ? { resize: { size: { width: outWidth, height: outHeight } } } : {}),
  } as Inspection;
  const options = compressOptionsSchema.parse({ format: output.format, ...asked }) as PipelineOptions;
  return predictedSeconds(plan, options);
}

const SYNC = 'answered in the request';
const JOB = 'a job';
const decision = (seconds: number) => (seconds > DEFAULT_SYNC_COMPUTE_SECONDS ? JOB : SYNC);

describe('the cost model decides what is answered in the request', () => {
  // Literal cases: what each shape and request should get at the default budget.
  it.each([
    ['a 0.25 MP photo, smart JPEG', work(['jpeg', 600, 400], { format: 'jpeg' }), SYNC],
    [
      'a 1×1,000,000 PNG kept lossless (rows are cheap once oxipng steps aside)',
      work(['png', 1, 1_000_000], { format: 'png' }, { lossless: true }),
      SYNC,
    ],
    ['a 2 MP photo to AVIF at a fixed quality', work(['jpeg', 1733, 1155], { format: 'avif' }, { quality: 50 }), SYNC],
    [
      'a 12 MP photo resized to 400×300, smart JPEG (the output is what is encoded)',
      work(['jpeg', 4000, 3000], { format: 'jpeg', size: [400, 300] }),
      SYNC,
    ],
    ['a 2 MP photo to smart AVIF', work(['jpeg', 1733, 1155], { format: 'avif' }), SYNC],
    ['a 4 MP photo to smart AVIF', work(['jpeg', 2449, 1633], { format: 'avif' }), JOB],
    ['a 12 MP photo to AVIF at a fixed quality', work(['jpeg', 4000, 3000], { format: 'avif' }, { quality: 50 }), JOB],
    [
      'a 12 MP photo to a WebP of a target size (every trial a full encode)',
      work(['jpeg', 4000, 3000], { format: 'webp' }, { target_size: 500_000 }),
      JOB,
    ],
    ['a 12 MP photo, smart JPEG', work(['jpeg', 4000, 3000], { format: 'jpeg' }), SYNC],
  ])('%s: %s', (_, seconds, expected) => {
    expect(decision(seconds)).toBe(expected);
  });

  it('a row costs time whatever its width: a tall PNG costs more than a wide one of the same pixels', () => {
    expect(work(['png', 20, 50_000], { format: 'png' }, { quality: 80 })).toBeGreaterThan(
      work(['png', 50_000, 20], { format: 'png' }, { quality: 80 }) + 0.3,
    );
  });

  it('a smart search costs trials on a sample: more than one fixed-quality encode, and far less than a target_size search at 12 MP (WebP)', () => {
    const photo: [ImageFormat, number, number] = ['jpeg', 4000, 3000];
    const fixed = work(photo, { format: 'webp' }, { quality: 80 });
    const smart = work(photo, { format: 'webp' });
    expect(smart).toBeGreaterThan(fixed + 1);
    expect(work(photo, { format: 'webp' }, { target_size: 500_000 })).toBeGreaterThan(smart * 2);
  });
});
