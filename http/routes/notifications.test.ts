import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stampEvent } from '../../system/domain/events.js';
import { createSqliteDocumentStore } from '../../system/embedded/document-store.js';
import { createInProcessBus } from '../../system/embedded/fanout-bus.js';
import { openDatabase } from '../../system/embedded/sqlite.js';
import type { DocumentStore } from '../../system/ports/document-store.js';
import type { FanoutBus } from '../../system/ports/fanout-bus.js';
import { createHttpDeliverer } from '../../system/services/notification-delivery.js';
import { createNotificationService, type NotificationService } from '../../system/services/notifications.js';
import { createUserSettingsService } from '../../system/services/user-settings.js';
import { NotificationStore } from '../../system/stores/notification-store.js';
import { SettingsStore } from '../../system/stores/settings-store.js';
import { createTempDir, type TempDir } from '../../test/support/temp-dir.js';
import { testCallerResolver, testUser } from '../test-caller.js';
import { eventually, readStream, startHarness, type Harness } from '../test-support.js';
import { notificationRoutes } from './notifications.js';

let dir: TempDir;
let docs: DocumentStore;
let bus: FanoutBus;
let service: NotificationService;
let h: Harness;
let active = 0;
const servers: Server[] = [];
beforeEach(async () => {
  dir = await createTempDir('integr8s-notification-routes-');
  docs = createSqliteDocumentStore(openDatabase(join(dir.path, 'test.db')));
  const inner = createInProcessBus();
  // Counts live subscriptions so the test can see a closed stream let go of its channel.
  bus = {
    ...inner,
    publish: (c, p) => inner.publish(c, p),
    subscribe: async (channel, listener) => {
      const unsubscribe = await inner.subscribe(channel, listener);
      active++;
      return async () => {
        active--;
        await unsubscribe();
      };
    },
    close: () => inner.close(),
  };
  const settings = createUserSettingsService({ store: new SettingsStore(docs) });
  service = createNotificationService({
    store: new NotificationStore(docs),
    bus,
    preferences: async (userId) => (await settings.get(userId)).notifications,
    // The test's receiver is on loopback over http: allowed explicitly (the default refuses it; see notification-targets.test.ts).
    deliverer: createHttpDeliverer({ timeoutMs: 500, attempts: 2, backoffMs: 10 }, { allowPrivateTargets: true }),
    targets: { allowPrivateTargets: true },
  });
  h = await startHarness({ routes: [notificationRoutes({ notifications: service })], resolveCaller: testCallerResolver(), config: { sseHeartbeatMs: 100 } });
});
afterEach(async () => {
  await h.server.close();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  await bus.close();
  await docs.close();
  await dir.cleanup();
});

