import type { CompressResult } from '../pipeline/compress';
import { savingsPercent } from '../pipeline/description';
import { METRIC } from '../pipeline/smart';
import type { CompressOptions, ImageFormat } from '../schemas/options';
import type { JobState } from '../jobs/state';
import type { CompressAnswer } from '../schemas/responses';
import { contentDisposition, signedFileUrl } from '../storage/files';

/** The modern formats an `Accept` header admits (q=0 excluded), for `format=auto`. */
export function acceptedFormats(accept: string | undefined): ImageFormat[] {
  const admitted = (accept ?? '')
    .toLowerCase()
    .split(',')
    .map((part) => part.trim().split(';'))
    .filter(([, ...params]) => !params.some((p) => /^\s*q\s*=\s*0(\.0*)?\s*$/.test(p)))
    .map(([type]) => type!.trim());
  return (['avif', 'webp'] as const).filter((format) => admitted.includes(`image/${format}`));
}

export function responseKind(options: Pick<CompressOptions, 'response'>, accept: string | undefined): 'binary' | 'json' | 'base64' {
  return options.response ?? (accept?.toLowerCase().includes('application/json') ? 'json' : 'binary');
}

/**
 * Builds the sync answer in the form the request asked for: the image itself, JSON with a
 * signed link, or JSON with base64. `job` is the succeeded job recorded for the request.
 */
export async function compressAnswer(
  job: JobState,
  result: CompressResult,
  options: Pick<CompressOptions, 'response' | 'target_size' | 'format'>,
  accept: string | undefined,
  signingSecret: string | undefined,
): Promise<Response> {
  const input = job.input!;
  const output = job.output!;
  const kind = responseKind(options, accept);
  const savings = savingsPercent(input.size, output.size);

  if (kind === 'binary') {
    const headers = new Headers({
      'Content-Type': output.mime,
      'Content-Disposition': contentDisposition(output.name),
      'X-Original-Size': String(input.size),
      'X-Compressed-Size': String(output.size),
      'X-Savings-Percent': String(savings),
      'X-Format': output.format,
      'X-Width': String(output.width),
      'X-Height': String(output.height),
      'X-Job-Id': job.id,
      'X-Compressed': String(result.compressed),
    });
    if (output.quality !== undefined) headers.set('X-Quality', String(output.quality));
    if (output.colors !== undefined) headers.set('X-Colors', String(output.colors));
    if (result.output.score !== undefined) headers.set('X-Score', `${METRIC}=${result.output.score.toFixed(2)}`);
    if (output.target_met !== undefined) headers.set('X-Target-Met', String(output.target_met));
    if (options.format === 'auto') headers.set('Vary', 'Accept');
    return new Response(result.bytes, { status: 200, headers });
  }

  const expiresAt = new Date(job.expiresAt);
  const body: CompressAnswer = {
    success: true,
    id: job.id,
    status: 'succeeded',
    compressed: result.compressed,
    ...(kind === 'json'
      ? { url: await signedFileUrl(signingSecret, job.origin, job.id, output.name, expiresAt) }
      : { data: bytesToBase64(result.bytes) }),
    expires_at: expiresAt.toISOString(),
    input,
    output,
    savings_percent: savings,
    // The pipeline judges every target_size result, so `target_met` is set whenever one was asked for.
    ...(options.target_size !== undefined ? { target: { size: options.target_size, met: output.target_met! } } : {}),
  };
  // The JSON form too depends on Accept: it picks JSON over the image, and, with
  // format=auto, the output format.
  return Response.json(body, { status: 200, headers: { Vary: 'Accept' } });
}

function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  return btoa(binary);
}
