import { ApiError } from '../errors';
import { readLimited } from './body';
import { parsePublicUrl } from './public-url';
import { type HostCheck, NO_HOST_CHECK } from './resolve';

const MAX_REDIRECTS = 5;
const FETCH_TIMEOUT_MS = 15_000;

export interface FetchedImage {
  bytes: Uint8Array;
  /** The last path segment of the final URL, for naming the output. */
  name: string;
}

/**
 * Fetches a user-supplied image URL. Redirects are followed by hand so that every hop is
 * checked again: a public URL must not be able to redirect into a private network.
 */
export async function fetchImage(
  rawUrl: string,
  maxBytes: number,
  checkHost: HostCheck = NO_HOST_CHECK,
  fetcher: typeof fetch = fetch,
): Promise<FetchedImage> {
  let url = parsePublicUrl(rawUrl);
  const signal = AbortSignal.timeout(FETCH_TIMEOUT_MS);
  try {
    for (let hop = 0; ; hop++) {
      await checkHost(url, 'url');
      const response = await fetcher(url.toString(), { redirect: 'manual', signal, headers: { accept: 'image/*' } });
      if (response.status >= 300 && response.status < 400 && response.headers.has('location')) {
        await response.body?.cancel();
        if (hop >= MAX_REDIRECTS)
          throw new ApiError('fetch_failed', `The url redirected more than ${MAX_REDIRECTS} times`, { param: 'url' });
        url = parsePublicUrl(new URL(response.headers.get('location')!, url).toString());
        continue;
      }
      if (!response.ok) {
        await response.body?.cancel();
        const error = new ApiError('fetch_failed', `Fetching the url answered HTTP ${response.status}`, { param: 'url' });
        throw response.status >= 500 || response.status === 429 ? error.markRetryable() : error;
      }
      const declared = Number(response.headers.get('content-length'));
      const tooLarge = () =>
        new ApiError('fetch_failed', `The image at the url is larger than this plan's limit of ${maxBytes} bytes`, { param: 'url' });
      if (declared > maxBytes) {
        await response.body?.cancel();
        throw tooLarge();
      }
      const bytes = await readLimited(response.body, maxBytes, tooLarge);
      if (bytes.byteLength === 0) throw new ApiError('fetch_failed', 'The url answered with an empty body', { param: 'url' });
      return { bytes, name: decodeURIComponent(url.pathname.split('/').pop() ?? '') };
    }
  } catch (error) {
    if (error instanceof ApiError) throw error;
    const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    throw new ApiError(
      'fetch_failed',
      timedOut ? `Fetching the url took longer than ${FETCH_TIMEOUT_MS / 1000} s` : `The url could not be fetched: ${String(error)}`,
      { param: 'url', cause: error },
    ).markRetryable();
  }
}
