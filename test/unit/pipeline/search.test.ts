import { describe, expect, it } from 'vitest';
import { lowestMeeting } from '../../../src/pipeline/search';

/** Settings 1..100 that meet from `threshold` up; records what was tried. */
function meetingFrom(threshold: number) {
  const tried: number[] = [];
  const attemptAt = async (setting: number) => {
    tried.push(setting);
    return { setting, meets: setting >= threshold };
  };
  return { tried, attemptAt, meets: (a: { meets: boolean }) => a.meets };
}

describe('lowestMeeting', () => {
  it('bisects to the lowest setting that meets', async () => {
    for (const threshold of [1, 2, 37, 99, 100]) {
      const { tried, attemptAt, meets } = meetingFrom(threshold);
      expect((await lowestMeeting(1, 100, attemptAt, meets)).setting).toBe(threshold);
      expect(tried.length).toBeLessThanOrEqual(7);
    }
  });

  it('returns the top attempt when nothing meets, tried once', async () => {
    const { tried, attemptAt, meets } = meetingFrom(101);
    const found = await lowestMeeting(1, 100, attemptAt, meets);
    expect(found).toEqual({ setting: 100, meets: false });
    expect(tried.filter((s) => s === 100)).toHaveLength(1);
  });

  it('follows a good guide in fewer attempts, and survives a bad one', async () => {
    const guided = meetingFrom(63);
    const found = await lowestMeeting(1, 100, guided.attemptAt, guided.meets, {
      first: 60,
      next: (_, setting) => (setting === 60 ? 63 : 62),
    });
    expect(found.setting).toBe(63);
    expect(guided.tried).toEqual([60, 63, 62]);
    // A guide pointing at settings already decided, or outside the range, is ignored.
    const misled = meetingFrom(63);
    expect((await lowestMeeting(1, 100, misled.attemptAt, misled.meets, { first: 60, next: () => 500 })).setting).toBe(63);
    expect(new Set(misled.tried).size).toBe(misled.tried.length);
  });

  it('stops early at an attempt that is close enough', async () => {
    const { tried, attemptAt, meets } = meetingFrom(40);
    const found = await lowestMeeting(1, 100, attemptAt, meets, { first: 45, enough: (a) => a.setting <= 45 });
    expect(found.setting).toBe(45);
    expect(tried).toEqual([45]);
  });

  it('makes at most `attempts`, the lowest that met being the answer', async () => {
    const { tried, attemptAt, meets } = meetingFrom(37);
    const found = await lowestMeeting(1, 100, attemptAt, meets, { attempts: 3 });
    expect(tried).toEqual([50, 25, 37]);
    expect(found.setting).toBe(37);
    const stopped = meetingFrom(36);
    expect((await lowestMeeting(1, 100, stopped.attemptAt, stopped.meets, { attempts: 3 })).setting).toBe(37);
    expect(stopped.tried).toHaveLength(3);
  });

  it('makes its last attempt at the top when none has met by then', async () => {
    const { tried, attemptAt, meets } = meetingFrom(90);
    const found = await lowestMeeting(1, 100, attemptAt, meets, { first: 10, next: (_, setting) => setting + 10, attempts: 3 });
    expect(tried).toEqual([10, 20, 100]);
    expect(found).toEqual({ setting: 100, meets: true });
  });
});
