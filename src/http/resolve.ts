import { ApiError } from '../errors';
import { isPrivateHost } from './public-url';

/**
 * An optional check of what a host name resolves to, before the Worker connects to it.
 * Workers have no DNS API, so the names are asked of a DNS-over-HTTPS resolver (its JSON
 * form, as Cloudflare's and Google's answer it) named by `RESOLVE_HOSTS_VIA`. It closes the
 * plain case, a public-looking name whose DNS points into a private network; it cannot see a
 * hosts file, and a name that answers differently a moment later (DNS rebinding) slips
 * through, so a self-hosted runtime is best held by its own network rules (docs/reliability.md).
 */
export type HostCheck = (url: URL, param: string) => Promise<void>;

/** No check: on Cloudflare's network a Worker cannot reach private addresses anyway. */
export const NO_HOST_CHECK: HostCheck = async () => {};

const DNS_TYPES = { A: 1, AAAA: 28 } as const;
const RESOLVE_TIMEOUT_MS = 5_000;

export function hostCheckFor(env: Pick<Env, 'RESOLVE_HOSTS_VIA'>, fetcher: typeof fetch = fetch): HostCheck {
  const resolver = env.RESOLVE_HOSTS_VIA?.trim();
  if (!resolver) return NO_HOST_CHECK;
  return async (url, param) => {
    const host = url.hostname.toLowerCase().replace(/\.$/, '');
    if (host.startsWith('[') || /^[\d.]+$/.test(host)) return; // a literal address, already judged by parsePublicUrl
    const addresses = (
      await Promise.all(Object.keys(DNS_TYPES).map((type) => resolve(resolver, host, type as keyof typeof DNS_TYPES, fetcher)))
    ).flat();
    if (addresses.length === 0) throw new ApiError('invalid_url', `${param}'s host ${host} does not resolve`, { param });
    const hidden = addresses.find((address) => isPrivateHost(address.includes(':') ? `[${address}]` : address));
    if (hidden)
      throw new ApiError(
        'invalid_url',
        `${param}'s host ${host} resolves to a private, loopback, link-local or metadata address (${hidden})`,
        { param },
      );
  };
}

async function resolve(resolver: string, name: string, type: keyof typeof DNS_TYPES, fetcher: typeof fetch): Promise<string[]> {
  const query = new URL(resolver);
  query.searchParams.set('name', name);
  query.searchParams.set('type', type);
  let answer: { Status?: number; Answer?: { type: number; data: string }[] };
  try {
    const response = await fetcher(query.toString(), {
      headers: { accept: 'application/dns-json' },
      signal: AbortSignal.timeout(RESOLVE_TIMEOUT_MS),
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    answer = await response.json();
  } catch (error) {
    // Not knowing is not a pass: the URL is refused, and a job may try again later.
    throw new ApiError(
      'fetch_failed',
      `The DNS resolver could not be asked about ${name}: ${error instanceof Error ? error.message : String(error)}`,
      { param: 'url' },
    ).markRetryable();
  }
  return (answer.Answer ?? []).filter((record) => record.type === DNS_TYPES[type]).map((record) => record.data);
}
