/**
 * Webhook and Slack delivery end to end, on SQLite and loopback HTTP receivers: signed bodies a receiver can
 * verify, retries then a recorded failure, quiet hours that hold and later deliver, digests, a throttle that
 * keeps high and urgent notifications, and held deliveries that survive a restart and go out exactly once when
 * two nodes sweep the same store.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTempDir, type TempDir } from '../../test/support/temp-dir.js';
import { stampEvent } from '../domain/events.js';
import type { NotificationDraft, Severity } from '../domain/notifications.js';
import { createSqliteDocumentStore } from '../embedded/document-store.js';
import { createInProcessBus } from '../embedded/fanout-bus.js';
import { createMemoryRateLimitStore } from '../embedded/rate-limit-store.js';
import { openDatabase } from '../embedded/sqlite.js';
import type { DocumentStore } from '../ports/document-store.js';
import type { FanoutBus } from '../ports/fanout-bus.js';
import { STRICT_TARGETS } from '../security/outbound-targets.js';
import { NotificationStore } from '../stores/notification-store.js';
import { createHttpDeliverer } from './notification-delivery.js';
import { createNotificationService, type NotificationService, type NotificationServiceDeps } from './notifications.js';

/** The receivers here are on loopback over http: an on-premise setup, allowed explicitly (the default refuses them). */
const onPremise = { allowPrivateTargets: true };
let dir: TempDir;
const opened: DocumentStore[] = [];
const servers: Server[] = [];
const services: NotificationService[] = [];
let bus: FanoutBus;
/** The services' clock: 23:00 UTC, inside quiet hours 22:00–07:00. */
let nowMs = 0;
const BASE_MS = Date.parse('2026-03-02T23:00:00.000Z');

beforeEach(async () => {
  dir = await createTempDir('integr8s-dispatch-');
  bus = createInProcessBus();
  nowMs = BASE_MS;
});
afterEach(async () => {
  for (const s of services.splice(0)) await s.stop();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  await bus.close();
  for (const d of opened.splice(0)) await d.close();
  await dir.cleanup();
});

/** A connection to the test's database file: each call is another node's connection to the shared store. */
function connect(): DocumentStore {
  const docs = createSqliteDocumentStore(openDatabase(join(dir.path, 'shared.db')));
  opened.push(docs);
  return docs;
}

/** A notification service (one node) on its own connection to the shared store. */
function node(extra: Partial<NotificationServiceDeps> = {}): { service: NotificationService; store: NotificationStore } {
  const store = new NotificationStore(connect());
  const service = createNotificationService({
    store,
    bus,
    preferences: async () => ({ execution_completed: true, execution_failed: true, system_updates: true, security_alerts: true, channels: ['in_app'] }) as never,
    deliverer: createHttpDeliverer({ timeoutMs: 1_000, attempts: 3, backoffMs: 10 }, onPremise),
    targets: onPremise,
    clock: () => new Date(nowMs),
    ...extra,
  });
  services.push(service);
  return { service, store };
}

interface Received {
  text: string;
  body: Record<string, any>;
  headers: IncomingHttpHeaders;
}

/** A receiver on 127.0.0.1 answering `status` to every POST. */
async function receiver(status = 200): Promise<{ url: string; got: Received[] }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      got.push({ text, body: JSON.parse(text) as Record<string, any>, headers: req.headers });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got };
}

