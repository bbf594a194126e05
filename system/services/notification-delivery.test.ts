import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Resolver } from '../security/outbound-targets.js';
import { createHttpDeliverer, maskSecret, newWebhookSecret, type DeliveryRequest } from './notification-delivery.js';

/** A webhook receiver on 127.0.0.1 that answers with the given statuses in turn (the last one repeats). */
async function receiver(statuses: number[], opts: { hangMs?: number } = {}): Promise<{ url: string; bodies: unknown[]; raw: Array<{ text: string; headers: IncomingHttpHeaders }>; server: Server }> {
  const bodies: unknown[] = [];
  const raw: Array<{ text: string; headers: IncomingHttpHeaders }> = [];
  const server = createServer((req: IncomingMessage, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      raw.push({ text, headers: req.headers });
      bodies.push(JSON.parse(text));
      const status = statuses[Math.min(bodies.length - 1, statuses.length - 1)] ?? 200;
      setTimeout(() => res.writeHead(status, { 'content-type': 'text/plain' }).end('ok'), opts.hangMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, bodies, raw, server };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** The receivers here are on loopback over http: an on-premise setup, allowed explicitly (the default refuses them). */
const onPremise = { allowPrivateTargets: true };
const fast = { timeoutMs: 2_000, attempts: 3, backoffMs: 10 };
const post = (url: string, body: unknown, extra: Partial<DeliveryRequest> = {}): DeliveryRequest => ({ url, body, deliveryId: 'd-1', event: 'notification', ...extra });

/** What a receiver does: recompute the HMAC over `<timestamp>.<raw body>` and compare in constant time. */
function verifies(secret: string, text: string, headers: IncomingHttpHeaders): boolean {
  const timestamp = headers['x-integr8s-timestamp'];
  const given = String(headers['x-integr8s-signature'] ?? '');
  if (typeof timestamp !== 'string' || !given.startsWith('sha256=')) return false;
  const expected = createHmac('sha256', secret).update(`${timestamp}.${text}`).digest();
  const actual = Buffer.from(given.slice('sha256='.length), 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

describe('HTTP deliverer', () => {
  it('POSTs the JSON body once when the receiver says 2xx', async () => {
    const r = await receiver([204]);
    expect(await createHttpDeliverer(fast, onPremise).deliver(post(r.url, { hello: 'world' }))).toEqual({ ok: true, attempts: 1, status: 204 });
    expect(r.bodies).toEqual([{ hello: 'world' }]);
  });

  it('signs every attempt over the exact body with a fresh timestamp; the delivery id stays; no secret, no signature', async () => {
    const secret = newWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(maskSecret(secret)).toBe(`••••${secret.slice(-4)}`);
    const r = await receiver([500, 200]);
    const body = { text: 'ünïcode & "quotes"', n: 1 };
    expect(await createHttpDeliverer(fast, onPremise).deliver(post(r.url, body, { secret, deliveryId: 'n-42', event: 'digest' }))).toEqual({ ok: true, attempts: 2, status: 200 });
    expect(r.raw).toHaveLength(2);
    for (const { text, headers } of r.raw) {
      expect(text).toBe(JSON.stringify(body));
      expect(headers['x-integr8s-delivery']).toBe('n-42');
      expect(headers['x-integr8s-event']).toBe('digest');
      expect(Math.abs(Number(headers['x-integr8s-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
      expect(verifies(secret, text, headers)).toBe(true);
      expect(verifies('another secret', text, headers)).toBe(false);
      expect(verifies(secret, text.replace('1', '2'), headers)).toBe(false);
    }
    const plain = await receiver([200]);
    await createHttpDeliverer(fast, onPremise).deliver(post(plain.url, body));
    expect(plain.raw[0]!.headers['x-integr8s-signature']).toBeUndefined();
  });

  it('retries 5xx and 429, then succeeds', async () => {
    const r = await receiver([500, 429, 200]);
    expect(await createHttpDeliverer(fast, onPremise).deliver(post(r.url, { n: 1 }))).toEqual({ ok: true, attempts: 3, status: 200 });
    expect(r.bodies).toHaveLength(3);
  });

  it('gives up after the attempts, and at once on a 4xx', async () => {
    const failing = await receiver([503]);
    expect(await createHttpDeliverer(fast, onPremise).deliver(post(failing.url, {}))).toEqual({ ok: false, attempts: 3, error: 'HTTP 503' });
    const rejecting = await receiver([404]);
    expect(await createHttpDeliverer(fast, onPremise).deliver(post(rejecting.url, {}))).toEqual({ ok: false, attempts: 1, error: 'HTTP 404' });
    expect(rejecting.bodies).toHaveLength(1);
  });

  it('times out a receiver that does not answer, and reports a refused connection', async () => {
    const slow = await receiver([200], { hangMs: 2_000 });
    const started = Date.now();
    const result = await createHttpDeliverer({ timeoutMs: 100, attempts: 2, backoffMs: 10 }, onPremise).deliver(post(slow.url, {}));
    expect(result).toEqual({ ok: false, attempts: 2, error: 'timed out after 100 ms' });
    expect(Date.now() - started).toBeLessThan(1_500);

    const closed = await receiver([200]);
    await new Promise((r) => closed.server.close(r));
    servers.splice(servers.indexOf(closed.server), 1);
    const refused = await createHttpDeliverer({ ...fast, attempts: 1 }, onPremise).deliver(post(closed.url, {}));
    expect(refused.ok).toBe(false);
  });
});

describe('HTTP deliverer: where it may connect', () => {
  /** A receiver that also counts TCP connections: a refused delivery must not even connect. */
  async function watched(): Promise<{ port: number; url: string; bodies: unknown[]; connections: () => number }> {
    const r = await receiver([200]);
    let connections = 0;
    r.server.on('connection', () => connections++);
    return { port: (r.server.address() as AddressInfo).port, url: r.url, bodies: r.bodies, connections: () => connections };
  }
  /** A resolver for the test's own names (`.test` is reserved: the system resolver never answers it). */
  const resolving = (answers: Record<string, string[]>, calls: string[] = []): Resolver => async (hostname) => {
    calls.push(hostname);
    const addresses = answers[hostname];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };

  it('a loopback receiver is refused by default, before connecting, and reached when private targets are allowed', async () => {
    const r = await watched();
    expect(await createHttpDeliverer(fast).deliver(post(r.url, { n: 1 }))).toEqual({ ok: false, attempts: 0, error: 'http: targets are not allowed' });
    for (const url of [`https://127.0.0.1:${r.port}/hook`, `https://[::ffff:127.0.0.1]:${r.port}/hook`, `https://2130706433:${r.port}/hook`]) {
      const result = await createHttpDeliverer(fast).deliver(post(url, { n: 1 }));
      expect(result).toMatchObject({ ok: false, attempts: 0 });
      expect(result.ok === false && result.error).toMatch(/^target address (127\.0\.0\.1|::ffff:7f00:1) is not allowed \(loopback\)$/);
    }
    expect(r.connections()).toBe(0);
    expect(r.bodies).toEqual([]);

    expect(await createHttpDeliverer(fast, onPremise).deliver(post(r.url, { n: 2 }))).toEqual({ ok: true, attempts: 1, status: 200 });
    expect(r.bodies).toEqual([{ n: 2 }]);
  });

  it('a host name resolving to loopback (localhost, through the system resolver) is refused in the connection, not retried', async () => {
    const r = await watched();
    const result = await createHttpDeliverer(fast).deliver(post(`https://localhost:${r.port}/hook`, {}));
    expect(result).toMatchObject({ ok: false, attempts: 1 });
    expect(result.ok === false && result.error).toMatch(/^target address (127\.0\.0\.1|::1) is not allowed \(loopback\)$/);
    expect(r.connections()).toBe(0);
  });

  it('a name whose DNS answers include a private address is refused, whatever else it answers; no connection, no retry', async () => {
    const r = await watched();
    const calls: string[] = [];
    const resolver = resolving({ 'hooks.example.test': ['127.0.0.1'], 'mixed.example.test': ['93.184.216.34', '10.0.0.5'] }, calls);
    const deliverer = createHttpDeliverer(fast, { allowPrivateTargets: false, resolver });
    expect(await deliverer.deliver(post(`https://hooks.example.test:${r.port}/hook`, {}))).toEqual({ ok: false, attempts: 1, error: 'target address 127.0.0.1 is not allowed (loopback)' });
    expect(await deliverer.deliver(post(`https://mixed.example.test:${r.port}/hook`, {}))).toEqual({ ok: false, attempts: 1, error: 'target address 10.0.0.5 is not allowed (private network)' });
    expect(calls).toEqual(['hooks.example.test', 'mixed.example.test']);
    expect(r.connections()).toBe(0);
  });

  it('connects to the address its lookup checked: a name only the injected resolver knows reaches the receiver, once resolved per attempt', async () => {
    const r = await watched();
    const calls: string[] = [];
    const deliverer = createHttpDeliverer(fast, { allowPrivateTargets: true, resolver: resolving({ 'hooks.example.test': ['127.0.0.1'] }, calls) });
    expect(await deliverer.deliver(post(`http://hooks.example.test:${r.port}/hook`, { n: 3 }))).toEqual({ ok: true, attempts: 1, status: 200 });
    expect(r.bodies).toEqual([{ n: 3 }]);
    expect(calls).toEqual(['hooks.example.test']);
    // Without the injected resolver the name does not resolve at all: the connection above used the checked answer.
    const unresolved = await createHttpDeliverer({ ...fast, attempts: 1 }, onPremise).deliver(post(`http://hooks.example.test:${r.port}/hook`, {}));
    expect(unresolved.ok === false && unresolved.error).toMatch(/ENOTFOUND|EAI_AGAIN/);
  });

  it('link-local (cloud metadata) stays refused when private targets are allowed', async () => {
    expect(await createHttpDeliverer(fast, onPremise).deliver(post('http://169.254.169.254/latest/meta-data/', {}))).toEqual({
      ok: false,
      attempts: 0,
      error: 'target address 169.254.169.254 is not allowed (link-local)',
    });
    const metadata = createHttpDeliverer(fast, { allowPrivateTargets: true, resolver: resolving({ 'metadata.example.test': ['169.254.169.254'] }) });
    expect(await metadata.deliver(post('http://metadata.example.test/latest/meta-data/', {}))).toEqual({ ok: false, attempts: 1, error: 'target address 169.254.169.254 is not allowed (link-local)' });
  });
});
