/**
 * The lowest setting in `low..high` whose attempt `meets`, on the assumption that meeting is
 * monotonic in the setting; `high`'s attempt when none does. Bisection, unless `next` names a
 * better place to look (it is asked after each attempt, and ignored outside what is still
 * open); `enough` may stop the search at an attempt that meets and is close enough. At most
 * `attempts` are made: the lowest that met so far is the answer, and when none has met by the
 * last, the last is `high`, so the answer is always the best the search knows.
 */
export async function lowestMeeting<T>(
  low: number,
  high: number,
  attemptAt: (setting: number) => Promise<T>,
  meets: (attempt: T) => boolean,
  guide: {
    first?: number;
    next?: (attempt: T, setting: number) => number | undefined;
    enough?: (attempt: T) => boolean;
    attempts?: number;
  } = {},
): Promise<T> {
  let failed = low - 1; // highest setting known to fail
  let passed = high + 1; // lowest setting known to meet
  let best: T | undefined;
  let atHigh: T | undefined;
  let setting = guide.first ?? Math.floor((low + high) / 2);
  const most = guide.attempts ?? Number.POSITIVE_INFINITY;
  for (let made = 0; passed - failed > 1 && made < most; made++) {
    if (made === most - 1 && best === undefined) setting = high;
    const attempt = await attemptAt(setting);
    if (setting === high) atHigh = attempt;
    if (meets(attempt)) {
      best = attempt;
      passed = setting;
      if (guide.enough?.(attempt)) break;
    } else {
      failed = setting;
    }
    const suggested = guide.next?.(attempt, setting);
    const open = suggested !== undefined && suggested > failed && suggested < passed;
    setting = open ? suggested : Math.floor((failed + passed) / 2);
  }
  return best ?? atHigh ?? attemptAt(high);
}
