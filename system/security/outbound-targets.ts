/**
 * Which outgoing HTTP targets the server may POST to on a user's behalf (webhook and Slack deliveries), so that a
 * subscription cannot make the server reach its own loopback, the private network, cloud metadata or internal
 * services (SSRF). Two checks: the URL when a subscription is saved (scheme, credentials, obviously internal host
 * names and IP literals), and every resolved address when a delivery connects (the real guard: DNS can change after
 * the subscription was saved). Ranges are matched with node:net's BlockList; IPv4-mapped IPv6 forms are covered.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/** What the operator allows (NOTIFICATION_ALLOW_PRIVATE_TARGETS). */
export interface OutboundTargetPolicy {
  /**
   * Loopback, private (RFC 1918), carrier-grade NAT and unique-local targets, `localhost` names, and `http:` URLs.
   * Link-local (cloud metadata), multicast, unspecified and reserved addresses stay refused even then.
   */
  allowPrivateTargets: boolean;
}

/** The default: only public https targets. */
export const STRICT_TARGETS: OutboundTargetPolicy = { allowPrivateTargets: false };

/** Why an address is refused: its range, and whether the operator's setting can allow it. */
export interface BlockedAddress {
  kind: string;
  /** True: refused whatever the policy (no receiver lives there; cloud metadata does). */
  always: boolean;
}

type Range = readonly [network: string, prefix: number, kind: string, always: boolean];

const IPV4_RANGES: readonly Range[] = [
  ['0.0.0.0', 8, 'unspecified', true],
  ['10.0.0.0', 8, 'private network', false],
  ['100.64.0.0', 10, 'carrier-grade NAT', false],
  ['127.0.0.0', 8, 'loopback', false],
  ['169.254.0.0', 16, 'link-local', true],
  ['172.16.0.0', 12, 'private network', false],
  ['192.168.0.0', 16, 'private network', false],
  ['224.0.0.0', 4, 'multicast', true],
  ['240.0.0.0', 4, 'reserved', true],
];

const IPV6_RANGES: readonly Range[] = [
  ['::', 128, 'unspecified', true],
  ['::1', 128, 'loopback', false],
  ['fe80::', 10, 'link-local', true],
  ['fc00::', 7, 'unique-local', false],
  ['ff00::', 8, 'multicast', true],
  // The IPv4-mapped form of each IPv4 range (`::ffff:10.0.0.5`), spelled out rather than left to BlockList.
  ...IPV4_RANGES.map(([net, prefix, kind, always]): Range => [`::ffff:${net}`, 96 + prefix, kind, always]),
];

/** One BlockList per (kind, always), so a match can say which range it was. */
const LISTS: ReadonlyArray<BlockedAddress & { list: BlockList }> = (() => {
  const byKey = new Map<string, BlockedAddress & { list: BlockList }>();
  const add = ([net, prefix, kind, always]: Range, family: 'ipv4' | 'ipv6') => {
    const key = `${kind}:${always}`;
    let entry = byKey.get(key);
    if (!entry) byKey.set(key, (entry = { kind, always, list: new BlockList() }));
    entry.list.addSubnet(net, prefix, family);
  };
  for (const r of IPV4_RANGES) add(r, 'ipv4');
  for (const r of IPV6_RANGES) add(r, 'ipv6');
  return [...byKey.values()];
})();

/**
 * The blocked range an IP address falls in, or null for a public address (or a string that is not an IP address).
 * IPv6 addresses that carry an IPv4 address a gateway would reach (NAT64's 64:ff9b::/96, 6to4's 2002::/16) are
 * judged by that IPv4 address.
 */
export function classifyAddress(address: string): BlockedAddress | null {
  const version = isIP(address);
  if (version === 0) return null;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  for (const { kind, always, list } of LISTS) if (list.check(address, family)) return { kind, always };
  if (version === 4) return null;
  const carried = carriedIpv4(ipv6Groups(address));
  if (!carried) return null;
  const inner = classifyAddress(carried.address);
  return inner && { kind: `${inner.kind}, through ${carried.via}`, always: inner.always };
}

