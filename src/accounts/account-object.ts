import { DurableObject } from 'cloudflare:workers';
import { type MonthUsage, emptyUsage } from './usage';

interface ActiveJob {
  month: string;
  since: number;
  estimatedSeconds: number;
}

interface Reservation {
  month: string;
  /** After this the compression is taken to have died with its isolate, and is given back. */
  until: number;
}

interface AccountState {
  /** Queued and running jobs: the exact count the concurrency limit needs. */
  active: Record<string, ActiveJob>;
  /** Sync compressions admitted and not yet ended. */
  reserved?: Record<string, Reservation>;
  months: Record<string, MonthUsage>;
}

/**
 * How long a sync compression may hold its place in the quota. A request that outlives it
 * (it cannot: the sync path takes seconds) or dies with its isolate (memory or CPU limit,
 * restart, eviction) without saying it ended is given back, so it is not charged.
 */
export const RESERVATION_LEASE_MS = 10 * 60 * 1000;

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
  async admitJobs(
    jobs: { id: string; estimatedSeconds: number }[],
    month: string,
    limits: { concurrent: number; monthly: number },
  ): Promise<Admission> {
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

  /** A sync compression: reserve one from the quota before the work, on a lease (`RESERVATION_LEASE_MS`). */
  async admitCompression(month: string, monthly: number, leaseMs = RESERVATION_LEASE_MS): Promise<Admission & { reservation?: string }> {
    const now = Date.now();
    this.releaseLapsed(now);
    const quota = this.checkQuota(month, 1, monthly, now);
    if (!quota.ok) return quota;
    const reservation = crypto.randomUUID();
    (this.state.reserved ??= {})[reservation] = { month, until: now + leaseMs };
    this.usage(month).compressions++;
    await this.save();
    await this.scheduleRelease();
    return { ok: true, reservation };
  }

  /** Idempotent, and a no-op for a reservation already given back when its lease lapsed. */
  async compressionEnded(reservation: string, outcome: Outcome): Promise<void> {
    const reserved = this.state.reserved?.[reservation];
    if (!reserved) return;
    delete this.state.reserved![reservation];
    this.settle(reserved.month, outcome);
    await this.save();
  }

  async report(month: string): Promise<{ usage: MonthUsage; activeJobs: number }> {
    if (this.releaseLapsed(Date.now())) await this.save();
    return { usage: { ...(this.state.months[month] ?? emptyUsage()) }, activeJobs: Object.keys(this.state.active).length };
  }

  /** Gives back reservations whose compressions never said they ended. */
  override async alarm(): Promise<void> {
    if (this.releaseLapsed(Date.now())) await this.save();
    await this.scheduleRelease();
  }

  private releaseLapsed(now: number): boolean {
    let released = false;
    for (const [id, reserved] of Object.entries(this.state.reserved ?? {})) {
      if (reserved.until > now) continue;
      delete this.state.reserved![id];
      this.settle(reserved.month, { succeeded: false, bytesIn: 0, bytesOut: 0 });
      released = true;
    }
    return released;
  }

  private async scheduleRelease(): Promise<void> {
    const next = Math.min(...Object.values(this.state.reserved ?? {}).map((reserved) => reserved.until));
    if (Number.isFinite(next)) await this.ctx.storage.setAlarm(next);
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