/** The receiver's check: HMAC-SHA256 of `<timestamp>.<raw body>` under the secret, compared in constant time. */
function signedBy(secret: string, r: Received): boolean {
  const timestamp = r.headers['x-integr8s-timestamp'];
  const header = String(r.headers['x-integr8s-signature'] ?? '');
  if (typeof timestamp !== 'string' || !header.startsWith('sha256=')) return false;
  const expected = createHmac('sha256', secret).update(`${timestamp}.${r.text}`).digest();
  const given = Buffer.from(header.slice(7), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const draft = (severity: Severity, n: number): NotificationDraft => ({
  kind: 'execution_completed',
  severity,
  subject: `Subject ${n}`,
  body: `Body ${n}`,
  action_url: `/x/${n}`,
  tags: ['t'],
});
const copies = async (store: NotificationStore, channel: string) =>
  (await store.list('u1', { limit: 100, offset: 0 })).items.filter((n) => n.channel === channel).sort((a, b) => a.subject.localeCompare(b.subject));
const quiet = { quiet_hours_enabled: true, quiet_hours_start: '22:00', quiet_hours_end: '07:00', timezone: 'UTC' };

describe('webhook deliveries', () => {
  it('a receiver gets signed deliveries it can verify with the secret the API returned; status recorded', async () => {
    const { service, store } = node();
    const hook = await receiver();
    const sub = await service.updateSubscription('u1', 'webhook', { enabled: true, webhook_url: hook.url });
    const secret = sub.webhook_secret!;
    const usage = { execution_time_wall_seconds: 0.5, cpu_time_jiffies: 3, clk_tck_hertz: 100, peak_memory_kb: 9000 };
    const event = stampEvent('execution_failed', 'ex-1', { execution_id: 'ex-1', error_type: 'script_error', error_message: 'NameError', stdout: '', stderr: '', stdout_truncated: false, stderr_truncated: false, exit_code: 1, resource_usage: usage }, { user_id: 'u1' });
    nowMs = Date.now();
    await service.onExecutionEvent(event);
    expect(hook.got).toHaveLength(1);
    const [delivery] = hook.got;
    expect(signedBy(secret, delivery!)).toBe(true);
    expect(signedBy('whsec_not-the-secret', delivery!)).toBe(false);
    expect(delivery!.body).toMatchObject({ type: 'notification', user_id: 'u1', severity: 'high', subject: 'Execution failed' });
    expect(delivery!.headers['x-integr8s-delivery']).toBe(delivery!.body['notification_id']);
    expect(delivery!.headers['x-integr8s-event']).toBe('notification');
    const [stored] = await copies(store, 'webhook');
    expect(stored).toMatchObject({ status: 'delivered', attempts: 1, error_message: null, lease_until: 0 });
    expect(stored!.delivered_at).toBe(new Date(nowMs).toISOString());
    expect(service.stats().sent.webhook).toBe(1);
  });

  it('a failing receiver (500) gets every retry, then the failure is recorded with attempts and error', async () => {
    const { service, store } = node();
    const hook = await receiver(500);
    const sub = await service.updateSubscription('u1', 'webhook', { enabled: true, webhook_url: hook.url });
    await service.notify('u1', draft('high', 1), 'src-1');
    expect(hook.got).toHaveLength(3);
    expect(hook.got.every((r) => signedBy(sub.webhook_secret!, r))).toBe(true);
    expect(new Set(hook.got.map((r) => r.headers['x-integr8s-delivery'])).size).toBe(1);
    const [stored] = await copies(store, 'webhook');
    expect(stored).toMatchObject({ status: 'failed', attempts: 3, error_message: 'HTTP 500', delivered_at: null });
    expect(service.stats()).toMatchObject({ sent: { webhook: 0 }, failed: { webhook: 1 } });
    // Handling the same source again does not send it again.
    await service.notify('u1', draft('high', 1), 'src-1');
    expect(hook.got).toHaveLength(3);
  });
});

describe('targets refused at delivery time', () => {
  it('a saved host name that now resolves to loopback: the copy fails once with the refused address, never reaching the receiver or retried', async () => {
    const hook = await receiver();
    const port = new URL(hook.url).port;
    let connections = 0;
    servers.at(-1)!.on('connection', () => connections++);
    // DNS changed after the subscription was saved: the name (public-looking, accepted at save time) now points at loopback.
    const resolver = async (hostname: string) => (hostname === 'hooks.example.test' ? [{ address: '127.0.0.1', family: 4 }] : []);
    const { service, store } = node({ deliverer: createHttpDeliverer({ timeoutMs: 1_000, attempts: 3, backoffMs: 10 }, { allowPrivateTargets: false, resolver }), targets: STRICT_TARGETS });
    await service.updateSubscription('u1', 'webhook', { enabled: true, webhook_url: `https://hooks.example.test:${port}/hook` });
    nowMs = Date.now();
    await service.notify('u1', draft('high', 1), 'src-1');
    const [stored] = await copies(store, 'webhook');
    expect(stored).toMatchObject({ status: 'failed', attempts: 1, error_message: 'target address 127.0.0.1 is not allowed (loopback)', delivered_at: null });
    expect(service.stats()).toMatchObject({ sent: { webhook: 0 }, failed: { webhook: 1 } });
    // A sweep later does not try it again.
    nowMs += 3_600_000;
    await service.sweep();
    expect((await copies(store, 'webhook'))[0]).toMatchObject({ status: 'failed', attempts: 1 });
    expect(connections).toBe(0);
    expect(hook.got).toEqual([]);
  });

  it('by default the subscription refuses the loopback receiver itself (422 naming the field)', async () => {
    const hook = await receiver();
    const { service } = node({ deliverer: createHttpDeliverer(), targets: STRICT_TARGETS });
    const err = await service.updateSubscription('u1', 'webhook', { enabled: true, webhook_url: hook.url }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'ValidationError', extra: { fields: [{ field: 'webhook_url', message: 'must be an https URL' }] } });
    const literal = await service.updateSubscription('u1', 'webhook', { enabled: true, webhook_url: hook.url.replace('http:', 'https:') }).catch((e: unknown) => e);
    expect(literal).toMatchObject({ extra: { fields: [{ field: 'webhook_url', message: 'target address 127.0.0.1 is not allowed (loopback)' }] } });
  });
});

describe('quiet hours, digests and the throttle', () => {
  it('quiet hours hold non-urgent webhook and Slack copies until they end; urgent goes at once; in-app is stored at once', async () => {
    const { service, store } = node();
    const hook = await receiver();
    const slack = await receiver();
    await service.updateSubscription('u1', 'webhook', { enabled: true, webhook_url: hook.url, ...quiet });
    await service.updateSubscription('u1', 'slack', { enabled: true, slack_webhook: slack.url, ...quiet });
    await service.notify('u1', draft('medium', 1), 'a');
    await service.notify('u1', draft('high', 2), 'b');
    await service.notify('u1', draft('urgent', 3), 'c');
    expect(hook.got.map((r) => r.body['subject'])).toEqual(['Subject 3']);
    expect(slack.got.map((r) => r.body['text'])).toEqual([expect.stringContaining('*Subject 3*')]);
    expect((await copies(store, 'in_app')).map((n) => n.status)).toEqual(['delivered', 'delivered', 'delivered']);
    const held = await copies(store, 'webhook');
    expect(held.map((n) => [n.status, n.hold_reason, n.due_at])).toEqual([
      ['pending', 'quiet_hours', '2026-03-03T07:00:00.000Z'],
      ['pending', 'quiet_hours', '2026-03-03T07:00:00.000Z'],
      ['delivered', null, new Date(BASE_MS).toISOString()],
    ]);

    nowMs = Date.parse('2026-03-03T06:59:30.000Z');
    expect(await service.sweep()).toBe(0);
    nowMs = Date.parse('2026-03-03T07:00:05.000Z');
    expect(await service.sweep()).toBe(4);
    expect(hook.got.map((r) => r.body['subject']).sort()).toEqual(['Subject 1', 'Subject 2', 'Subject 3']);
    expect(slack.got).toHaveLength(3);
    expect((await copies(store, 'webhook')).map((n) => n.status)).toEqual(['delivered', 'delivered', 'delivered']);
    expect(await service.sweep()).toBe(0);
    expect(hook.got).toHaveLength(3);
  });

  it('batching: the notifications of one window go out as one signed digest per channel', async () => {
    const { service, store } = node();
    const hook = await receiver();
    const slack = await receiver();
    const sub = await service.updateSubscription('u1', 'webhook', { enabled: true, webhook_url: hook.url, batching_interval_seconds: 60 });
    await service.updateSubscription('u1', 'slack', { enabled: true, slack_webhook: slack.url, batching_interval_seconds: 60 });
    nowMs = Date.parse('2026-03-02T12:00:00.000Z');
    for (let i = 1; i <= 3; i++) {
      await service.notify('u1', draft(i === 2 ? 'high' : 'low', i), `s${i}`);
      nowMs += 10_000;
    }
    await service.notify('u1', draft('urgent', 4), 's4');
    expect(hook.got.map((r) => r.body['subject'])).toEqual(['Subject 4']);
    const batched = (await copies(store, 'webhook')).filter((n) => n.status === 'pending');
    expect(batched).toHaveLength(3);
    expect(new Set(batched.map((n) => n.batch_key)).size).toBe(1);
    expect(batched.every((n) => n.hold_reason === 'batching' && n.due_at === '2026-03-02T12:01:00.000Z')).toBe(true);

    expect(await service.sweep()).toBe(0);
    nowMs = Date.parse('2026-03-02T12:01:00.500Z');
    expect(await service.sweep()).toBe(6);
    expect(hook.got).toHaveLength(2);
    const digest = hook.got[1]!;
    expect(digest.headers['x-integr8s-event']).toBe('digest');
    expect(signedBy(sub.webhook_secret!, digest)).toBe(true);
    expect(digest.body).toMatchObject({ type: 'digest', user_id: 'u1', count: 3 });
    expect(digest.body['notifications'].map((n: any) => n.subject)).toEqual(['Subject 1', 'Subject 2', 'Subject 3']);
    expect(slack.got).toHaveLength(2);
    expect(slack.got[1]!.body['text']).toMatch(/^\*3 notifications\*\n• \*Subject 1\*: Body 1/);
    expect((await copies(store, 'webhook')).every((n) => n.status === 'delivered' && n.attempts === 1)).toBe(true);
    // A notification after the window opens a new one.
    await service.notify('u1', draft('low', 5), 's5');
    expect((await copies(store, 'webhook')).find((n) => n.subject === 'Subject 5')?.due_at).toBe('2026-03-02T12:02:00.500Z');
  });

  it('the throttle keeps low/medium ones beyond the rate as throttled (visible, not sent) and never holds back high or urgent', async () => {
    const { service, store } = node({ counters: createMemoryRateLimitStore(), throttle: { limit: 2, windowMs: 60_000 } });
    const hook = await receiver();
    await service.updateSubscription('u1', 'webhook', { enabled: true, webhook_url: hook.url });
    nowMs = Date.parse('2026-03-02T12:00:00.000Z');
    const severities: Severity[] = ['medium', 'low', 'medium', 'low', 'high', 'urgent', 'high'];
    for (const [i, severity] of severities.entries()) await service.notify('u1', draft(severity, i + 1), `t${i}`);
    expect(hook.got.map((r) => r.body['subject'])).toEqual(['Subject 1', 'Subject 2', 'Subject 5', 'Subject 6', 'Subject 7']);
    const all = await copies(store, 'webhook');
    expect(all.map((n) => [n.subject, n.status])).toEqual([
      ['Subject 1', 'delivered'],
      ['Subject 2', 'delivered'],
      ['Subject 3', 'throttled'],
      ['Subject 4', 'throttled'],
      ['Subject 5', 'delivered'],
      ['Subject 6', 'delivered'],
      ['Subject 7', 'delivered'],
    ]);
    expect(all[2]!.error_message).toMatch(/^throttled/);
    expect((await copies(store, 'in_app')).every((n) => n.status === 'delivered')).toBe(true);
    expect(service.stats()).toMatchObject({ sent: { webhook: 5 }, throttled: { webhook: 2 } });
    // The window passes: low ones go out again.
    nowMs += 120_000;
    await service.notify('u1', draft('low', 8), 't8');
    expect(hook.got).toHaveLength(6);
  });
});

describe('held deliveries across restarts and nodes', () => {
  it('held copies survive a restart: a new node sweeps them at start once they are due', async () => {
    const first = node();
    const hook = await receiver();
    await first.service.updateSubscription('u1', 'webhook', { enabled: true, webhook_url: hook.url, ...quiet });
    await first.service.notify('u1', draft('medium', 1), 'r1');
    await first.service.notify('u1', draft('low', 2), 'r2');
    await first.service.stop();
    expect(hook.got).toHaveLength(0);

    nowMs = Date.parse('2026-03-03T07:01:00.000Z');
    const second = node({ sweepIntervalMs: 60_000 });
    await second.service.start();
    expect(hook.got.map((r) => r.body['subject']).sort()).toEqual(['Subject 1', 'Subject 2']);
    expect((await copies(second.store, 'webhook')).map((n) => n.status)).toEqual(['delivered', 'delivered']);
  });

  it('a copy whose node died mid-delivery is sent by another node once its claim runs out', async () => {
    const a = node();
    const hook = await receiver();
    await a.service.updateSubscription('u1', 'webhook', { enabled: true, webhook_url: hook.url });
    // What a node leaves behind when it dies after storing a copy and before sending it: pending, claimed by it.
    const { store } = a;
    const claimedUntil = nowMs + 60_000;
    await store.insert({
      notification_id: 'n-died', user_id: 'u1', channel: 'webhook', severity: 'high', status: 'pending', subject: 'Orphan', body: 'b',
      action_url: '', tags: [], created_at: new Date(nowMs).toISOString(), read_at: null, delivered_at: null, source_event_id: 'x',
      error_message: null, attempts: 0, due_at: new Date(nowMs).toISOString(), hold_reason: null, batch_key: null, lease_until: claimedUntil,
    });
    const b = node();
    expect(await b.service.sweep()).toBe(0);
    nowMs = claimedUntil + 1;
    expect(await b.service.sweep()).toBe(1);
    expect(hook.got.map((r) => r.body['subject'])).toEqual(['Orphan']);
    expect((await store.get('n-died'))?.status).toBe('delivered');
  });

  it('two nodes sweeping the same store at the same time send each held copy and each digest exactly once', async () => {
    const nodes = [node(), node(), node()];
    const hook = await receiver();
    const digestHook = await receiver();
    const setup = nodes[0]!.service;
    await setup.updateSubscription('u1', 'webhook', { enabled: true, webhook_url: hook.url, ...quiet });
    await setup.updateSubscription('u2', 'webhook', { enabled: true, webhook_url: digestHook.url, ...quiet, batching_interval_seconds: 30 });
    for (let i = 1; i <= 12; i++) await setup.notify('u1', draft('medium', i), `m${i}`);
    for (let i = 1; i <= 5; i++) await setup.notify('u2', draft('low', i), `d${i}`);
    expect(hook.got.length + digestHook.got.length).toBe(0);

    nowMs = Date.parse('2026-03-03T07:00:30.000Z');
    // Each node sweeps twice at once (the second call joins the first) while the others do the same.
    const handled = await Promise.all(nodes.map(async (n) => (await Promise.all([n.service.sweep(), n.service.sweep()]))[0]!));
    expect(handled.reduce((a, b) => a + b, 0)).toBe(17);
    expect(await Promise.all(nodes.map((n) => n.service.sweep()))).toEqual([0, 0, 0]);
    expect(hook.got.map((r) => r.body['subject']).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `Subject ${i + 1}`).sort());
    expect(digestHook.got).toHaveLength(1);
    expect(digestHook.got[0]!.body).toMatchObject({ type: 'digest', user_id: 'u2', count: 5 });
  });
});