/** The eight 16-bit groups of an IPv6 address (one isIP accepts; a zone index is dropped). */
export function ipv6Groups(address: string): number[] {
  let text = address.replace(/%.*$/, '');
  const tail: number[] = [];
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    tail.push((a << 8) | b, (c << 8) | d);
    text = text.slice(0, dotted.index);
    if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1);
  }
  const groups = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const [head, rest] = text.split('::') as [string, string | undefined];
  const left = groups(head);
  if (rest === undefined) return [...left, ...tail];
  const right = groups(rest);
  return [...left, ...new Array<number>(8 - left.length - right.length - tail.length).fill(0), ...right, ...tail];
}

/** The IPv4 address an IPv6 address carries for NAT64 (64:ff9b::/96) or 6to4 (2002::/16), if it is one of those. */
function carriedIpv4(g: number[]): { address: string; via: string } | null {
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return { address: v4(g[6]!, g[7]!), via: 'NAT64' };
  if (g[0] === 0x2002) return { address: v4(g[1]!, g[2]!), via: '6to4' };
  return null;
}

/** Whether the policy refuses this address; the range's name when it does. */
export function refusedKind(address: string, policy: OutboundTargetPolicy): string | null {
  const blocked = classifyAddress(address);
  if (!blocked) return null;
  return blocked.always || !policy.allowPrivateTargets ? blocked.kind : null;
}

/** A delivery target the policy refuses: never retried. */
export class TargetRefusedError extends Error {
  override name = 'TargetRefusedError';
}

/** The refusal of one address, as recorded on the notification. */
export function addressRefusal(address: string, kind: string): TargetRefusedError {
  return new TargetRefusedError(`target address ${address} is not allowed (${kind})`);
}

/** The host of a URL as a resolver or connect() takes it: IPv6 literals without brackets, no trailing dot. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
}

/** Why a URL may not be saved as a delivery target (`slack`: Slack incoming webhooks), or null when it may. */
export function targetUrlProblem(value: string, policy: OutboundTargetPolicy, opts: { slack?: boolean } = {}): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL';
  }
  const httpAllowed = policy.allowPrivateTargets;
  if (url.protocol !== 'https:' && !(httpAllowed && url.protocol === 'http:')) {
    if (opts.slack) return 'Slack incoming webhooks must be https URLs';
    return httpAllowed ? 'must be an http(s) URL' : 'must be an https URL';
  }
  if (url.username !== '' || url.password !== '') return 'must not contain a user name or password';
  const host = hostOf(url);
  if (isIP(host) !== 0) {
    const kind = refusedKind(host, policy);
    return kind ? `target address ${host} is not allowed (${kind})` : null;
  }
  if ((host === 'localhost' || host.endsWith('.localhost')) && !policy.allowPrivateTargets) return `host ${host} is this server, not allowed`;
  return null;
}

/** Resolves a host name to all its addresses; the production one is the system resolver (getaddrinfo). */
export type Resolver = (hostname: string, family: number) => Promise<LookupAddress[]>;

/** The system resolver, as dns.lookup with `all`. */
export const systemResolver: Resolver = (hostname, family) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, family, order: 'verbatim' }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
  });

/**
 * A `lookup` for net/http/https connections that refuses the host when any address it resolves to is refused by
 * the policy, and otherwise hands exactly the checked addresses to the socket, so the connection goes to an address
 * that was checked (no second resolution for a rebinding DNS server to answer differently).
 */
export function guardedLookup(policy: OutboundTargetPolicy, resolver: Resolver = systemResolver): LookupFunction {
  return (hostname, options, callback) => {
    const family = typeof options.family === 'number' ? options.family : options.family === 'IPv6' ? 6 : options.family === 'IPv4' ? 4 : 0;
    resolver(hostname, family).then(
      (addresses) => {
        for (const { address } of addresses) {
          const kind = refusedKind(address, policy);
          if (kind) return callback(addressRefusal(address, kind), '', 0);
        }
        const first = addresses[0];
        if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
        if (options.all) return callback(null, addresses);
        return callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}
