import { describe, expect, it } from 'vitest';
import { inflate } from '../../../src/codecs/inflate';

const deflate = async (data: Uint8Array) =>
  new Uint8Array(await new Response(new Blob([data]).stream().pipeThrough(new CompressionStream('deflate'))).arrayBuffer());

/** Inflates and returns the output's length and whether it matched `expected` throughout. */
async function inflated(pieces: Uint8Array[], expected: Uint8Array) {
  let length = 0;
  let matches = true;
  await inflate(pieces, (chunk) => {
    matches &&= chunk.every((value, i) => value === expected[length + i]);
    length += chunk.length;
  });
  return { length, matches };
}

describe('inflate', () => {
  it('gives back the data whatever the pieces it comes in, empty and one-byte ones included', async () => {
    const data = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7) ^ (i >> 9));
    const z = await deflate(data);
    const pieces = [z.subarray(0, 1), new Uint8Array(0), z.subarray(1, 8), z.subarray(8, 5000), z.subarray(5000)];
    expect(await inflated(pieces, data)).toEqual({ length: data.length, matches: true });
    const sevens = Array.from({ length: Math.ceil(z.length / 7) }, (_, i) => z.subarray(i * 7, i * 7 + 7));
    expect(await inflated(sevens, data)).toEqual({ length: data.length, matches: true });
  });

  it('inflates data that expands a thousandfold', async () => {
    const zeros = new Uint8Array(16 * 1024 * 1024);
    const z = await deflate(zeros);
    expect(z.length).toBeLessThan(20_000);
    expect(await inflated([z], zeros)).toEqual({ length: zeros.length, matches: true });
  });

  it('does not stall on writes that inflate to nothing', async () => {
    // A zlib stream of 4,000 empty stored blocks, then one stored block holding `data`.
    const data = Uint8Array.of(5, 6, 7);
    const empty = Uint8Array.of(0, 0, 0, 0xff, 0xff);
    const [a, b] = data.reduce(([a, b], value) => [(a + value) % 65521, (b + a + value) % 65521], [1, 0]);
    const z = Uint8Array.from([
      ...[0x78, 0x01],
      ...Array.from({ length: 4000 }, () => [...empty]).flat(),
      ...[1, 3, 0, 0xfc, 0xff, ...data],
      ...[b! >> 8, b! & 255, a! >> 8, a! & 255],
    ]);
    expect(await inflated([z], data)).toEqual({ length: 3, matches: true });
  });

  it('rejects data that is truncated or not zlib, and passes on what the receiver throws', async () => {
    const z = await deflate(new Uint8Array(100_000).fill(3));
    await expect(inflate([z.subarray(0, z.length - 3)], () => {})).rejects.toThrow(/does not inflate/);
    await expect(inflate([Uint8Array.of(1, 2, 3, 4)], () => {})).rejects.toThrow(/does not inflate/);
    await expect(inflate([new Uint8Array(0)], () => {})).rejects.toThrow(/does not inflate/);
    const refusal = new Error('no more');
    await expect(
      inflate([z], () => {
        throw refusal;
      }),
    ).rejects.toBe(refusal);
  });
});
