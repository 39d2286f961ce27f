/**
 * The job state machine, as plain functions of (state, now) → new state. The Durable Object
 * that owns a job is a thin shell that stores what these return; keeping the rules here
 * makes every transition testable without a runtime or a clock.
 *
 *   queued → processing → succeeded | failed
 *   queued | processing → canceled
 *   processing (lease lapsed) → processing again, by the next claim
 */
import type { ErrorCode } from '../errors';
import type { ImageDescription } from '../schemas/responses';
import type { CompressOptions, ImageFormat } from '../schemas/options';

export type JobStatus = 'queued' | 'processing' | 'succeeded' | 'failed' | 'canceled';
export const TERMINAL: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'canceled']);

export type ImageMeta = ImageDescription;

export type JobSource =
  | { kind: 'staged'; key: string; name: string }
  | { kind: 'url'; url: string }
  /** Compressed within the request that sent it; the input itself is never stored. */
  | { kind: 'request' };

export interface WebhookAttempt {
  at: string;
  status?: number;
  error?: string;
}

export interface WebhookDelivery {
  /** X-Webhook-Id: unique per event, stable across retries. */
  id: string;
  event: 'job.succeeded' | 'job.failed' | 'batch.completed';
  state: 'pending' | 'delivered' | 'failed';
  /** Whether a queue message for it has been sent (it is re-sent if not). */
  enqueued: boolean;
  attempts: WebhookAttempt[];
}

export interface JobState {
  id: string;
  accountId: string;
  batchId?: string;
  clientId?: string;
  /** Origin for signed links in answers produced outside a request (webhooks). */
  origin: string;
  status: JobStatus;
  progress: number;
  createdAt: number;
  startedAt?: number;
  completedAt?: number;
  /** When the job's stored files are deleted; after it, every link gives 410. */
  expiresAt: number;
  ttlSeconds: number;
  source: JobSource;
  options: CompressOptions;
  accept?: ImageFormat[];
  /** The plan's limits when the job was made; the run applies these. */
  limits: { maxPixels: number; maxFileBytes: number };
  estimatedSeconds: number;
  attempts: number;
  lease?: { token: string; until: number };
  input?: ImageMeta;
  output?: ImageMeta;
  outputKey?: string;
  error?: { code: ErrorCode; message: string };
  /** The last transient failure, kept while the job waits for its retry. */
  lastError?: string;
  compressed?: boolean;
  /** Whether the job's batch has been told that it ended (retried by the alarm if not). */
  batchNotified?: boolean;
  /** Whether the account has been told (frees a concurrency slot, settles usage). */
  accountNotified?: boolean;
  webhookUrl?: string;
  webhookSecret?: string;
  deliveries: WebhookDelivery[];
  /** Set once the files are gone: by expiry, or by DELETE of a finished job. */
  removed?: 'expired' | 'deleted';
}

export type Transition<T = JobState> = { ok: true; state: T } | { ok: false; reason: string; state: JobState };

export interface NewJob {
  id: string;
  accountId: string;
  origin: string;
  source: JobSource;
  options: CompressOptions;
  accept?: ImageFormat[];
  limits: { maxPixels: number; maxFileBytes: number };
  ttlSeconds: number;
  estimatedSeconds: number;
  batchId?: string;
  clientId?: string;
  webhookUrl?: string;
  webhookSecret?: string;
}

export function createJob(init: NewJob, now: number): JobState {
  return {
    ...init,
    status: 'queued',
    progress: 0,
    createdAt: now,
    // Provisional: an unfinished job never expires; completion sets the real expiry.
    expiresAt: now + init.ttlSeconds * 1000,
    attempts: 0,
    deliveries: [],
  };
}

/**
 * A compression answered within its request, recorded as a job that has already succeeded,
 * so that its id (`X-Job-Id`, the JSON answer's `id`) answers at /v1/jobs/:id like any job's.
 * The request counted its own usage, and a synchronous answer sends no webhook.
 */
export function finishedInRequest(
  init: Omit<NewJob, 'source' | 'estimatedSeconds'>,
  result: JobResult,
  startedAt: number,
  now: number,
): JobState {
  return {
    ...init,
    source: { kind: 'request' },
    estimatedSeconds: 0,
    status: 'succeeded',
    progress: 100,
    createdAt: startedAt,
    startedAt,
    completedAt: now,
    expiresAt: now + init.ttlSeconds * 1000,
    attempts: 1,
    ...result,
    accountNotified: true,
    deliveries: [],
  };
}

export function claim(state: JobState, now: number, leaseMs: number, token: string): Transition {
  if (state.removed) return { ok: false, reason: 'removed', state };
  if (TERMINAL.has(state.status)) return { ok: false, reason: state.status, state };
  if (state.status === 'processing' && state.lease && state.lease.until > now) return { ok: false, reason: 'leased', state };
  return {
    ok: true,
    state: {
      ...state,
      status: 'processing',
      startedAt: state.startedAt ?? now,
      attempts: state.attempts + 1,
      progress: Math.max(state.progress, 1),
      lease: { token, until: now + leaseMs },
    },
  };
}

