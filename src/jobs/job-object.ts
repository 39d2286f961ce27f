import { DurableObject } from 'cloudflare:workers';

/** One Durable Object per async job: its state machine, timestamps and deliveries. */
export class JobObject extends DurableObject<Env> {}
