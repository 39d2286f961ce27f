import { compressWithinMemory } from '../compression';
import { codecFaultMessage, describeFault, isCodecFault } from '../codecs/faults';
import { ApiError } from '../errors';
import { describeImage, outputName } from '../pipeline/description';
import { fetchImage } from '../http/fetch-image';
import { hostCheckFor } from '../http/resolve';
import { mimeType } from '../pipeline/image-formats';
import { putOutput } from '../storage/files';
import { jobStub } from './access';
import type { JobMessage } from './messages';
import type { JobState } from './state';
import { backoffSeconds } from './webhooks';

/**
 * The compress-jobs queue consumer: the same pipeline as the sync path, driven by the job's
 * Durable Object. Safe to run twice for one message: only the holder of the job's lease may
 * finish it, and the output key is the job's own, so a second run overwrites, never adds.
 */
export async function consumeJobs(batch: MessageBatch<JobMessage>, env: Env): Promise<void> {
  for (const message of batch.messages) await consumeJob(message, env);
}

export async function consumeJob(message: Message<JobMessage>, env: Env): Promise<void> {
  const jobId = message.body?.jobId;
  if (typeof jobId !== 'string') {
    console.error('compress-jobs: dropping a message without a job id', message.id);
    message.ack();
    return;
  }
  const job = jobStub(env, jobId);
  const claimed = await job.claim();
  if (!claimed.ok) {
    if (claimed.reason === 'leased') {
      // Another run holds the job. Look again when its lease would lapse, in case it died.
      message.retry({ delaySeconds: Math.max(1, Math.ceil((claimed.state.lease!.until - Date.now()) / 1000)) });
    } else {
      message.ack(); // finished, canceled or removed: nothing left to do
    }
    return;
  }
  const state = claimed.state;
  const token = state.lease!.token;

  try {
    const input = await loadInput(env, state);
    await job.progress(token, 20);
    const result = await compressWithinMemory(
      input.bytes,
      { ...state.options, accept: state.accept },
      { maxPixels: state.limits.maxPixels },
      async (percent) => {
        await job.progress(token, 20 + percent * 0.7);
      },
    );
    const name = outputName(input.name, result.output.format);
    const key = await putOutput(env.FILES, {
      jobId: state.id,
      accountId: state.accountId,
      name,
      mime: mimeType(result.output.format),
      bytes: result.bytes,
    });
    const done = await job.succeed(token, {
      input: await describeImage(result.input, input.name || `image.${result.input.format}`, input.bytes),
      output: await describeImage(result.output, name, result.bytes),
      outputKey: key,
      compressed: result.compressed,
    });
    // Canceled while running: what was just written must not outlive the job.
    if (!done.ok && done.state.status === 'canceled') await env.FILES.delete(key);
    message.ack();
  } catch (error) {
    if (error instanceof ApiError && !error.retryable && error.code !== 'compression_failed') {
      await job.fail(token, { code: error.code, message: error.message });
      message.ack();
      return;
    }
    if (isCodecFault(error)) {
      console.error(`job ${jobId}: the codec failed; not retried`, error);
      await job.fail(token, { code: 'compression_failed', message: codecFaultMessage(error) });
      message.ack();
      return;
    }
    console.error(`job ${jobId}: attempt ${message.attempts} failed`, error);
    await job.release(token, describeFault(error));
    message.retry({ delaySeconds: backoffSeconds(message.attempts, Number(env.RETRY_BASE_SECONDS)) });
  }
}

/** After the last retry the queue moves the message here: the job is failed for good. */
export async function consumeDeadJobs(batch: MessageBatch<JobMessage>, env: Env): Promise<void> {
  for (const message of batch.messages) {
    const jobId = message.body?.jobId;
    if (typeof jobId === 'string') {
      const job = jobStub(env, jobId);
      const state = await job.get();
      if (state) {
        await job.fail(undefined, {
          code: 'compression_failed',
          message: `Compression failed after ${state.attempts} attempts${state.lastError ? `: ${state.lastError}` : ''}; it is safe to submit again`,
        });
      }
    }
    message.ack();
  }
}

async function loadInput(env: Env, job: JobState): Promise<{ bytes: Uint8Array; name: string }> {
  if (job.source.kind === 'url') return fetchImage(job.source.url, job.limits.maxFileBytes, hostCheckFor(env));
  if (job.source.kind === 'request') throw new Error(`job ${job.id} was compressed within its request and has no input to load`);
  const object = await env.FILES.get(job.source.key);
  if (!object) throw new Error(`the staged input ${job.source.key} is missing`);
  return { bytes: new Uint8Array(await object.arrayBuffer()), name: job.source.name };
}