const holdsLease = (state: JobState, token: string) => state.status === 'processing' && state.lease?.token === token;

/** Progress is also the lease's heartbeat: a run that reports keeps its claim. */
export function reportProgress(state: JobState, token: string, progress: number, now: number, leaseMs: number): Transition {
  if (!holdsLease(state, token)) return { ok: false, reason: 'lease lost', state };
  return {
    ok: true,
    state: { ...state, progress: Math.max(state.progress, Math.min(99, Math.round(progress))), lease: { token, until: now + leaseMs } },
  };
}

export interface JobResult {
  input: ImageMeta;
  output: ImageMeta;
  outputKey: string;
  compressed: boolean;
}

export function succeed(state: JobState, token: string, result: JobResult, now: number): Transition {
  if (!holdsLease(state, token)) return { ok: false, reason: state.status === 'processing' ? 'lease lost' : state.status, state };
  return {
    ok: true,
    state: withEvent(
      {
        ...state,
        ...result,
        status: 'succeeded',
        progress: 100,
        completedAt: now,
        expiresAt: now + state.ttlSeconds * 1000,
        lease: undefined,
      },
      'job.succeeded',
    ),
  };
}

/** `token` undefined: failed from outside a run (the dead-letter queue), allowed unless already final. */
export function fail(state: JobState, token: string | undefined, error: { code: ErrorCode; message: string }, now: number): Transition {
  if (TERMINAL.has(state.status)) return { ok: false, reason: state.status, state };
  if (token !== undefined && !holdsLease(state, token)) return { ok: false, reason: 'lease lost', state };
  return {
    ok: true,
    state: withEvent(
      { ...state, status: 'failed', error, completedAt: now, expiresAt: now + state.ttlSeconds * 1000, lease: undefined },
      'job.failed',
    ),
  };
}

/** A run that hit a transient error gives its claim back, so the retry need not wait for the lease. */
export function release(state: JobState, token: string, error: string): Transition {
  if (!holdsLease(state, token)) return { ok: false, reason: 'lease lost', state };
  return { ok: true, state: { ...state, status: 'queued', lease: undefined, lastError: error } };
}

export function cancel(state: JobState, now: number): Transition {
  if (state.status !== 'queued' && state.status !== 'processing') return { ok: false, reason: state.status, state };
  return {
    ok: true,
    state: { ...state, status: 'canceled', completedAt: now, expiresAt: now + state.ttlSeconds * 1000, lease: undefined },
  };
}

export function remove(state: JobState, why: 'expired' | 'deleted'): JobState {
  return { ...state, removed: state.removed ?? why };
}

function withEvent(state: JobState, event: WebhookDelivery['event']): JobState {
  if (!state.webhookUrl || state.deliveries.some((d) => d.event === event)) return state;
  return {
    ...state,
    deliveries: [...state.deliveries, { id: `${state.id}.${event}`, event, state: 'pending', enqueued: false, attempts: [] }],
  };
}

/** Records one delivery attempt; jobs and batches both owe deliveries. */
export function recordDelivery<T extends { deliveries: WebhookDelivery[] }>(
  state: T,
  deliveryId: string,
  attempt: WebhookAttempt,
  outcome: WebhookDelivery['state'],
): T {
  return {
    ...state,
    deliveries: state.deliveries.map((d) => (d.id === deliveryId ? { ...d, state: outcome, attempts: [...d.attempts, attempt] } : d)),
  };
}

export function markEnqueued(state: JobState, deliveryIds: string[]): JobState {
  return { ...state, deliveries: state.deliveries.map((d) => (deliveryIds.includes(d.id) ? { ...d, enqueued: true } : d)) };
}

/** How long a removed job's record is kept, so its id answers 410 rather than 404. */
export const TOMBSTONE_MS = 7 * 24 * 3600 * 1000;

/**
 * The one alarm a Durable Object has, set for the earliest thing that must happen: a
 * lapsed lease to recover, a webhook or batch notice to re-send, files to expire, or the
 * tombstone to wipe.
 */
export function nextAlarm(state: JobState, now: number): number | undefined {
  if (state.status === 'processing' && state.lease) return state.lease.until;
  if (!TERMINAL.has(state.status)) return undefined;
  if (owesSomething(state)) return now + 5_000;
  if (!state.removed) return state.expiresAt;
  return state.expiresAt + TOMBSTONE_MS;
}

/** After the job ended: the account not yet told, a webhook not yet queued, or a batch not yet told. */
export function owesSomething(state: JobState): boolean {
  return (
    TERMINAL.has(state.status) &&
    (!state.accountNotified || state.deliveries.some((d) => !d.enqueued) || (state.batchId !== undefined && !state.batchNotified))
  );
}
