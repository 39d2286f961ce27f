// Builders the document's operations share: schema and header references, the JSON answer,
// and the error answers for a list of codes.

import { ERRORS, type ErrorCode } from '../../errors';

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const header = (name: string) => ({ $ref: `#/components/headers/${name}` });

export const RATE_LIMIT_HEADERS = {
  'X-RateLimit-Limit': header('X-RateLimit-Limit'),
  'X-RateLimit-Remaining': header('X-RateLimit-Remaining'),
  'X-RateLimit-Reset': header('X-RateLimit-Reset'),
};

export interface Access {
  /** Needs a key: rate-limit headers on every answer, 401 and 429 possible. */
  authenticated: boolean;
}

/** Error responses for the given codes, grouped by status, each status's body restricted to its codes. */
export function errorResponses(codes: ErrorCode[], { authenticated }: Access) {
  const all = [...new Set<ErrorCode>([...codes, ...(authenticated ? (['unauthorized', 'rate_limit_exceeded'] as const) : [])])];
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of all) byStatus.set(ERRORS[code].status, [...(byStatus.get(ERRORS[code].status) ?? []), code]);
  return Object.fromEntries(
    [...byStatus].map(([status, statusCodes]) => [
      String(status),
      {
        description: statusCodes.map((code) => `\`${code}\`: ${ERRORS[code].meaning}`).join('; '),
        headers: {
          'X-Request-Id': header('X-Request-Id'),
          ...(authenticated && status !== 401 ? RATE_LIMIT_HEADERS : {}),
          ...(status === 429 ? { 'Retry-After': header('Retry-After') } : {}),
        },
        content: {
          'application/json': {
            schema: {
              allOf: [
                ref('Error'),
                { type: 'object', properties: { error: { type: 'object', properties: { code: { enum: statusCodes } } } } },
              ],
            },
          },
        },
      },
    ]),
  );
}

export function json(description: string, schema: object, headers: Record<string, object>, access: Access) {
  return {
    description,
    headers: { 'X-Request-Id': header('X-Request-Id'), ...(access.authenticated ? RATE_LIMIT_HEADERS : {}), ...headers },
    content: { 'application/json': { schema } },
  };
}

export const AUTHENTICATED: Access = { authenticated: true };
export const PUBLIC: Access = { authenticated: false };
/** Every route answers an internal fault this way; compression has its own code. */
export const INTERNAL: ErrorCode[] = ['internal_error'];
