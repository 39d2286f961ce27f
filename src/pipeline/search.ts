/**
 * Bisection for the lowest setting in `low..high` whose attempt `meets`, on the assumption
 * that meeting is monotonic in the setting; `high`'s attempt when none does.
 */
export async function lowestMeeting<T>(low: number, high: number, attemptAt: (setting: number) => Promise<T>, meets: (attempt: T) => boolean): Promise<T> {
  let best: T | undefined;
  let atHigh: T | undefined;
  const top = high;
  while (low <= high) {
    const middle = Math.floor((low + high) / 2);
    const attempt = await attemptAt(middle);
    if (middle === top) atHigh = attempt;
    if (meets(attempt)) {
      best = attempt;
      high = middle - 1;
    } else {
      low = middle + 1;
    }
  }
  return best ?? atHigh ?? attemptAt(top);
}
