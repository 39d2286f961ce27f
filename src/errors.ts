import type { ZodError } from 'zod';
import type { ErrorBody } from './schemas/responses';

/**
 * Every error code of the API contract: the status it is always sent with, and when it is sent
 * in the contract's words (for the OpenAPI document).
 */
export const ERRORS = {
  missing_source: { status: 400, meaning: 'no `file`, `url`, `data` or raw image body' },
  invalid_param: { status: 400, meaning: 'a parameter is malformed, out of range, or two sources were sent' },
  invalid_json: { status: 400, meaning: 'the body claims JSON and is not' },
  invalid_url: { status: 400, meaning: 'not http(s), malformed, or aimed at a private, loopback, link-local or metadata address' },
  unauthorized: { status: 401, meaning: 'missing or unknown API key' },
  forbidden: { status: 403, meaning: 'a signed link whose signature does not verify' },
  not_found: { status: 404, meaning: 'unknown route, job, batch or file, or one that belongs to another key' },
  method_not_allowed: { status: 405, meaning: 'known path, wrong method' },
  gone: { status: 410, meaning: 'the job or file existed and has expired or was deleted' },
  file_too_large: { status: 413, meaning: "input bytes over the plan's limit" },
  image_too_large: { status: 413, meaning: 'pixel count or a dimension over the limit (checked from the header, before decoding)' },
  unsupported_format: { status: 415, meaning: 'input is not a decodable JPEG, PNG, WebP or AVIF (decided by content, not name)' },
  fetch_failed: { status: 422, meaning: 'a `url` could not be fetched (timeout, non-2xx, too large)' },
  invalid_image: { status: 422, meaning: 'the bytes claim a supported format but are corrupt or truncated' },
  not_ready: { status: 422, meaning: 'download asked for before the job succeeded' },
  rate_limit_exceeded: { status: 429, meaning: 'over the per-minute limit, the monthly compressions or the concurrent-jobs limit' },
  compression_failed: { status: 500, meaning: 'an internal fault while compressing; the message says whether a retry can help' },
  internal_error: { status: 500, meaning: 'an internal fault outside compression; safe to retry' },
} as const;

export type ErrorCode = keyof typeof ERRORS;
export type ErrorStatus = (typeof ERRORS)[ErrorCode]['status'];

export interface ParamError {
  param: string;
  message: string;
}

export interface ApiErrorOptions {
  /** The field at fault (the first, when several are). */
  param?: string;
  /** Every field at fault; defaults to `param` alone. */
  errors?: ParamError[];
  headers?: Record<string, string>;
  /** What was thrown underneath, for logs. */
  cause?: unknown;
}

/**
 * The one error type of the API. Thrown anywhere, rendered in one place (`renderError`).
 * An error about fields names the first in `param` and lists every one in `errors`, so a
 * client handles one field and many alike; an error about no field has neither.
 */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: ErrorStatus;
  readonly param?: string;
  readonly errors?: ParamError[];
  readonly headers: Record<string, string>;
  /** For the async path: whether trying again later may succeed (a timeout, an upstream 5xx). */
  retryable = false;

  constructor(code: ErrorCode, message: string, { param, errors, headers = {}, cause }: ApiErrorOptions = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ApiError';
    this.code = code;
    this.param = param;
    this.status = ERRORS[code].status;
    this.headers = headers;
    this.errors = errors?.length ? errors : param !== undefined ? [{ param, message }] : undefined;
  }

  markRetryable(): this {
    this.retryable = true;
    return this;
  }

  /** Every issue of a failed parse, as the fields they are about (`paramPrefix` places nested ones: `items.1.`). */
  static paramErrors(error: ZodError, paramPrefix = ''): ParamError[] {
    return error.issues.flatMap((issue) =>
      // One entry per unknown field, named by its own path.
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => ({ param: paramPrefix + [...issue.path, key].join('.'), message: 'is not a known parameter' }))
        : [{ param: paramPrefix + (issue.path.length ? issue.path.join('.') : 'body'), message: issue.message }],
    );
  }

  /** One `invalid_param` error listing every problem; its message names the field when there is one. */
  static invalidParams(errors: ParamError[]): ApiError {
    const first = errors[0] ?? { param: 'body', message: 'is invalid' };
    const message =
      errors.length === 1
        ? `${first.param}: ${first.message}`
        : `${errors.length} invalid parameters: ${errors.map((e) => e.param).join(', ')}`;
    return new ApiError('invalid_param', message, { param: first.param, errors: errors.length ? errors : [first] });
  }

  static fromZod(error: ZodError, paramPrefix = ''): ApiError {
    return ApiError.invalidParams(ApiError.paramErrors(error, paramPrefix));
  }

  toBody(requestId: string): ErrorBody {
    return {
      success: false,
      id: requestId,
      error: { code: this.code, message: this.message, ...(this.param !== undefined ? { param: this.param } : {}) },
      ...(this.errors ? { errors: this.errors } : {}),
    };
  }
}
