import { DurableObject } from 'cloudflare:workers';
import { type MonthUsage, emptyUsage } from './usage';

interface ActiveJob {
  month: string;
  since: number;
  estimatedSeconds: number;
}

interface AccountState {
  /** Queued and running jobs: the exact count the concurrency limit needs. */
  active: Record<string, ActiveJob>;
  months: Record<string, MonthUsage>;
}

export type Admission = { ok: true } | { ok: false; reason: 'concurrency' | 'quota'; retryAfterSeconds: number; message: string };

export interface Outcome {
  succeeded: boolean;
  bytesIn: number;
  bytesOut: number;
}

/**
 * One Durable Object per account. Its calls run one at a time, so "check then add" is exact
 * under any number of parallel submissions, which KV could not promise. A compression is
 * counted against the monthly quota when it is admitted and given back if it does not succeed.
 */
export class AccountObject extends DurableObject<Env> {
  private state: AccountState = { active: {}, months: {} };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      this.state = (await ctx.storage.get<AccountState>('state')) ?? this.state;
    });
  }

  /** Admits jobs (a batch needs one slot per item) if both the concurrency limit and the quota allow all of them. */
  async admitJobs(jobs: { id: string; estimatedSeconds: number }[], month: string, limits: { concurrent: number; monthly: number }): Promise<Admission> {
    const now = Date.now();
    const active = Object.values(this.state.active);
    if (active.length + jobs.length > limits.concurrent) {
      const soonest = Math.min(...active.map((job) => job.since + job.estimatedSeconds * 1000 - now));
      return {
        ok: false,
        reason: 'concurrency',
        retryAfterSeconds: Math.max(1, Math.ceil((Number.isFinite(soonest) ? soonest : 1000) / 1000)),
        message: `${active.length} of this plan's ${limits.concurrent} concurrent jobs are queued or running; ${jobs.length} more do not fit`,
      };
    }
    const quota = this.checkQuota(month, jobs.length, limits.monthly, now);
    if (!quota.ok) return quota;
    for (const job of jobs) this.state.active[job.id] = { month, since: now, estimatedSeconds: job.estimatedSeconds };
    this.usage(month).compressions += jobs.length;
    await this.save();
    return { ok: true };
  }

  /** Idempotent: a job that reports twice counts once. */
  async jobEnded(jobId: string, outcome: Outcome): Promise<void> {
    const job = this.state.active[jobId];
    if (!job) return;
    delete this.state.active[jobId];
    this.settle(job.month, outcome);
    await this.save();
  }

  /** A sync compression: reserve one from the quota before the work. */
  async admitCompression(month: string, monthly: number): Promise<Admission> {
    const quota = this.checkQuota(month, 1, monthly, Date.now());
    if (!quota.ok) return quota;
    this.usage(month).compressions++;
    await this.save();
    return { ok: true };
  }

  async compressionEnded(month: string, outcome: Outcome): Promise<void> {
    this.settle(month, outcome);
    await this.save();
  }

  async report(month: string): Promise<{ usage: MonthUsage; activeJobs: number }> {
    return { usage: { ...(this.state.months[month] ?? emptyUsage()) }, activeJobs: Object.keys(this.state.active).length };
  }

  private checkQuota(month: string, wanted: number, monthly: number, now: number): Admission {
    const used = this.usage(month).compressions;
    if (used + wanted <= monthly) return { ok: true };
    const [year, m] = month.split('-').map(Number) as [number, number];
    return {
      ok: false,
      reason: 'quota',
      retryAfterSeconds: Math.max(1, Math.ceil((Date.UTC(year, m, 1) - now) / 1000)),
      message: `This plan's ${monthly} compressions for ${month} are used (${used})${wanted > 1 ? `; ${wanted} were asked for` : ''}`,
    };
  }

  private settle(month: string, outcome: Outcome): void {
    const usage = this.usage(month);
    if (!outcome.succeeded) {
      usage.compressions = Math.max(0, usage.compressions - 1);
      return;
    }
    usage.bytesIn += outcome.bytesIn;
    usage.bytesOut += outcome.bytesOut;
  }

  private usage(month: string): MonthUsage {
    return (this.state.months[month] ??= emptyUsage());
  }

  private save(): Promise<void> {
    return this.ctx.storage.put('state', this.state);
  }
}
