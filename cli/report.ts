import Table from 'cli-table3';

export interface FileResult {
  input: string;
  output?: string;
  status: 'succeeded' | 'failed';
  before: number;
  after?: number;
  saved_percent?: number;
  format?: string;
  compressed?: boolean;
  /** Set when the server answered `202` and the result came from this job. */
  job_id?: string;
  retries: number;
  seconds: number;
  error?: { code: string; message: string; status?: number };
}

export interface Totals {
  files: number;
  succeeded: number;
  failed: number;
  /** Over the files that succeeded. */
  before: number;
  after: number;
  saved_percent: number;
}

export const savedPercent = (before: number, after: number) => (before > 0 ? Math.round(((before - after) / before) * 10000) / 100 : 0);

export function totalsOf(results: FileResult[]): Totals {
  const done = results.filter((r) => r.status === 'succeeded');
  const before = done.reduce((sum, r) => sum + r.before, 0);
  const after = done.reduce((sum, r) => sum + (r.after ?? 0), 0);
  return {
    files: results.length,
    succeeded: done.length,
    failed: results.length - done.length,
    before,
    after,
    saved_percent: savedPercent(before, after),
  };
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** file, before, after, saved %, and a total row over the files that succeeded. */
export function summaryTable(results: FileResult[], color: boolean): string {
  const table = new Table({
    head: ['file', 'before', 'after', 'saved'],
    colAligns: ['left', 'right', 'right', 'right'],
    style: color ? {} : { head: [], border: [] },
    // No rule between rows: a long run stays readable.
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const r of results) {
    if (r.status === 'succeeded') {
      table.push([
        r.input + (r.compressed === false ? ' (kept as is)' : ''),
        formatBytes(r.before),
        formatBytes(r.after!),
        `${r.saved_percent!.toFixed(1)}%`,
      ]);
    } else {
      table.push([r.input, formatBytes(r.before), 'failed', '']);
    }
  }
  const totals = totalsOf(results);
  const label = totals.failed
    ? `total (${totals.succeeded} of ${totals.files} files)`
    : `total (${totals.files} ${totals.files === 1 ? 'file' : 'files'})`;
  table.push([label, formatBytes(totals.before), formatBytes(totals.after), `${totals.saved_percent.toFixed(1)}%`]);
  return table.toString();
}
