import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { wasmCodecs } from '../../src/codecs/wasm';
import { ERRORS, type ErrorCode } from '../../src/errors';
import { AUTH, api, fixtures } from '../helpers';

/** Damaged images of every format, with random options: never a 5xx, always the contract's JSON. */
describe('fuzz: damaged inputs and random options', () => {
  it('answers every case with an image or a contract error, and stays healthy', async () => {
    const smallPhoto = await wasmCodecs.decode('jpeg', fixtures.photoJpeg);
    const webp = await wasmCodecs.encode('webp', smallPhoto, { quality: 60, lossless: false });
    const seeds = [fixtures.photoJpeg, fixtures.alphaPng, fixtures.goldfishPng, webp, fixtures.kimonoAvif];
    const damage = fc.oneof(
      fc.record({
        kind: fc.constant('flip' as const),
        at: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 }),
      }),
      fc.record({ kind: fc.constant('truncate' as const), keepPercent: fc.integer({ min: 1, max: 99 }) }),
    );
    const query = fc.record(
      {
        format: fc.constantFrom('auto', 'jpeg', 'png', 'webp'),
        quality: fc.oneof(fc.constant('smart'), fc.integer({ min: 1, max: 100 }).map(String)),
        mode: fc.constantFrom('size', 'balanced', 'quality'),
        max_width: fc.integer({ min: 1, max: 600 }).map(String),
        strip_metadata: fc.constantFrom('true', 'false'),
      },
      { requiredKeys: [] },
    );
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: seeds.length - 1 }), damage, query, async (seed, change, options) => {
        const bytes = seeds[seed]!.slice();
        if (change.kind === 'flip') for (const [at, xor] of change.at) bytes[at % bytes.length]! ^= xor;
        const body =
          change.kind === 'truncate' ? bytes.subarray(0, Math.max(1, Math.floor((bytes.length * change.keepPercent) / 100))) : bytes;
        const answer = await api(`/v1/compress?${new URLSearchParams(options)}`, {
          method: 'POST',
          headers: { ...AUTH, 'Content-Type': 'application/octet-stream' },
          body,
        });
        const key = answer.ok ? String(answer.status) : `${answer.status}`;
        expect(answer.status, `seed ${seed}, ${JSON.stringify(change)}, ${JSON.stringify(options)}`).toBeLessThan(500);
        if (!answer.ok) {
          const error = ((await answer.json()) as { error: { code: ErrorCode } }).error;
          expect(ERRORS[error.code].status).toBe(answer.status);
          seen.set(`${answer.status} ${error.code}`, (seen.get(`${answer.status} ${error.code}`) ?? 0) + 1);
        } else {
          await answer.arrayBuffer();
          seen.set(key, (seen.get(key) ?? 0) + 1);
        }
      }),
      { numRuns: 150, seed: 20261204 },
    );
    console.log('fuzz outcomes:', Object.fromEntries(seen));
    expect((await api('/v1/health')).status).toBe(200);
  }, 300_000);
});
