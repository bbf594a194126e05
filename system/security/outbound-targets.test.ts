import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { classifyAddress, guardedLookup, ipv6Groups, refusedKind, STRICT_TARGETS, systemResolver, targetUrlProblem, type Resolver } from './outbound-targets.js';

const ON_PREMISE = { allowPrivateTargets: true };

describe('address classification', () => {
  // [address, range it falls in (null: public), refused even when private targets are allowed]
  const table: Array<[string, string | null, boolean]> = [
    ['127.0.0.1', 'loopback', false],
    ['127.255.255.254', 'loopback', false],
    ['10.0.0.5', 'private network', false],
    ['172.16.0.1', 'private network', false],
    ['172.31.255.255', 'private network', false],
    ['192.168.1.10', 'private network', false],
    ['100.64.0.1', 'carrier-grade NAT', false],
    ['100.127.255.255', 'carrier-grade NAT', false],
    ['169.254.169.254', 'link-local', true],
    ['0.0.0.0', 'unspecified', true],
    ['224.0.0.251', 'multicast', true],
    ['239.255.255.250', 'multicast', true],
    ['255.255.255.255', 'reserved', true],
    ['::1', 'loopback', false],
    ['::', 'unspecified', true],
    ['fe80::1', 'link-local', true],
    ['febf:ffff::1', 'link-local', true],
    ['fc00::1', 'unique-local', false],
    ['fd12:3456:789a::1', 'unique-local', false],
    ['ff02::1', 'multicast', true],
    // IPv4-mapped IPv6, dotted and hex spellings
    ['::ffff:127.0.0.1', 'loopback', false],
    ['::ffff:7f00:1', 'loopback', false],
    ['::ffff:10.0.0.5', 'private network', false],
    ['::ffff:a00:5', 'private network', false],
    ['::ffff:100.64.0.1', 'carrier-grade NAT', false],
    ['::ffff:169.254.169.254', 'link-local', true],
    ['::ffff:a9fe:a9fe', 'link-local', true],
    ['::ffff:0.0.0.0', 'unspecified', true],
    // IPv4 carried by NAT64 (64:ff9b::/96) and 6to4 (2002::/16), hex and dotted spellings
    ['64:ff9b::a00:5', 'private network, through NAT64', false],
    ['64:ff9b::10.0.0.5', 'private network, through NAT64', false],
    ['64:ff9b::7f00:1', 'loopback, through NAT64', false],
    ['64:ff9b::a9fe:a9fe', 'link-local, through NAT64', true],
    ['2002:a00:5::1', 'private network, through 6to4', false],
    ['2002:c0a8:101:0:0:0:0:1', 'private network, through 6to4', false],
    ['2002:a9fe:a9fe::', 'link-local, through 6to4', true],
    // public
    ['8.8.8.8', null, false],
    ['93.184.216.34', null, false],
    ['172.15.255.255', null, false],
    ['172.32.0.0', null, false],
    ['100.63.255.255', null, false],
    ['100.128.0.0', null, false],
    ['169.253.255.255', null, false],
    ['11.0.0.1', null, false],
    ['2606:4700:4700::1111', null, false],
    ['fec0::1', null, false],
    ['::ffff:8.8.8.8', null, false],
    ['64:ff9b::808:808', null, false],
    ['64:ff9b::8.8.8.8', null, false],
    ['2002:808:808::1', null, false],
    ['64:ff9b:1::a00:5', null, false],
  ];
  it('reads the groups of every IPv6 spelling', () => {
    expect(ipv6Groups('::')).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(ipv6Groups('::1')).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    expect(ipv6Groups('fe80::1%eth0')).toEqual([0xfe80, 0, 0, 0, 0, 0, 0, 1]);
    expect(ipv6Groups('::ffff:1.2.3.4')).toEqual([0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304]);
    expect(ipv6Groups('64:ff9b::10.0.0.5')).toEqual([0x64, 0xff9b, 0, 0, 0, 0, 0x0a00, 0x0005]);
    expect(ipv6Groups('2002:c0a8:101:0:0:0:0:1')).toEqual([0x2002, 0xc0a8, 0x101, 0, 0, 0, 0, 1]);
    expect(ipv6Groups('1:2:3:4:5:6:7:8')).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(ipv6Groups('1::8')).toEqual([1, 0, 0, 0, 0, 0, 0, 8]);
  });

  it.each(table)('%s → %s', (address, kind, always) => {
    expect(classifyAddress(address)).toEqual(kind === null ? null : { kind, always });
    expect(refusedKind(address, STRICT_TARGETS)).toBe(kind);
    expect(refusedKind(address, ON_PREMISE)).toBe(always ? kind : null);
  });

  it('a string that is not an IP address is not classified', () => {
    expect(classifyAddress('localhost')).toBeNull();
    expect(classifyAddress('10.0.0')).toBeNull();
  });
});