const BASE = '/api/v1/notifications';
const VIEW_KEYS = [
  'action_url', 'attempts', 'body', 'channel', 'created_at', 'delivered_at', 'due_at', 'error_message', 'hold_reason',
  'notification_id', 'read_at', 'severity', 'status', 'subject', 'tags',
];
type View = { notification_id: string; status: string; tags: string[]; read_at: string | null; channel: string };
type Page = { notifications: View[]; total: number; unread_count: number };
const call = (method: string, path: string, user: string | null, body?: unknown) =>
  fetch(`${h.base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(user ? testUser(user) : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
const json = async <T>(res: Promise<Response>, status = 200): Promise<T> => {
  const r = await res;
  expect(r.status).toBe(status);
  return (await r.json()) as T;
};
const fields = async (res: Promise<Response>) => (await json<{ errors: Array<{ field: string }> }>(res, 422)).errors.map((e) => e.field).sort();
const output = { stdout: '', stderr: '', stdout_truncated: false, stderr_truncated: false, exit_code: 0 };
const usage = { execution_time_wall_seconds: 0.1, cpu_time_jiffies: 1, clk_tck_hertz: 100, peak_memory_kb: 1 };
const completed = (id: string, user = 'alice') => stampEvent('execution_completed', id, { execution_id: id, ...output, resource_usage: usage }, { user_id: user });
const timedOut = (id: string, user = 'alice') =>
  stampEvent('execution_timeout', id, { execution_id: id, timeout_seconds: 10, ...output, resource_usage: usage }, { user_id: user });

describe('notifications API', () => {
  it('401 without a session, also for the stream', async () => {
    for (const [method, path] of [
      ['GET', BASE],
      ['GET', `${BASE}/unread-count`],
      ['POST', `${BASE}/mark-all-read`],
      ['PUT', `${BASE}/x/read`],
      ['DELETE', `${BASE}/x`],
      ['GET', `${BASE}/subscriptions`],
      ['PUT', `${BASE}/subscriptions/in_app`],
      ['GET', '/api/v1/events/notifications/stream'],
    ] as const) {
      expect((await call(method, path, null)).status, `${method} ${path}`).toBe(401);
    }
  });

  it('list with tag filters and paging; unread count; read one, all; delete; 404 for another user', async () => {
    await service.onExecutionEvent(completed('e1'));
    await service.onExecutionEvent(timedOut('e2'));
    await service.onExecutionEvent(completed('e3'));
    await service.onExecutionEvent(completed('b1', 'bob'));

    const all = await json<Page>(call('GET', BASE, 'alice'));
    expect(all).toMatchObject({ total: 3, unread_count: 3 });
    expect(Object.keys(all.notifications[0]!).sort()).toEqual(VIEW_KEYS);
    const only = await json<Page>(call('GET', `${BASE}?include_tags=timeout`, 'alice'));
    expect(only.notifications.map((n) => n.tags[2])).toEqual(['exec:e2']);
    expect((await json<Page>(call('GET', `${BASE}?exclude_tags[]=timeout&exclude_tags[]=nothing`, 'alice'))).total).toBe(2);
    expect((await json<Page>(call('GET', `${BASE}?include_tags=exec:e1,exec:e3`, 'alice'))).total).toBe(2);
    expect((await json<Page>(call('GET', `${BASE}?tag_prefix=exec:e`, 'alice'))).total).toBe(3);
    const paged = await json<Page>(call('GET', `${BASE}?limit=2&offset=2`, 'alice'));
    expect(paged).toMatchObject({ total: 3 });
    expect(paged.notifications).toHaveLength(1);

    const target = only.notifications[0]!.notification_id;
    expect((await call('PUT', `${BASE}/${target}/read`, 'bob')).status).toBe(404);
    expect((await call('DELETE', `${BASE}/${target}`, 'bob')).status).toBe(404);
    const read = await call('PUT', `${BASE}/${target}/read`, 'alice');
    expect(read.status).toBe(204);
    expect(await json(call('GET', `${BASE}/unread-count`, 'alice'))).toEqual({ unread_count: 2 });
    const readList = await json<Page>(call('GET', `${BASE}?status=read`, 'alice'));
    expect(readList.notifications.map((n) => [n.notification_id, n.status])).toEqual([[target, 'read']]);
    expect(readList.notifications[0]!.read_at).not.toBeNull();

    expect((await call('POST', `${BASE}/mark-all-read`, 'alice')).status).toBe(204);
    expect(await json(call('GET', `${BASE}/unread-count`, 'alice'))).toEqual({ unread_count: 0 });
    expect(await json(call('GET', `${BASE}/unread-count`, 'bob'))).toEqual({ unread_count: 1 });

    expect(await json(call('DELETE', `${BASE}/${target}`, 'alice'))).toEqual({ message: 'Notification deleted' });
    expect((await json<Page>(call('GET', BASE, 'alice'))).total).toBe(2);
    expect((await call('DELETE', `${BASE}/${target}`, 'alice')).status).toBe(404);
  });

  it('422 naming fields for bad queries and subscriptions', async () => {
    expect(await fields(call('GET', `${BASE}?status=lost&limit=101&offset=-1`, 'alice'))).toEqual(['limit', 'offset', 'status']);
    expect(await fields(call('PUT', `${BASE}/subscriptions/pigeon`, 'alice', { enabled: true }))).toEqual(['channel']);
    expect(await fields(call('PUT', `${BASE}/subscriptions/webhook`, 'alice', { enabled: true, webhook_url: 'ftp://example.com/x' }))).toEqual(['webhook_url']);
    expect(await fields(call('PUT', `${BASE}/subscriptions/webhook`, 'alice', { enabled: true, webhook_url: 'not a url' }))).toEqual(['webhook_url']);
    expect(await fields(call('PUT', `${BASE}/subscriptions/webhook`, 'alice', { enabled: true }))).toEqual(['webhook_url']);
    expect(await fields(call('PUT', `${BASE}/subscriptions/in_app`, 'alice', { severities: ['loud'] }))).toEqual(['enabled', 'severities.0']);
    expect(await fields(call('PUT', `${BASE}/subscriptions/slack`, 'alice', { enabled: false, batching_interval_seconds: -1 }))).toEqual(['batching_interval_seconds']);
    expect(await fields(call('PUT', `${BASE}/subscriptions/slack`, 'alice', { enabled: false, batching_interval_seconds: 86_401 }))).toEqual(['batching_interval_seconds']);
    expect(await fields(call('PUT', `${BASE}/subscriptions/in_app`, 'alice', { enabled: true, batching_interval_seconds: 60 }))).toEqual(['batching_interval_seconds']);
    expect(await fields(call('PUT', `${BASE}/subscriptions/webhook`, 'alice', { enabled: false, webhook_secret: 'short' }))).toEqual(['webhook_secret']);
    expect(await fields(call('PUT', `${BASE}/subscriptions/webhook`, 'alice', { enabled: false, quiet_hours_enabled: true, quiet_hours_start: '25:00' }))).toEqual(['quiet_hours_start']);
    expect(await fields(call('PUT', `${BASE}/subscriptions/webhook`, 'alice', { enabled: false, quiet_hours_enabled: true, quiet_hours_start: '22:00' }))).toEqual(['quiet_hours_end']);
    expect(await fields(call('PUT', `${BASE}/subscriptions/webhook`, 'alice', { enabled: false, timezone: 'Mars/Olympus' }))).toEqual(['timezone']);
  });

  it('webhook secret: generated with the URL and shown whole once, masked after; rotation and your own secret are shown once too', async () => {
    type Sub = { webhook_secret: string | null; batching_interval_seconds: number };
    const url = 'https://hooks.example.com/in';
    const first = await json<Sub>(call('PUT', `${BASE}/subscriptions/webhook`, 'alice', { enabled: true, webhook_url: url, batching_interval_seconds: 300 }));
    expect(first.webhook_secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(first.batching_interval_seconds).toBe(300);
    const masked = `••••${first.webhook_secret!.slice(-4)}`;
    const listed = await json<{ subscriptions: Array<Sub & { channel: string }> }>(call('GET', `${BASE}/subscriptions`, 'alice'));
    expect(listed.subscriptions.find((s) => s.channel === 'webhook')).toMatchObject({ webhook_secret: masked, batching_interval_seconds: 300 });
    expect(listed.subscriptions.find((s) => s.channel === 'slack')).toMatchObject({ webhook_secret: null, batching_interval_seconds: 0 });
    // Saving again without touching the secret keeps it, masked.
    expect((await json<Sub>(call('PUT', `${BASE}/subscriptions/webhook`, 'alice', { enabled: true, severities: ['high'] }))).webhook_secret).toBe(masked);
    const rotated = await json<Sub>(call('PUT', `${BASE}/subscriptions/webhook`, 'alice', { enabled: true, rotate_webhook_secret: true }));
    expect(rotated.webhook_secret).toMatch(/^whsec_/);
    expect(rotated.webhook_secret).not.toBe(first.webhook_secret);
    const own = await json<Sub>(call('PUT', `${BASE}/subscriptions/webhook`, 'alice', { enabled: true, webhook_secret: 'my-own-secret-of-some-length' }));
    expect(own.webhook_secret).toBe('my-own-secret-of-some-length');
    expect((await json<{ subscriptions: Sub[] }>(call('GET', `${BASE}/subscriptions`, 'alice'))).subscriptions[1]!.webhook_secret).toBe('••••ngth');
  });

  it('subscriptions: GET all channels; disabling in_app stops new notifications; a webhook gets a real POST', async () => {
    const subs = await json<{ subscriptions: Array<{ channel: string; enabled: boolean }> }>(call('GET', `${BASE}/subscriptions`, 'alice'));
    expect(subs.subscriptions.map((s) => [s.channel, s.enabled])).toEqual([['in_app', true], ['webhook', false], ['slack', false]]);

    await json(call('PUT', `${BASE}/subscriptions/in_app`, 'alice', { enabled: false }));
    await service.onExecutionEvent(completed('e1'));
    expect((await json<Page>(call('GET', BASE, 'alice'))).total).toBe(0);

    const bodies: unknown[] = [];
    const server = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        bodies.push(JSON.parse(text));
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const saved = await json<Record<string, unknown>>(call('PUT', `${BASE}/subscriptions/webhook`, 'alice', { enabled: true, webhook_url: url, severities: ['high'] }));
    expect(saved).toMatchObject({ user_id: 'alice', channel: 'webhook', enabled: true, webhook_url: url, severities: ['high'] });
    await service.onExecutionEvent(completed('e2'));
    await service.onExecutionEvent(timedOut('e3'));
    expect(bodies).toEqual([expect.objectContaining({ subject: 'Execution timed out', severity: 'high' })]);
    const list = await json<Page>(call('GET', BASE, 'alice'));
    expect(list.notifications.map((n) => [n.channel, n.status])).toEqual([['webhook', 'delivered']]);
  });

  it('the SSE stream gets a notification published after connecting, as named event `notification`, and stays open', async () => {
    const res = await fetch(`${h.base}/api/v1/events/notifications/stream`, { headers: testUser('alice') });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    await service.onExecutionEvent(completed('b1', 'bob'));
    await service.onExecutionEvent(completed('e1'));
    const text = await readStream(res.body!, (t) => t.includes('event: notification') && t.includes(': ping'));
    const frames = text.split('\n\n').filter((f) => f.includes('event: notification'));
    expect(frames).toHaveLength(1);
    const data = JSON.parse(frames[0]!.split('\n').find((l) => l.startsWith('data: '))!.slice(6)) as View & Record<string, unknown>;
    expect(Object.keys(data).sort()).toEqual(VIEW_KEYS);
    expect(data).toMatchObject({ channel: 'in_app', status: 'delivered', subject: 'Execution completed', tags: ['execution', 'completed', 'exec:e1'] });
    expect(frames[0]).toContain(`id: ${data.notification_id}`);
    expect(h.server.sseStats().open).toBe(1);
    expect(active).toBe(1);
    await res.body!.cancel();
    await eventually(() => h.server.sseStats().open === 0 && active === 0, 5000, 'stream and bus subscription released');
  });
});
