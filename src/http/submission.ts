import { ApiError } from '../errors';
import { parsePublicUrl } from './public-url';
import { type CompressOptions, compressOptionsSchema } from '../schemas/options';
import { fileTooLarge, readLimited } from './body';

export type Source = { kind: 'bytes'; bytes: Uint8Array; name: string } | { kind: 'url'; url: string };

export interface Submission {
  source: Source;
  options: CompressOptions;
}

const SOURCE_FIELDS = ['file', 'url', 'data'] as const;
/** Room for multipart boundaries and option fields around the file itself. */
const FORM_OVERHEAD_BYTES = 1024 * 1024;

/**
 * Turns any of the accepted request shapes into one source and validated options:
 * multipart `file`, JSON `url` or `data` (base64), or a raw image body. Options come from
 * the query string and, for forms and JSON, from the body's other fields.
 */
export async function readSubmission(request: Request, maxBytes: number): Promise<Submission> {
  const contentType = request.headers.get('content-type')?.toLowerCase() ?? '';
  const query = Object.fromEntries(new URL(request.url).searchParams);
  const declaredLength = Number(request.headers.get('content-length') ?? 0);

  let fields: Record<string, unknown>;
  if (contentType.startsWith('multipart/form-data') || contentType.startsWith('application/x-www-form-urlencoded')) {
    // The header as sent: a multipart boundary is case-sensitive (browsers' have capitals).
    fields = await readForm(request, request.headers.get('content-type')!, maxBytes + FORM_OVERHEAD_BYTES, maxBytes);
  } else if (!isRawBody(contentType)) {
    fields = await readJson(request, Math.ceil((maxBytes * 4) / 3) + FORM_OVERHEAD_BYTES, maxBytes);
  } else {
    if (declaredLength > maxBytes) throw fileTooLarge(maxBytes)();
    const bytes = await readLimited(request.body, maxBytes, fileTooLarge(maxBytes));
    fields = bytes.byteLength ? { file: { bytes, name: '' } } : {};
  }

  const present = SOURCE_FIELDS.filter((name) => fields[name] !== undefined && fields[name] !== '');
  if (present.length === 0) {
    throw new ApiError(
      'missing_source',
      'Send an image: a multipart "file" field, a JSON "url" or "data" field, or the image itself as the body',
    );
  }
  if (present.length > 1) {
    throw new ApiError('invalid_param', `Send exactly one source; got ${present.join(' and ')}`, { param: present[1] });
  }

  const optionFields = Object.fromEntries(Object.entries(fields).filter(([name]) => !(SOURCE_FIELDS as readonly string[]).includes(name)));
  const options = parseOptions({ ...query, ...optionFields });
  return { source: toSource(present[0]!, fields[present[0]!], maxBytes), options };
}

export function parseOptions(fields: Record<string, unknown>, paramPrefix = ''): CompressOptions {
  const parsed = compressOptionsSchema.safeParse(fields);
  if (!parsed.success) throw ApiError.fromZod(parsed.error, paramPrefix);
  return parsed.data;
}

/** Neither a form nor JSON: the body is the image itself. */
export function isRawBody(contentType: string): boolean {
  return !/^(multipart\/form-data|application\/x-www-form-urlencoded|application\/([\w.+-]+\+)?json)/.test(contentType.toLowerCase());
}

async function readForm(
  request: Request,
  contentType: string,
  maxBodyBytes: number,
  maxFileBytes: number,
): Promise<Record<string, unknown>> {
  if (Number(request.headers.get('content-length') ?? 0) > maxBodyBytes) throw fileTooLarge(maxFileBytes, 'file')();
  const body = await readLimited(request.body, maxBodyBytes, fileTooLarge(maxFileBytes, 'file'));
  let form: FormData;
  try {
    form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
  } catch {
    throw new ApiError('invalid_param', 'The form body could not be parsed', { param: 'body' });
  }
  const fields: Record<string, unknown> = {};
  for (const [name, value] of form.entries()) {
    if (name in fields) throw new ApiError('invalid_param', `The field "${name}" was sent more than once`, { param: name });
    if (typeof value === 'string') {
      fields[name] = value;
    } else if (name === 'file') {
      if (value.size > maxFileBytes) throw fileTooLarge(maxFileBytes, 'file')();
      fields[name] = { bytes: new Uint8Array(await value.arrayBuffer()), name: value.name };
    } else {
      throw new ApiError('invalid_param', `Only the "file" field may carry a file; "${name}" did`, { param: name });
    }
  }
  return fields;
}

export async function readJson(request: Request, maxBodyBytes: number, maxFileBytes: number): Promise<Record<string, unknown>> {
  const text = new TextDecoder().decode(await readLimited(request.body, maxBodyBytes, fileTooLarge(maxFileBytes)));
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new ApiError('invalid_json', `The body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError('invalid_json', 'The JSON body must be an object');
  }
  return body as Record<string, unknown>;
}

function toSource(field: (typeof SOURCE_FIELDS)[number], value: unknown, maxBytes: number): Source {
  if (field === 'file') {
    // A text part, a form-encoded value or a JSON string named "file" carries no file.
    if (!(value instanceof Object && (value as { bytes?: unknown }).bytes instanceof Uint8Array)) {
      throw new ApiError(
        'invalid_param',
        'file must be an uploaded file (a multipart file part); send base64 as "data" or a link as "url"',
        { param: 'file' },
      );
    }
    return { kind: 'bytes', ...(value as { bytes: Uint8Array; name: string }) };
  }
  if (typeof value !== 'string') throw new ApiError('invalid_param', `${field} must be a string`, { param: field });
  if (field === 'url') {
    // Checked here, not only when fetched: a job would otherwise accept the URL and fail later.
    parsePublicUrl(value);
    return { kind: 'url', url: value };
  }
  const bytes = decodeBase64(value);
  if (bytes.byteLength > maxBytes) throw fileTooLarge(maxBytes, 'data')();
  return { kind: 'bytes', bytes, name: '' };
}

/** Accepts plain or URL-safe base64, with or without a `data:` URI prefix and line breaks. */
export function decodeBase64(text: string, param = 'data'): Uint8Array {
  const payload = text
    .replace(/^data:[^,]*;base64,/i, '')
    .replace(/\s+/g, '')
    .replace(/-/g, '+')
    .replace(/_/g, '/');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(payload) || payload.length % 4 === 1) {
    throw new ApiError('invalid_param', `${param} is not valid base64`, { param });
  }
  const binary = atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, '='));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
