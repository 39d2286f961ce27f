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
    throw new ApiError('invalid_url', `${param} is not a valid URL`, { param });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ApiError('invalid_url', `${param} must use http or https`, { param });
  }
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  if (isPrivateHost(host)) {
    throw new ApiError('invalid_url', `${param} points at a private, loopback, link-local or metadata address`, { param });
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
    throw new ApiError('invalid_param', 'webhook_url is not a valid URL', { param: 'webhook_url' });
  }
  const local = url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (local && allowLocalhost) return url;
  if (url.protocol !== 'https:') {
    throw new ApiError('invalid_param', `webhook_url must use https${allowLocalhost ? ' (or http://localhost in development)' : ''}`, {
      param: 'webhook_url',
    });
  }
  return parsePublicUrl(raw, 'webhook_url');
}

const BLOCKED_SUFFIXES = ['.localhost', '.local', '.internal', '.lan', '.home.arpa', '.intranet'];

/** Whether a URL's host (a name, a dotted quad or a bracketed IPv6 address) is not a public one. */
export function isPrivateHost(host: string): boolean {
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

/**
 * Any IPv6 address that is not public, or that embeds an IPv4 address that is not: mapped
 * (`::ffff:a.b.c.d`), compatible (`::a.b.c.d`), translated (`::ffff:0:a.b.c.d`), NAT64
 * (`64:ff9b::/96`, `64:ff9b:1::/48`) and 6to4 (`2002::/16`) forms are judged by their IPv4
 * address, whatever way they are written (the URL parser writes `[::127.0.0.1]` as `[::7f00:1]`).
 */
function isPrivateIPv6(address: string): boolean {
  const words = expandIPv6(address.toLowerCase());
  if (!words) return true;
  const embedded = (at: number) => isPrivateIPv4([words[at]! >> 8, words[at]! & 255, words[at + 1]! >> 8, words[at + 1]! & 255]);
  const zeros = (from: number, to: number) => words.slice(from, to).every((w) => w === 0);
  if (zeros(0, 6)) return words[6] === 0 || embedded(6); // ::, ::1 and the compatible form
  if (zeros(0, 5) && words[5] === 0xffff) return embedded(6); // mapped
  if (zeros(0, 4) && words[4] === 0xffff && words[5] === 0) return embedded(6); // translated
  if (words[0] === 0x64 && words[1] === 0xff9b) return words[2] === 1 || embedded(6); // NAT64, local-use NAT64
  if (words[0] === 0x2002) return embedded(1); // 6to4
  const first = words[0]!;
  return (
    (first & 0xfe00) === 0xfc00 || // unique local fc00::/7
    (first & 0xffc0) === 0xfe80 || // link-local fe80::/10
    (first & 0xffc0) === 0xfec0 || // site-local fec0::/10
    (first & 0xff00) === 0xff00 || // multicast
    (first === 0x2001 && words[1]! < 0x200) || // Teredo and other IETF special purposes, 2001::/23
    (first === 0x2001 && words[1] === 0xdb8) || // documentation
    (first === 0x100 && zeros(1, 4)) || // discard 100::/64
    (first === 0xfd00 && words[1] === 0xec2) // AWS metadata (inside fc00::/7 too)
  );
}

/** The eight 16-bit words of an IPv6 address (with `::` and a trailing dotted quad); undefined when malformed. */
function expandIPv6(address: string): number[] | undefined {
  let text = address;
  const quad = text.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (quad) {
    const octets = parseIPv4(quad[1]!);
    if (!octets) return undefined;
    text = `${text.slice(0, -quad[1]!.length)}${((octets[0]! << 8) | octets[1]!).toString(16)}:${((octets[2]! << 8) | octets[3]!).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string) => (part === '' ? [] : part.split(':'));
  const [head, tail] = [parse(halves[0]!), halves.length === 2 ? parse(halves[1]!) : []];
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 2 ? missing < 1 : missing !== 0) || ![...head, ...tail].every((w) => /^[0-9a-f]{1,4}$/.test(w))) return undefined;
  return [...head, ...Array<string>(missing).fill('0'), ...tail].map((w) => parseInt(w, 16));
}
