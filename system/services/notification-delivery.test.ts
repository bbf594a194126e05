import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
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
    expect(await createHttpDeliverer(fast).deliver(post(r.url, { hello: 'world' }))).toEqual({ ok: true, attempts: 1, status: 204 });
    expect(r.bodies).toEqual([{ hello: 'world' }]);
  });

  it('signs every attempt over the exact body with a fresh timestamp; the delivery id stays; no secret, no signature', async () => {
    const secret = newWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(maskSecret(secret)).toBe(`••••${secret.slice(-4)}`);
    const r = await receiver([500, 200]);
    const body = { text: 'ünïcode & "quotes"', n: 1 };
    expect(await createHttpDeliverer(fast).deliver(post(r.url, body, { secret, deliveryId: 'n-42', event: 'digest' }))).toEqual({ ok: true, attempts: 2, status: 200 });
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
    await createHttpDeliverer(fast).deliver(post(plain.url, body));
    expect(plain.raw[0]!.headers['x-integr8s-signature']).toBeUndefined();
  });

  it('retries 5xx and 429, then succeeds', async () => {
    const r = await receiver([500, 429, 200]);
    expect(await createHttpDeliverer(fast).deliver(post(r.url, { n: 1 }))).toEqual({ ok: true, attempts: 3, status: 200 });
    expect(r.bodies).toHaveLength(3);
  });

  it('gives up after the attempts, and at once on a 4xx', async () => {
    const failing = await receiver([503]);
    expect(await createHttpDeliverer(fast).deliver(post(failing.url, {}))).toEqual({ ok: false, attempts: 3, error: 'HTTP 503' });
    const rejecting = await receiver([404]);
    expect(await createHttpDeliverer(fast).deliver(post(rejecting.url, {}))).toEqual({ ok: false, attempts: 1, error: 'HTTP 404' });
    expect(rejecting.bodies).toHaveLength(1);
  });

  it('times out a receiver that does not answer, and reports a refused connection', async () => {
    const slow = await receiver([200], { hangMs: 2_000 });
    const started = Date.now();
    const result = await createHttpDeliverer({ timeoutMs: 100, attempts: 2, backoffMs: 10 }).deliver(post(slow.url, {}));
    expect(result).toEqual({ ok: false, attempts: 2, error: 'timed out after 100 ms' });
    expect(Date.now() - started).toBeLessThan(1_500);

    const closed = await receiver([200]);
    await new Promise((r) => closed.server.close(r));
    servers.splice(servers.indexOf(closed.server), 1);
    const refused = await createHttpDeliverer({ ...fast, attempts: 1 }).deliver(post(closed.url, {}));
    expect(refused.ok).toBe(false);
  });
});
