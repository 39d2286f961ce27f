import type { ZodError } from 'zod';

/** Every error code of the API contract, with the status it is always sent with. */
export const ERROR_STATUS = {
  missing_source: 400,
  invalid_param: 400,
  invalid_json: 400,
  invalid_url: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  gone: 410,
  file_too_large: 413,
  image_too_large: 413,
  unsupported_format: 415,
  fetch_failed: 422,
  invalid_image: 422,
  not_ready: 422,
  rate_limit_exceeded: 429,
  compression_failed: 500,
  internal_error: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export type ErrorStatus = (typeof ERROR_STATUS)[ErrorCode];

export interface ParamError {
  param: string;
  message: string;
}

/** The one error type of the API. Thrown anywhere, rendered in one place (`renderError`). */
export class ApiError extends Error {
  readonly status: ErrorStatus;
  readonly headers: Record<string, string>;
  /** For the async path: whether trying again later may succeed (a timeout, an upstream 5xx). */
  retryable = false;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly param?: string,
    readonly errors?: ParamError[],
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = ERROR_STATUS[code];
    this.headers = headers;
  }

  markRetryable(): this {
    this.retryable = true;
    return this;
  }

  static fromZod(error: ZodError, paramPrefix = ''): ApiError {
    const errors = error.issues.map((issue) => ({
      param: paramPrefix + (issue.path.length ? issue.path.join('.') : unrecognizedKey(issue) ?? 'body'),
      message: issue.message,
    }));
    const first = errors[0] ?? { param: 'body', message: 'Invalid request' };
    const message =
      errors.length === 1 ? `${first.param}: ${first.message}` : `${errors.length} invalid parameters: ${errors.map((e) => e.param).join(', ')}`;
    return new ApiError('invalid_param', message, first.param, errors);
  }

  toBody(requestId: string) {
    return {
      success: false as const,
      id: requestId,
      error: { code: this.code, message: this.message, ...(this.param ? { param: this.param } : {}) },
      ...(this.errors?.length ? { errors: this.errors } : {}),
    };
  }
}

function unrecognizedKey(issue: ZodError['issues'][number]): string | undefined {
  return issue.code === 'unrecognized_keys' ? issue.keys.join(',') : undefined;
}