describe('URLs a subscription may save', () => {
  // [url, problem by default, problem with private targets allowed]
  const webhook: Array<[string, string | null, string | null]> = [
    ['https://hooks.example.com/in', null, null],
    ['https://hooks.example.com:8443/in?x=1', null, null],
    ['https://93.184.216.34/in', null, null],
    ['http://hooks.example.com/in', 'must be an https URL', null],
    ['ftp://hooks.example.com/in', 'must be an https URL', 'must be an http(s) URL'],
    ['not a url', 'must be an absolute URL', 'must be an absolute URL'],
    ['https://user:pw@hooks.example.com/in', 'must not contain a user name or password', 'must not contain a user name or password'],
    ['https://token@hooks.example.com/in', 'must not contain a user name or password', 'must not contain a user name or password'],
    ['https://localhost/in', 'host localhost is this server, not allowed', null],
    ['https://LOCALHOST./in', 'host localhost is this server, not allowed', null],
    ['https://api.localhost:9000/in', 'host api.localhost is this server, not allowed', null],
    ['https://127.0.0.1/in', 'target address 127.0.0.1 is not allowed (loopback)', null],
    ['https://2130706433/in', 'target address 127.0.0.1 is not allowed (loopback)', null],
    ['https://0x7f.1/in', 'target address 127.0.0.1 is not allowed (loopback)', null],
    ['https://10.0.0.5:8080/in', 'target address 10.0.0.5 is not allowed (private network)', null],
    ['https://100.64.1.1/in', 'target address 100.64.1.1 is not allowed (carrier-grade NAT)', null],
    ['https://[::1]/in', 'target address ::1 is not allowed (loopback)', null],
    ['https://[fd00::5]/in', 'target address fd00::5 is not allowed (unique-local)', null],
    ['https://[::ffff:192.168.0.1]/in', 'target address ::ffff:c0a8:1 is not allowed (private network)', null],
    ['http://169.254.169.254/latest/meta-data/', 'must be an https URL', 'target address 169.254.169.254 is not allowed (link-local)'],
    ['https://[::ffff:169.254.169.254]/', 'target address ::ffff:a9fe:a9fe is not allowed (link-local)', 'target address ::ffff:a9fe:a9fe is not allowed (link-local)'],
    ['https://[fe80::1]/', 'target address fe80::1 is not allowed (link-local)', 'target address fe80::1 is not allowed (link-local)'],
    ['https://0.0.0.0/', 'target address 0.0.0.0 is not allowed (unspecified)', 'target address 0.0.0.0 is not allowed (unspecified)'],
  ];
  it.each(webhook)('webhook %s', (url, strict, onPremise) => {
    expect(targetUrlProblem(url, STRICT_TARGETS)).toBe(strict);
    expect(targetUrlProblem(url, ON_PREMISE)).toBe(onPremise);
  });

  it('Slack incoming webhooks must be https (http only on premise, for Slack-compatible receivers)', () => {
    expect(targetUrlProblem('https://hooks.slack.com/services/T0/B0/x', STRICT_TARGETS, { slack: true })).toBeNull();
    expect(targetUrlProblem('http://hooks.slack.com/services/T0/B0/x', STRICT_TARGETS, { slack: true })).toBe('Slack incoming webhooks must be https URLs');
    expect(targetUrlProblem('ftp://hooks.slack.com/x', ON_PREMISE, { slack: true })).toBe('Slack incoming webhooks must be https URLs');
    expect(targetUrlProblem('http://10.0.0.7/hooks/abc', ON_PREMISE, { slack: true })).toBeNull();
    expect(targetUrlProblem('https://192.168.0.9/hooks/abc', STRICT_TARGETS, { slack: true })).toBe('target address 192.168.0.9 is not allowed (private network)');
  });
});

/** Calls a LookupFunction the way net.connect does, with or without `all` (happy eyeballs asks for all). */
function lookUp(resolver: Resolver, policy = STRICT_TARGETS, all = false): Promise<{ err: Error | null; address: string | LookupAddress[] }> {
  return new Promise((resolve) => guardedLookup(policy, resolver)('hooks.example.test', { all, family: 0 }, (err, address) => resolve({ err, address })));
}
const answers =
  (...addresses: string[]): Resolver =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('the connection lookup', () => {
  it('hands the checked addresses to the socket when all are public', async () => {
    expect(await lookUp(answers('93.184.216.34', '2606:2800:220:1::1'))).toEqual({ err: null, address: '93.184.216.34' });
    expect((await lookUp(answers('93.184.216.34', '2606:2800:220:1::1'), STRICT_TARGETS, true)).address).toEqual([
      { address: '93.184.216.34', family: 4 },
      { address: '2606:2800:220:1::1', family: 6 },
    ]);
  });

  it('refuses the host when any resolved address is refused, naming it', async () => {
    const mixed = await lookUp(answers('93.184.216.34', '10.0.0.5'));
    expect(mixed.err?.message).toBe('target address 10.0.0.5 is not allowed (private network)');
    expect(mixed.err?.name).toBe('TargetRefusedError');
    expect((await lookUp(answers('::ffff:127.0.0.1'), STRICT_TARGETS, true)).err?.message).toBe('target address ::ffff:127.0.0.1 is not allowed (loopback)');
    expect((await lookUp(answers('127.0.0.1'), ON_PREMISE)).address).toBe('127.0.0.1');
    expect((await lookUp(answers('169.254.169.254'), ON_PREMISE)).err?.message).toBe('target address 169.254.169.254 is not allowed (link-local)');
  });

  it('passes resolver errors through, and an empty answer is not found', async () => {
    const failing: Resolver = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND hooks.example.test'), { code: 'ENOTFOUND' });
    };
    expect((await lookUp(failing)).err?.message).toBe('getaddrinfo ENOTFOUND hooks.example.test');
    expect((await lookUp(answers())).err).toMatchObject({ code: 'ENOTFOUND' });
  });

  it('the system resolver answers localhost with loopback addresses, which the lookup refuses', async () => {
    const addresses = await systemResolver('localhost', 0);
    expect(addresses.length).toBeGreaterThan(0);
    for (const { address } of addresses) expect(refusedKind(address, STRICT_TARGETS)).toBe('loopback');
    const refused = await new Promise<Error | null>((resolve) => guardedLookup(STRICT_TARGETS)('localhost', { all: true }, (err) => resolve(err)));
    expect(refused?.message).toMatch(/^target address (127\.0\.0\.1|::1) is not allowed \(loopback\)$/);
  });
});
