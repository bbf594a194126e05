import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpDeliverer } from './notification-delivery.js';

/** A webhook receiver on 127.0.0.1 that answers with the given statuses in turn (the last one repeats). */
async function receiver(statuses: number[], opts: { hangMs?: number } = {}): Promise<{ url: string; bodies: unknown[]; server: Server }> {
  const bodies: unknown[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      bodies.push(JSON.parse(text));
      const status = statuses[Math.min(bodies.length - 1, statuses.length - 1)] ?? 200;
      setTimeout(() => res.writeHead(status, { 'content-type': 'text/plain' }).end('ok'), opts.hangMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, bodies, server };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

const fast = { timeoutMs: 300, attempts: 3, backoffMs: 10 };

describe('HTTP deliverer', () => {
  it('POSTs the JSON body once when the receiver says 2xx', async () => {
    const r = await receiver([204]);
    expect(await createHttpDeliverer(fast).deliver(r.url, { hello: 'world' })).toEqual({ ok: true, attempts: 1, status: 204 });
    expect(r.bodies).toEqual([{ hello: 'world' }]);
  });

  it('retries 5xx and 429, then succeeds', async () => {
    const r = await receiver([500, 429, 200]);
    expect(await createHttpDeliverer(fast).deliver(r.url, { n: 1 })).toEqual({ ok: true, attempts: 3, status: 200 });
    expect(r.bodies).toHaveLength(3);
  });

  it('gives up after the attempts, and at once on a 4xx', async () => {
    const failing = await receiver([503]);
    expect(await createHttpDeliverer(fast).deliver(failing.url, {})).toEqual({ ok: false, attempts: 3, error: 'HTTP 503' });
    const rejecting = await receiver([404]);
    expect(await createHttpDeliverer(fast).deliver(rejecting.url, {})).toEqual({ ok: false, attempts: 1, error: 'HTTP 404' });
    expect(rejecting.bodies).toHaveLength(1);
  });

  it('times out a receiver that does not answer, and reports a refused connection', async () => {
    const slow = await receiver([200], { hangMs: 2_000 });
    const started = Date.now();
    const result = await createHttpDeliverer({ timeoutMs: 100, attempts: 2, backoffMs: 10 }).deliver(slow.url, {});
    expect(result).toEqual({ ok: false, attempts: 2, error: 'timed out after 100 ms' });
    expect(Date.now() - started).toBeLessThan(1_500);

    const closed = await receiver([200]);
    await new Promise((r) => closed.server.close(r));
    servers.splice(servers.indexOf(closed.server), 1);
    const refused = await createHttpDeliverer({ ...fast, attempts: 1 }).deliver(closed.url, {});
    expect(refused.ok).toBe(false);
  });
});
