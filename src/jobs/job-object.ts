import { DurableObject } from 'cloudflare:workers';
import {
  type JobResult,
  type JobState,
  type NewJob,
  type Transition,
  type WebhookAttempt,
  type WebhookDelivery,
  TERMINAL,
  cancel,
  claim,
  createJob,
  fail,
  markEnqueued,
  nextAlarm,
  owesSomething,
  recordDelivery,
  release,
  remove,
  reportProgress,
  succeed,
} from './state';
import type { ErrorCode } from '../errors';
import { accountStub, batchStub } from './access';
import type { JobMessage, WebhookMessage } from './messages';
import { StoredRecord } from './stored-record';

/** How long a run may go without reporting progress before another run may take the job over. */
export const LEASE_MS = 120_000;

/**
 * One Durable Object per job: it owns the job's state, applies the transitions of
 * `state.ts` one at a time, and carries out their consequences (deleting files, queuing
 * webhooks, telling the batch). The alarm recovers runs that died and expires outputs.
 */
export class JobObject extends DurableObject<Env> {
  private readonly job = new StoredRecord<JobState>(this.ctx, 'job');

  async create(init: NewJob): Promise<JobState> {
    if (this.job.value) return this.job.value; // creating twice (a retried request) is harmless
    return this.save(createJob(init, Date.now()));
  }

  /** Records a compression that its request already did (`finishedInRequest`); its alarm expires the output. */
  async createFinished(job: JobState): Promise<JobState> {
    if (this.job.value) return this.job.value;
    return this.save(job);
  }

  async get(): Promise<JobState | null> {
    return this.job.value ?? null;
  }

  async claim(): Promise<Transition> {
    return this.apply((job) => claim(job, Date.now(), LEASE_MS, crypto.randomUUID()));
  }

  async progress(token: string, progress: number): Promise<Transition> {
    return this.apply((job) => reportProgress(job, token, progress, Date.now(), LEASE_MS));
  }

  async succeed(token: string, result: JobResult): Promise<Transition> {
    return this.apply((job) => succeed(job, token, result, Date.now()));
  }

  async fail(token: string | undefined, error: { code: ErrorCode; message: string }): Promise<Transition> {
    return this.apply((job) => fail(job, token, error, Date.now()));
  }

  async release(token: string, error: string): Promise<Transition> {
    return this.apply((job) => release(job, token, error));
  }

  /** DELETE: cancels an unfinished job, or removes a finished job's files; either way its files go at once. */
  async delete(): Promise<Transition> {
    const job = this.requireJob();
    const result = TERMINAL.has(job.status) ? ({ ok: true, state: remove(job, 'deleted') } as const) : cancel(job, Date.now());
    if (!result.ok) return result;
    await this.save(result.state);
    await this.deleteFiles(result.state);
    return { ok: true, state: this.job.value! };
  }

  async recordDelivery(deliveryId: string, attempt: WebhookAttempt, outcome: WebhookDelivery['state']): Promise<JobState> {
    return this.save(recordDelivery(this.requireJob(), deliveryId, attempt, outcome));
  }

  /**
   * The alarm is set (by `nextAlarm`) for the earliest thing due, so when it fires it does
   * that thing: recover a run whose lease lapsed, re-send what a transition owes, expire
   * the files, or wipe the tombstone.
   */
  async alarm(): Promise<void> {
    const job = this.job.value;
    if (!job) return;
    if (job.status === 'processing' && job.lease) {
      // The run that held the job died without a word: put it back on the queue.
      await this.save(release(job, job.lease.token, 'the previous run stopped reporting progress').state);
      await this.env.JOB_QUEUE.send({ jobId: job.id } satisfies JobMessage);
    } else if (owesSomething(job)) {
      await this.afterTransition();
    } else if (TERMINAL.has(job.status) && !job.removed) {
      await this.save(remove(job, 'expired'));
      await this.deleteFiles(job);
    } else if (job.removed) {
      await this.ctx.storage.deleteAll();
      this.job.value = undefined;
    }
  }

  private requireJob(): JobState {
    if (!this.job.value) throw new Error('no such job');
    return this.job.value;
  }

  private async apply(transition: (job: JobState) => Transition): Promise<Transition> {
    const before = this.requireJob();
    const result = transition(before);
    if (!result.ok) return result;
    await this.save(result.state);
    if (TERMINAL.has(result.state.status) && !TERMINAL.has(before.status)) {
      // The input was only needed to compress; a canceled job also loses any output.
      if (result.state.status === 'canceled') await this.deleteFiles(result.state);
      else await this.env.FILES.delete(inputKeys(result.state));
    }
    await this.afterTransition();
    return { ok: true, state: this.job.value! };
  }

  /** Sends what a transition owes the outside world; each step is recorded, so a failed one is retried by the alarm. */
  private async afterTransition(): Promise<void> {
    let job = this.requireJob();
    const unsent = job.deliveries.filter((d) => !d.enqueued);
    if (unsent.length) {
      await this.env.WEBHOOK_QUEUE.sendBatch(
        unsent.map((d) => ({ body: { kind: 'job', id: job.id, deliveryId: d.id } satisfies WebhookMessage })),
      );
      job = await this.save(
        markEnqueued(
          job,
          unsent.map((d) => d.id),
        ),
      );
    }
    if (TERMINAL.has(job.status) && !job.accountNotified) {
      const succeeded = job.status === 'succeeded';
      await accountStub(this.env, job.accountId).jobEnded(job.id, {
        succeeded,
        bytesIn: job.input?.size ?? 0,
        bytesOut: job.output?.size ?? 0,
      });
      job = await this.save({ ...job, accountNotified: true });
    }
    if (job.batchId && TERMINAL.has(job.status) && !job.batchNotified) {
      await batchStub(this.env, job.batchId).itemEnded(job.id, job.status);
      await this.save({ ...job, batchNotified: true });
    }
  }

  private async deleteFiles(job: JobState): Promise<void> {
    await this.env.FILES.delete([...inputKeys(job), ...(job.outputKey ? [job.outputKey] : [])]);
  }

  private async save(job: JobState): Promise<JobState> {
    await this.job.put(job);
    const at = nextAlarm(job, Date.now());
    if (at === undefined) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(at);
    return job;
  }
}

const inputKeys = (job: JobState) => (job.source.kind === 'staged' ? [job.source.key] : []);
