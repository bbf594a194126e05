import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTempDir, type TempDir } from '../../test/support/temp-dir.js';
import { AppError } from '../domain/errors.js';
import { stampEvent, type DomainEvent } from '../domain/events.js';
import { notificationChannel, type NotificationView } from '../domain/notifications.js';
import { createSqliteDocumentStore } from '../embedded/document-store.js';
import { createInProcessBus } from '../embedded/fanout-bus.js';
import { openDatabase } from '../embedded/sqlite.js';
import type { DocumentStore } from '../ports/document-store.js';
import type { FanoutBus } from '../ports/fanout-bus.js';
import { NotificationStore } from '../stores/notification-store.js';
import { SettingsStore } from '../stores/settings-store.js';
import { createHttpDeliverer } from './notification-delivery.js';
import { createNotificationService, notificationRecordHandler, type NotificationService } from './notifications.js';
import { createUserSettingsService, type UserSettingsService } from './user-settings.js';

let dir: TempDir;
let docs: DocumentStore;
let bus: FanoutBus;
let settings: UserSettingsService;
let notifications: NotificationService;
let store: NotificationStore;
/** The receivers here are on loopback over http: an on-premise setup, allowed explicitly (the default refuses them). */
const onPremise = { allowPrivateTargets: true };
const servers: Server[] = [];
beforeEach(async () => {
  dir = await createTempDir('integr8s-notifications-');
  docs = createSqliteDocumentStore(openDatabase(join(dir.path, 'test.db')));
  bus = createInProcessBus();
  settings = createUserSettingsService({ store: new SettingsStore(docs) });
  store = new NotificationStore(docs);
  notifications = createNotificationService({
    store,
    bus,
    preferences: async (userId) => (await settings.get(userId)).notifications,
    deliverer: createHttpDeliverer({ timeoutMs: 500, attempts: 2, backoffMs: 10 }, onPremise),
    targets: onPremise,
    executionLang: async (id) => (id.startsWith('py') ? 'python' : null),
  });
});
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  await bus.close();
  await docs.close();
  await dir.cleanup();
});

const output = { stdout: 'hi\n', stderr: '', stdout_truncated: false, stderr_truncated: false, exit_code: 0 };
const usage = { execution_time_wall_seconds: 0.5, cpu_time_jiffies: 3, clk_tck_hertz: 100, peak_memory_kb: 9000 };
const completed = (id: string, userId: string | null = 'u1'): DomainEvent =>
  stampEvent('execution_completed', id, { execution_id: id, ...output, resource_usage: usage }, { user_id: userId });
const failed = (id: string, userId = 'u1'): DomainEvent =>
  stampEvent(
    'execution_failed',
    id,
    { execution_id: id, error_type: 'script_error', error_message: 'NameError', ...output, exit_code: 1, resource_usage: usage },
    { user_id: userId },
  );
const page = (userId: string, q: Partial<Parameters<NotificationService['list']>[1]> = {}) => notifications.list(userId, { limit: 50, offset: 0, ...q });

/** A webhook receiver on 127.0.0.1 answering `status`. */
async function receiver(status = 200): Promise<{ url: string; bodies: Array<Record<string, unknown>> }> {
  const bodies: Array<Record<string, unknown>> = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      bodies.push(JSON.parse(text) as Record<string, unknown>);
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, bodies };
}

