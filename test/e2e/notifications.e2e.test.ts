/**
 * Notification channels on a real embedded node: a webhook subscription saved through the API gets a signed POST
 * for a finished execution (the receiver checks the HMAC with the secret the API returned once), the copy's
 * delivery is recorded, quiet hours hold a copy until the node's sweeper sends it, and /metrics counts deliveries
 * by channel.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../support/node-harness.js';
import { waitFor } from '../support/wait.js';

interface Received {
  text: string;
  headers: IncomingHttpHeaders;
}
let t: TestNode;
let server: Server;
const got: Received[] = [];
let url = '';
/** The webhook secret the API returned when the subscription was first saved. */
let secret = '';

beforeAll(async () => {
  // The receiver is on loopback over http: allowed explicitly, as an on-premise operator would.
  t = await startTestNode({ NOTIFICATION_SWEEP_SECONDS: '1', NOTIFICATION_ALLOW_PRIVATE_TARGETS: 'true' });
  server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      got.push({ text, headers: req.headers });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
}, 120_000);
afterAll(async () => {
  await t?.stop();
  await new Promise((r) => server?.close(r));
});

function verified(secret: string, r: Received): boolean {
  const ts = String(r.headers['x-integr8s-timestamp']);
  const given = Buffer.from(String(r.headers['x-integr8s-signature']).replace(/^sha256=/, ''), 'hex');
  const expected = createHmac('sha256', secret).update(`${ts}.${r.text}`).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The quiet hours that cover the next few minutes in UTC, ending `minutes` from now (HH:MM). */
function quietUntil(minutes: number): { start: string; end: string } {
  const hhmm = (d: Date) => d.toISOString().slice(11, 16);
  return { start: hhmm(new Date(Date.now() - 60 * 60_000)), end: hhmm(new Date(Date.now() + minutes * 60_000)) };
}

describe('notification channels on a real node', () => {
  it('a node without NOTIFICATION_ALLOW_PRIVATE_TARGETS refuses the loopback receiver: 422 naming webhook_url, nothing sent', async () => {
    const strict = await startTestNode();
    try {
      const before = got.length;
      for (const [webhook_url, message] of [
        [url, 'must be an https URL'],
        [url.replace('http:', 'https:'), 'target address 127.0.0.1 is not allowed (loopback)'],
      ] as const) {
        const res = await strict.api('/notifications/subscriptions/webhook', { method: 'PUT', json: { enabled: true, webhook_url } });
        expect(res.status).toBe(422);
        expect(res.body.errors).toEqual([{ field: 'webhook_url', message }]);
      }
      expect((await strict.api('/notifications/subscriptions')).body.subscriptions[1]).toMatchObject({ enabled: false, webhook_url: null });
      expect(got.length).toBe(before);
    } finally {
      await strict.stop();
    }
  }, 60_000);

  it('a finished execution reaches the webhook signed; delivery recorded; counted in /metrics', async () => {
    const saved = await t.api('/notifications/subscriptions/webhook', { method: 'PUT', json: { enabled: true, webhook_url: url } });
    expect(saved.status).toBe(200);
    secret = saved.body.webhook_secret as string;
    expect(secret).toMatch(/^whsec_/);
    expect((await t.api('/notifications/subscriptions')).body.subscriptions[1].webhook_secret).toBe(`••••${secret.slice(-4)}`);

    const id = await t.submit('print("notify me")');
    await t.stream(id);
    const delivery = await waitFor(() => got.find((r) => JSON.parse(r.text).action_url?.includes(id)), { timeoutMs: 20_000, message: 'the webhook POST' });
    expect(verified(secret, delivery)).toBe(true);
    expect(JSON.parse(delivery.text)).toMatchObject({ type: 'notification', subject: 'Execution completed' });
    const copy = await waitFor(async () => {
      const list = (await t.api('/notifications')).body.notifications as Array<Record<string, any>>;
      return list.find((n) => n.channel === 'webhook' && n.action_url.includes(id) && n.status === 'delivered');
    }, { message: 'the webhook copy recorded as delivered' });
    expect(copy).toMatchObject({ attempts: 1, error_message: null });
    expect(copy.delivered_at).not.toBeNull();
    const scrape = await (await fetch(`${t.base.replace('/api/v1', '')}/metrics`)).text();
    expect(scrape).toMatch(/^notifications_sent(_total)?\{[^}]*channel="webhook"[^}]*\} [1-9]/m);
  }, 60_000);

  it('quiet hours hold the copy (pending, due when they end); the sweeper sends it then', async () => {
    const { start, end } = quietUntil(1);
    const saved = await t.api('/notifications/subscriptions/webhook', {
      method: 'PUT',
      json: { enabled: true, quiet_hours_enabled: true, quiet_hours_start: start, quiet_hours_end: end, timezone: 'UTC' },
    });
    expect(saved.status).toBe(200);
    // Saving other fields keeps the secret (shown masked).
    expect(saved.body.webhook_secret).toBe(`••••${secret.slice(-4)}`);
    const before = got.length;
    const id = await t.submit('print("later")');
    await t.stream(id);
    const held = await waitFor(async () => {
      const list = (await t.api('/notifications')).body.notifications as Array<Record<string, any>>;
      return list.find((n) => n.channel === 'webhook' && n.action_url.includes(id));
    }, { message: 'the held copy' });
    expect(held).toMatchObject({ status: 'pending', hold_reason: 'quiet_hours', attempts: 0 });
    expect(held.due_at.slice(11, 16)).toBe(end);
    expect(got.length).toBe(before);
    const sent = await waitFor(() => got.find((r) => JSON.parse(r.text).action_url?.includes(id)), { timeoutMs: 150_000, intervalMs: 500, message: 'sent when quiet hours end' });
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(held.due_at));
    expect(verified(secret, sent)).toBe(true);
    expect(JSON.parse(sent.text).notification_id).toBe(held.notification_id);
    await waitFor(async () => {
      const list = (await t.api('/notifications')).body.notifications as Array<Record<string, any>>;
      return list.find((n) => n.notification_id === held.notification_id)?.status === 'delivered';
    }, { message: 'the held copy recorded as delivered' });
  }, 200_000);
});
