/** Usage is counted per calendar month, UTC. */
export function monthOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

export function monthBounds(month: string): { start: Date; end: Date } {
  const [year, m] = month.split('-').map(Number) as [number, number];
  return { start: new Date(Date.UTC(year, m - 1, 1)), end: new Date(Date.UTC(year, m, 1)) };
}

export interface MonthUsage {
  /** Compressions that succeeded, plus those reserved and still running. */
  compressions: number;
  bytesIn: number;
  bytesOut: number;
}

export const emptyUsage = (): MonthUsage => ({ compressions: 0, bytesIn: 0, bytesOut: 0 });
