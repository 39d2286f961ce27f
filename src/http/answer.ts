import type { CompressResult } from '../pipeline/compress';
import { METRIC } from '../pipeline/smart';
import { MIME_TYPES } from '../pipeline/detect';
import type { CompressOptions, ImageFormat } from '../schemas/options';
import { contentDisposition, storeOutput } from '../storage/files';
import { toHex } from '../hex';

export interface AnswerContext {
  requestId: string;
  accountId: string;
  origin: string;
  accept: string | undefined;
  files: R2Bucket;
  signingSecret: string | undefined;
  ttlSeconds: number;
}

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

/** Output name: the input's base name with the output format as extension (`a.jpg` → `a.jpeg`). */
export function outputName(inputName: string, format: string): string {
  const base = inputName
    .split(/[\\/]/)
    .pop()!
    .replace(/\.[^.]*$/, '')
    .replace(/[\x00-\x1f\x7f"]/g, '')
    .trim()
    .slice(0, 200);
  return `${base || 'image'}.${format}`;
}

export interface ImageDescription {
  name: string;
  format: ImageFormat;
  mime: string;
  size: number;
  width: number;
  height: number;
  sha1: string;
  quality?: number;
  colors?: number;
  score?: { metric: string; value: number };
  target_met?: boolean;
}

/** The contract's `input`/`output` object, shared by sync answers and jobs. */
export async function describeImage(info: CompressResult['output'], name: string, bytes: Uint8Array): Promise<ImageDescription> {
  return {
    name,
    format: info.format,
    mime: MIME_TYPES[info.format],
    size: info.size,
    width: info.width,
    height: info.height,
    sha1: await sha1(bytes),
    ...(info.quality !== undefined ? { quality: info.quality } : {}),
    ...(info.colors !== undefined ? { colors: info.colors } : {}),
    ...(info.score !== undefined ? { score: { metric: METRIC, value: Math.round(info.score * 100) / 100 } } : {}),
    ...(info.targetMet !== undefined ? { target_met: info.targetMet } : {}),
  };
}

async function sha1(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-1', bytes);
  return toHex(digest);
}

/** Rounded to hundredths; negative when a format change made the file larger. */
export const savingsPercent = (input: number, output: number) => Math.round(((input - output) / input) * 10000) / 100;

export function responseKind(options: Pick<CompressOptions, 'response'>, accept: string | undefined): 'binary' | 'json' | 'base64' {
  return options.response ?? (accept?.toLowerCase().includes('application/json') ? 'json' : 'binary');
}

/** Builds the sync answer in the form the request asked for: the image itself, JSON with a signed link, or JSON with base64. */
export async function compressAnswer(
  ctx: AnswerContext,
  inputBytes: Uint8Array,
  inputName: string,
  options: Pick<CompressOptions, 'response' | 'target_size' | 'format'>,
  result: CompressResult,
): Promise<Response> {
  const name = outputName(inputName, result.output.format);
  const mime = MIME_TYPES[result.output.format];
  const kind = responseKind(options, ctx.accept);

  if (kind === 'binary') {
    const headers = new Headers({
      'Content-Type': mime,
      'Content-Disposition': contentDisposition(name),
      'X-Original-Size': String(result.input.size),
      'X-Compressed-Size': String(result.output.size),
      'X-Savings-Percent': String(savingsPercent(result.input.size, result.output.size)),
      'X-Format': result.output.format,
      'X-Width': String(result.output.width),
      'X-Height': String(result.output.height),
      'X-Job-Id': ctx.requestId,
      'X-Compressed': String(result.compressed),
    });
    if (result.output.quality !== undefined) headers.set('X-Quality', String(result.output.quality));
    if (result.output.colors !== undefined) headers.set('X-Colors', String(result.output.colors));
    if (result.output.score !== undefined) headers.set('X-Score', `${METRIC}=${result.output.score.toFixed(2)}`);
    if (result.output.targetMet !== undefined) headers.set('X-Target-Met', String(result.output.targetMet));
    if (options.format === 'auto') headers.set('Vary', 'Accept');
    return new Response(result.bytes, { status: 200, headers });
  }

  const body: Record<string, unknown> = {
    success: true,
    id: ctx.requestId,
    status: 'succeeded',
    compressed: result.compressed,
  };
  if (kind === 'json') {
    const stored = await storeOutput({
      bucket: ctx.files,
      secret: ctx.signingSecret,
      origin: ctx.origin,
      jobId: ctx.requestId,
      accountId: ctx.accountId,
      name,
      mime,
      bytes: result.bytes,
      ttlSeconds: ctx.ttlSeconds,
    });
    body.url = stored.url;
    body.expires_at = stored.expiresAt.toISOString();
  } else {
    body.data = bytesToBase64(result.bytes);
  }
  body.input = await describeImage(result.input, inputName.split(/[\\/]/).pop() || `image.${result.input.format}`, inputBytes);
  body.output = await describeImage(result.output, name, result.bytes);
  body.savings_percent = savingsPercent(result.input.size, result.output.size);
  if (options.target_size !== undefined) body.target = { size: options.target_size, met: result.output.targetMet };
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
