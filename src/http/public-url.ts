import { ApiError } from '../errors';

/**
 * Accepts only http(s) URLs that name a public host. Literal addresses are checked against
 * the private, loopback, link-local, shared, multicast and metadata ranges; the WHATWG URL
 * parser has already normalised forms like `http://2130706433/` or `http://0x7f.1/` to
 * dotted quads. Host names that resolve to private addresses cannot be checked from a
 * Worker (no DNS API); deployed Workers cannot reach private networks in any case.
 */
export function parsePublicUrl(raw: string, param = 'url'): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ApiError('invalid_url', `${param} is not a valid URL`, param);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ApiError('invalid_url', `${param} must use http or https`, param);
  }
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  if (isPrivateHost(host)) {
    throw new ApiError('invalid_url', `${param} points at a private, loopback, link-local or metadata address`, param);
  }
  return url;
}

/**
 * Webhook targets: https to a public host; in local development `http://localhost` (any
 * port) too, so a receiver on the developer's machine can be watched.
 */
export function parseWebhookUrl(raw: string, allowLocalhost: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ApiError('invalid_param', 'webhook_url is not a valid URL', 'webhook_url');
  }
  const local = url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (local && allowLocalhost) return url;
  if (url.protocol !== 'https:') {
    throw new ApiError('invalid_param', `webhook_url must use https${allowLocalhost ? ' (or http://localhost in development)' : ''}`, 'webhook_url');
  }
  return parsePublicUrl(raw, 'webhook_url');
}

const BLOCKED_SUFFIXES = ['.localhost', '.local', '.internal', '.lan', '.home.arpa', '.intranet'];

function isPrivateHost(host: string): boolean {
  if (host.startsWith('[')) return isPrivateIPv6(host.slice(1, -1));
  const v4 = parseIPv4(host);
  if (v4) return isPrivateIPv4(v4);
  if (host === 'localhost' || !host.includes('.')) return true;
  return BLOCKED_SUFFIXES.some((suffix) => host.endsWith(suffix));
}

function parseIPv4(host: string): number[] | undefined {
  const parts = host.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p))) return undefined;
  const octets = parts.map(Number);
  return octets.every((o) => o <= 255) ? octets : undefined;
}

const PRIVATE_V4: [number[], number][] = [
  [[0, 0, 0, 0], 8],
  [[10, 0, 0, 0], 8],
  [[100, 64, 0, 0], 10],
  [[127, 0, 0, 0], 8],
  [[169, 254, 0, 0], 16],
  [[172, 16, 0, 0], 12],
  [[192, 0, 0, 0], 24],
  [[192, 168, 0, 0], 16],
  [[198, 18, 0, 0], 15],
  [[224, 0, 0, 0], 4],
  [[240, 0, 0, 0], 4],
];

function isPrivateIPv4(octets: number[]): boolean {
  const value = octets.reduce((acc, o) => acc * 256 + o, 0);
  return PRIVATE_V4.some(([base, bits]) => {
    const baseValue = base.reduce((acc, o) => acc * 256 + o, 0);
    const size = 2 ** (32 - bits);
    return value >= baseValue && value < baseValue + size;
  });
}

function isPrivateIPv6(address: string): boolean {
  const a = address.toLowerCase();
  if (a === '::' || a === '::1') return true;
  const mapped = a.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/) ?? a.match(/^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/);
  if (mapped) {
    const octets = mapped.length === 2 ? parseIPv4(mapped[1]!) : hexPairToOctets(mapped[1]!, mapped[2]!);
    return !octets || isPrivateIPv4(octets);
  }
  const first = parseInt(a.split(':')[0] || '0', 16);
  return (
    (first & 0xfe00) === 0xfc00 || // unique local fc00::/7
    (first & 0xffc0) === 0xfe80 || // link-local fe80::/10
    (first & 0xff00) === 0xff00 || // multicast
    a.startsWith('64:ff9b:') || // NAT64 of any IPv4
    a.startsWith('fd00:ec2::') // AWS metadata
  );
}

function hexPairToOctets(high: string, low: string): number[] {
  const h = parseInt(high, 16);
  const l = parseInt(low, 16);
  return [h >> 8, h & 255, l >> 8, l & 255];
}
