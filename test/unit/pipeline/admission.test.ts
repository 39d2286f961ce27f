import { describe, expect, it } from 'vitest';
import { admit } from '../../../src/pipeline/admission';
import { reservationMiB } from '../../../src/compression';
import type { Inspection, PipelineOptions } from '../../../src/pipeline/compress';
import type { InputKind } from '../../../src/pipeline/admission';
import { type ImageFormat, compressOptionsSchema } from '../../../src/schemas/options';

const PRO = { maxPixels: 40e6 };
const FREE = { maxPixels: 8e6 };

/** A header's facts and a request, as literal as the tables below read. */
function planOf(input: [ImageFormat, number, number, InputKind?], asked: Record<string, unknown>, output?: [number, number]) {
  const [format, width, height, inputKind] = input;
  const options = compressOptionsSchema.parse(asked) as PipelineOptions;
  const plan = {
    input: { format, width, height, size: 0 },
    orientation: 1,
    inputKind,
    outputFormat: options.format === 'auto' ? format : options.format,
    outputSize: output ? { width: output[0], height: output[1] } : { width, height },
    ...(output ? { resize: { size: { width: output[0], height: output[1] } } } : {}),
  } as Inspection;
  return { plan, options };
}

function verdict(
  input: [ImageFormat, number, number, InputKind?],
  asked: Record<string, unknown>,
  limits = PRO,
  output?: [number, number],
) {
  const { plan, options } = planOf(input, asked, output);
  const answer = admit(plan, options, limits);
  return answer.verdict === 'no' ? `no: ${answer.error.message}` : answer.verdict;
}

describe('memory admission, from the header alone', () => {
  it.each([
    ['a 12 MP photo to JPEG', verdict(['jpeg', 4000, 3000], { format: 'jpeg' }), 'yes'],
    ['a 12 MP PNG kept PNG', verdict(['png', 4000, 3000], {}), 'yes'],
    [
      'a 16 MP photo to JPEG',
      verdict(['jpeg', 4600, 3500], { format: 'jpeg' }),
      "no: The input image is 4600×3500 (16.1 MP); the limit is 12.0 MP for jpeg output (what one compression may use of a Worker's memory)",
    ],
    ['a 4 MP photo to AVIF', verdict(['jpeg', 2310, 1732], { format: 'avif' }), 'yes'],
    ['a 12 MP photo to AVIF (grid cells bound the encoder)', verdict(['jpeg', 4000, 3000], { format: 'avif' }), 'yes'],
    [
      'a 13 MP photo to AVIF',
      verdict(['jpeg', 4200, 3100], { format: 'avif' }),
      "no: The input image is 4200×3100 (13.0 MP); the limit is 12.0 MP for avif output (what one compression may use of a Worker's memory)",
    ],
    ['a 3 MP PNG to AVIF, transparent or not', verdict(['png', 2000, 1500], { format: 'avif' }), 'yes'],
    ['a 1 MP PNG to AVIF, transparent or not', verdict(['png', 1000, 1000], { format: 'avif' }), 'yes'],
    ['a 1 MP JPEG to AVIF: a JPEG has no transparency to wait for', verdict(['jpeg', 2000, 1500], { format: 'avif' }), 'yes'],
    [
      'a 4 MP PNG to lossless WebP',
      verdict(['png', 2310, 1732], { format: 'webp', lossless: true }),
      "no: The input image is 2310×1732 (4.0 MP); the limit is 3.4 MP for lossless webp output (what one compression may use of a Worker's memory)",
    ],
    [
      "a 1×70,000 PNG to JPEG (past mozjpeg's longest side)",
      verdict(['png', 1, 70_000], { format: 'jpeg' }),
      'no: The output would be 1×70000; jpeg images can be at most 65500 pixels on a side',
    ],
    [
      'a 10 MP photo on the free plan (its own ceiling binds, not memory)',
      verdict(['jpeg', 3651, 2739], {}, FREE),
      'no: The input image is 3651×2739 (10.0 MP); the limit is 8.0 MP',
    ],
    ['the same photo on the pro plan', verdict(['jpeg', 3651, 2739], {}), 'yes'],
    [
      'a 3 MP AVIF with an alpha plane to JPEG (its decoder holds both planes)',
      verdict(['avif', 2000, 1500, 'avif-alpha'], { format: 'jpeg' }),
      "no: The input image is 2000×1500 (3.0 MP); the limit is 1.5 MP for an AVIF input with an alpha plane (what decoding it may use of a Worker's memory)",
    ],
    [
      'a 9 MP transparent lossy WebP to JPEG (libwebp decodes its alpha channel whole)',
      verdict(['webp', 3464, 2598, 'webp-alpha'], { format: 'jpeg' }),
      "no: The input image is 3464×2598 (9.0 MP); the limit is 7.7 MP for a lossy WebP input with transparency (what decoding it may use of a Worker's memory)",
    ],
    ['a 7 MP transparent lossy WebP to JPEG', verdict(['webp', 3055, 2291, 'webp-alpha'], { format: 'jpeg' }), 'yes'],
    [
      'a 2 MP photo enlarged to 10 MP (a new full-size output beside the source)',
      verdict(['jpeg', 1633, 1225], { format: 'jpeg' }, PRO, [3651, 2739]),
      "no: The output image is 3651×2739 (10.0 MP); the limit is 8.0 MP for an enlarged jpeg output (what one compression may use of a Worker's memory)",
    ],
  ])('%s', (_, answer, expected) => {
    expect(answer).toBe(expected);
  });
});

describe('what the memory gate reserves (MiB)', () => {
  const reserved = (input: [ImageFormat, number, number, InputKind?], asked: Record<string, unknown>, output?: [number, number]) => {
    const { plan, options } = planOf(input, asked, output);
    return reservationMiB(plan, options);
  };

  it.each([
    ['a 12 MP photo to JPEG: the JPEG line', reserved(['jpeg', 4000, 3000], { format: 'jpeg' }), 126.2],
    ['a 1 MP JPEG to AVIF: the AVIF line', reserved(['jpeg', 1000, 1000], { format: 'avif' }), 106.6],
    ['a 1 MP PNG to AVIF: the same line, transparent or not', reserved(['png', 1000, 1000], { format: 'avif' }), 106.6],
    ['a 3 MP PNG to AVIF', reserved(['png', 2000, 1500], { format: 'avif' }), 109.8],
    [
      'a 1.5 MP lossless WebP to lossless WebP: both heavy, with the pair margin',
      reserved(['webp', 1500, 1000, 'webp-lossless'], { format: 'webp', lossless: true }),
      119.3,
    ],
    ['an enlargement: the whole budget', reserved(['png', 400, 300], { format: 'avif', width: 1000 }, [1000, 750]), 128],
  ])('%s', (_, mib, expected) => {
    expect(mib).toBeCloseTo(expected, 5);
  });
});