describe('notification service (SQLite, in-process bus)', () => {
  it('one in-app notification per execution event, even when the event is handled twice; published on the bus once', async () => {
    const published: NotificationView[] = [];
    await bus.subscribe(notificationChannel('u1'), (p) => published.push(JSON.parse(p) as NotificationView));
    const event = completed('py-1');
    await notifications.onExecutionEvent(event);
    await notifications.onExecutionEvent(event);
    await Promise.all([notifications.onExecutionEvent(event), notifications.onExecutionEvent(event)]);
    const { notifications: list, total, unread_count } = await page('u1');
    expect(total).toBe(1);
    expect(unread_count).toBe(1);
    expect(list[0]).toMatchObject({
      channel: 'in_app',
      status: 'delivered',
      severity: 'medium',
      subject: 'Execution completed',
      action_url: '/api/v1/executions/py-1/result',
      tags: ['execution', 'completed', 'exec:py-1', 'lang:python'],
      read_at: null,
    });
    expect(published).toEqual([list[0]]);
  });

  it('skips events without a user, events that are not terminal outcomes, and stale events', async () => {
    await notifications.onExecutionEvent(completed('x-1', null));
    await notifications.onExecutionEvent(stampEvent('execution_running', 'x-2', { execution_id: 'x-2' }, { user_id: 'u1' }));
    // A new consumer group replays the log from its start: outcomes older than a day are not news.
    await notifications.onExecutionEvent({ ...completed('x-3'), timestamp: new Date(Date.now() - 25 * 3600 * 1000).toISOString() });
    expect((await page('u1')).total).toBe(0);
  });

  it('respects the settings toggles and the in-app subscription', async () => {
    await settings.update('u1', { notifications: { execution_completed: false } });
    await notifications.onExecutionEvent(completed('a-1'));
    await notifications.onExecutionEvent(failed('a-2'));
    expect((await page('u1')).notifications.map((n) => n.tags[1])).toEqual(['failed']);

    await notifications.updateSubscription('u1', 'in_app', { enabled: false });
    await notifications.onExecutionEvent(failed('a-3'));
    expect((await page('u1')).total).toBe(1);

    await notifications.updateSubscription('u1', 'in_app', { enabled: true, severities: ['urgent'] });
    await notifications.onExecutionEvent(failed('a-4'));
    await notifications.updateSubscription('u1', 'in_app', { enabled: true, severities: [], exclude_tags: ['failed'] });
    await notifications.onExecutionEvent(failed('a-5'));
    expect((await page('u1')).total).toBe(1);
  });

  it('tag filters, status filter, paging, unread count, mark read and all read, delete; owner only', async () => {
    await notifications.onExecutionEvent(completed('py-1'));
    await notifications.onExecutionEvent(failed('go-2'));
    await notifications.onExecutionEvent(completed('js-3'));
    await notifications.onExecutionEvent(completed('other', 'u2'));
    expect((await page('u1')).total).toBe(3);
    expect((await page('u1', { includeTags: ['failed'] })).notifications.map((n) => n.tags[2])).toEqual(['exec:go-2']);
    expect((await page('u1', { excludeTags: ['failed'] })).total).toBe(2);
    expect((await page('u1', { tagPrefix: 'lang:' })).notifications.map((n) => n.tags[2])).toEqual(['exec:py-1']);
    const firstPage = await page('u1', { limit: 2 });
    expect(firstPage).toMatchObject({ total: 3, unread_count: 3 });
    expect(firstPage.notifications).toHaveLength(2);
    expect((await page('u1', { limit: 2, offset: 2, excludeTags: ['nothing'] })).notifications).toHaveLength(1);

    const target = (await page('u1', { includeTags: ['exec:go-2'] })).notifications[0]!;
    await expect(notifications.markRead('u2', target.notification_id)).rejects.toMatchObject({ kind: 'NotFound' });
    await notifications.markRead('u1', target.notification_id);
    expect(await notifications.unreadCount('u1')).toBe(2);
    expect((await page('u1', { status: 'read' })).notifications.map((n) => n.notification_id)).toEqual([target.notification_id]);
    expect((await page('u1', { status: 'read' })).notifications[0]?.read_at).not.toBeNull();

    expect(await notifications.markAllRead('u1')).toBe(2);
    expect(await notifications.unreadCount('u1')).toBe(0);
    expect(await notifications.unreadCount('u2')).toBe(1);

    await expect(notifications.remove('u2', target.notification_id)).rejects.toBeInstanceOf(AppError);
    await notifications.remove('u1', target.notification_id);
    expect((await page('u1')).total).toBe(2);
  });

  it('webhook and Slack: delivered to a local server with the JSON payload, status recorded', async () => {
    const hook = await receiver(200);
    const slack = await receiver(200);
    await notifications.updateSubscription('u1', 'webhook', { enabled: true, webhook_url: hook.url });
    await notifications.updateSubscription('u1', 'slack', { enabled: true, slack_webhook: slack.url, include_tags: ['failed'] });
    await notifications.onExecutionEvent(completed('py-9'));
    const failure = failed('py-10');
    await notifications.onExecutionEvent(failure);
    await notifications.onExecutionEvent(failure);
    expect(hook.bodies).toHaveLength(2);
    expect(hook.bodies[0]).toMatchObject({ user_id: 'u1', subject: 'Execution completed', tags: ['execution', 'completed', 'exec:py-9', 'lang:python'] });
    expect(slack.bodies).toHaveLength(1);
    expect(String(slack.bodies[0]?.['text'])).toContain('*Execution failed*');
    const sent = await page('u1', { includeTags: ['exec:py-10'] });
    expect(sent.notifications.map((n) => [n.channel, n.status]).sort()).toEqual([
      ['in_app', 'delivered'],
      ['slack', 'delivered'],
      ['webhook', 'delivered'],
    ]);
  });

  it('a webhook that keeps failing is recorded as failed with its attempts; quiet hours hold the next one', async () => {
    const hook = await receiver(500);
    await notifications.updateSubscription('u1', 'webhook', { enabled: true, webhook_url: hook.url });
    await notifications.onExecutionEvent(failed('f-1'));
    expect(hook.bodies).toHaveLength(2);
    const stored = (await store.list('u1', { limit: 10, offset: 0, includeTags: ['exec:f-1'] })).items.find((n) => n.channel === 'webhook');
    expect(stored).toMatchObject({ status: 'failed', error_message: 'HTTP 500', delivered_at: null, attempts: 2, lease_until: 0 });

    await notifications.updateSubscription('u1', 'webhook', { enabled: true, quiet_hours_enabled: true, quiet_hours_start: '00:00', quiet_hours_end: '23:59' });
    await notifications.onExecutionEvent(failed('f-2'));
    const held = (await store.list('u1', { limit: 10, offset: 0, includeTags: ['exec:f-2'] })).items.find((n) => n.channel === 'webhook');
    expect(held).toMatchObject({ status: 'pending', hold_reason: 'quiet_hours', attempts: 0 });
    expect(Date.parse(held!.due_at!)).toBeGreaterThan(Date.now());
    expect(await notifications.sweep()).toBe(0);
    expect(hook.bodies).toHaveLength(2);
  });

  it('a delivery cut short (the handler threw) is tried again when the event is delivered again', async () => {
    const calls: string[] = [];
    const flaky = createNotificationService({
      store,
      bus,
      preferences: async (userId) => (await settings.get(userId)).notifications,
      deliverer: {
        async deliver(req) {
          calls.push(req.url);
          if (calls.length === 1) throw new Error('node stopped');
          return { ok: true, attempts: 1, status: 200 };
        },
      },
      targets: onPremise,
    });
    await flaky.updateSubscription('u1', 'webhook', { enabled: true, webhook_url: 'http://127.0.0.1:9/hook' });
    const event = failed('r-1');
    await expect(flaky.onExecutionEvent(event)).rejects.toThrow('node stopped');
    await flaky.onExecutionEvent(event);
    await flaky.onExecutionEvent(event);
    expect(calls).toHaveLength(2);
    const items = (await store.list('u1', { limit: 10, offset: 0 })).items;
    expect(items.map((n) => [n.channel, n.status]).sort()).toEqual([
      ['in_app', 'delivered'],
      ['webhook', 'delivered'],
    ]);
  });

  it('subscriptions: defaults for all channels; 422 naming the field for a bad or missing URL', async () => {
    expect((await notifications.subscriptions('u1')).map((s) => [s.channel, s.enabled])).toEqual([
      ['in_app', true],
      ['webhook', false],
      ['slack', false],
    ]);
    const missing = await notifications.updateSubscription('u1', 'webhook', { enabled: true }).catch((e: unknown) => e);
    expect((missing as AppError).extra.fields).toEqual([{ field: 'webhook_url', message: 'required to enable webhook notifications' }]);
    const bad = await notifications.updateSubscription('u1', 'slack', { enabled: true, slack_webhook: 'ftp://x' }).catch((e: unknown) => e);
    expect((bad as AppError).extra.fields?.map((f) => f.field)).toEqual(['slack_webhook']);
    const saved = await notifications.updateSubscription('u1', 'webhook', { enabled: true, webhook_url: 'https://example.com/h', severities: ['high'] });
    expect(saved).toMatchObject({ channel: 'webhook', enabled: true, webhook_url: 'https://example.com/h', severities: ['high'] });
    expect((await notifications.subscriptions('u1'))[1]).toEqual(saved);
  });

  it('the log handler parses records, ignores other event types, and cascade delete removes everything', async () => {
    const handle = notificationRecordHandler(notifications);
    const record = (e: DomainEvent) => ({ topic: 'execution_events', partition: 0, offset: 0, key: e.aggregate_id, value: JSON.stringify(e), headers: { event_type: e.event_type } });
    await handle(record(completed('py-1')));
    await handle(record(stampEvent('execution_running', 'py-1', { execution_id: 'py-1' }, { user_id: 'u1' })));
    expect((await page('u1')).total).toBe(1);
    // A replayed copy of a terminal event notifies nobody, even once its first notification was deleted.
    const replayed = completed('py-2');
    await handle({ ...record(replayed), headers: { event_type: replayed.event_type, 'x-replay-session': 'r1' } });
    expect((await page('u1')).total).toBe(1);
    await notifications.updateSubscription('u1', 'in_app', { enabled: true, include_tags: ['x'] });
    expect(await notifications.deleteAllFor('u1')).toEqual({ notifications: 1 });
    expect((await page('u1')).total).toBe(0);
    expect((await notifications.subscriptions('u1'))[0]?.include_tags).toEqual([]);
  });
});
