/**
 * The subscription API refuses delivery targets that would make the server reach itself or its private network
 * (SSRF): 422 naming `webhook_url` / `slack_webhook`, through the real route on a real socket; the operator's
 * NOTIFICATION_ALLOW_PRIVATE_TARGETS policy lets on-premise http and private targets through, never link-local.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteDocumentStore } from '../../system/embedded/document-store.js';
import { createInProcessBus } from '../../system/embedded/fanout-bus.js';
import { openDatabase } from '../../system/embedded/sqlite.js';
import type { DocumentStore } from '../../system/ports/document-store.js';
import type { FanoutBus } from '../../system/ports/fanout-bus.js';
import { STRICT_TARGETS, type OutboundTargetPolicy } from '../../system/security/outbound-targets.js';
import { createHttpDeliverer } from '../../system/services/notification-delivery.js';
import { createNotificationService } from '../../system/services/notifications.js';
import { NotificationStore } from '../../system/stores/notification-store.js';
import { createTempDir, type TempDir } from '../../test/support/temp-dir.js';
import { testCallerResolver, testUser } from '../test-caller.js';
import { startHarness, type Harness } from '../test-support.js';
import { notificationRoutes } from './notifications.js';

let dir: TempDir;
let docs: DocumentStore;
let bus: FanoutBus;
let h: Harness | undefined;
beforeEach(async () => {
  dir = await createTempDir('integr8s-notification-targets-');
  docs = createSqliteDocumentStore(openDatabase(join(dir.path, 'test.db')));
  bus = createInProcessBus();
});
afterEach(async () => {
  await h?.server.close();
  h = undefined;
  await bus.close();
  await docs.close();
  await dir.cleanup();
});

/** The notifications API on a real server, its service and deliverer under one target policy. */
async function serve(targets: OutboundTargetPolicy): Promise<void> {
  const notifications = createNotificationService({
    store: new NotificationStore(docs),
    bus,
    preferences: async () => ({ execution_completed: true, execution_failed: true, system_updates: true, security_alerts: true, channels: ['in_app'] }),
    deliverer: createHttpDeliverer(undefined, targets),
    targets,
  });
  h = await startHarness({ routes: [notificationRoutes({ notifications })], resolveCaller: testCallerResolver() });
}

/** PUT one channel's subscription; the status and, on 422, the field errors. */
async function put(channel: 'webhook' | 'slack', body: Record<string, unknown>): Promise<{ status: number; errors: Array<{ field: string; message: string }> }> {
  const res = await fetch(`${h!.base}/api/v1/notifications/subscriptions/${channel}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...testUser('alice') },
    body: JSON.stringify({ enabled: true, ...body }),
  });
  const json = (await res.json()) as { errors?: Array<{ field: string; message: string }> };
  return { status: res.status, errors: json.errors ?? [] };
}

describe('subscription targets by default (public https only)', () => {
  it.each([
    ['http://hooks.example.com/in', 'must be an https URL'],
    ['https://alice:hunter2@hooks.example.com/in', 'must not contain a user name or password'],
    ['https://localhost:8080/in', 'host localhost is this server, not allowed'],
    ['https://kafka.localhost/in', 'host kafka.localhost is this server, not allowed'],
    ['https://127.0.0.1:6379/', 'target address 127.0.0.1 is not allowed (loopback)'],
    ['https://10.0.0.5/in', 'target address 10.0.0.5 is not allowed (private network)'],
    ['https://172.20.1.1:27017/', 'target address 172.20.1.1 is not allowed (private network)'],
    ['https://192.168.1.1/', 'target address 192.168.1.1 is not allowed (private network)'],
    ['https://100.100.100.200/latest/meta-data', 'target address 100.100.100.200 is not allowed (carrier-grade NAT)'],
    ['https://169.254.169.254/latest/meta-data/', 'target address 169.254.169.254 is not allowed (link-local)'],
    ['https://[::1]:6443/api', 'target address ::1 is not allowed (loopback)'],
    ['https://[fd00:ec2::254]/', 'target address fd00:ec2::254 is not allowed (unique-local)'],
    ['https://[::ffff:10.0.0.5]/', 'target address ::ffff:a00:5 is not allowed (private network)'],
  ])('webhook_url %s → 422: %s', async (url, message) => {
    await serve(STRICT_TARGETS);
    expect(await put('webhook', { webhook_url: url })).toEqual({ status: 422, errors: [{ field: 'webhook_url', message }] });
  });

  it('Slack incoming webhooks must be https and public; a public https URL of either kind is saved', async () => {
    await serve(STRICT_TARGETS);
    expect(await put('slack', { slack_webhook: 'http://hooks.slack.com/services/T0/B0/x' })).toEqual({
      status: 422,
      errors: [{ field: 'slack_webhook', message: 'Slack incoming webhooks must be https URLs' }],
    });
    expect(await put('slack', { slack_webhook: 'https://192.168.0.9/hooks/x' })).toEqual({
      status: 422,
      errors: [{ field: 'slack_webhook', message: 'target address 192.168.0.9 is not allowed (private network)' }],
    });
    expect(await put('slack', { slack_webhook: 'https://hooks.slack.com/services/T0/B0/x' })).toMatchObject({ status: 200 });
    expect(await put('webhook', { webhook_url: 'https://hooks.example.com/in' })).toMatchObject({ status: 200 });
  });
});

describe('subscription targets with private targets allowed (on premise)', () => {
  it('http and private or loopback targets are saved; link-local and credentials are still refused', async () => {
    await serve({ allowPrivateTargets: true });
    expect(await put('webhook', { webhook_url: 'http://10.0.0.5:8080/in' })).toMatchObject({ status: 200 });
    expect(await put('webhook', { webhook_url: 'http://localhost:9000/in' })).toMatchObject({ status: 200 });
    expect(await put('slack', { slack_webhook: 'http://mattermost.corp.internal/hooks/abc' })).toMatchObject({ status: 200 });
    expect(await put('webhook', { webhook_url: 'http://169.254.169.254/latest/meta-data/' })).toEqual({
      status: 422,
      errors: [{ field: 'webhook_url', message: 'target address 169.254.169.254 is not allowed (link-local)' }],
    });
    expect(await put('webhook', { webhook_url: 'http://user:pw@10.0.0.5/in' })).toEqual({
      status: 422,
      errors: [{ field: 'webhook_url', message: 'must not contain a user name or password' }],
    });
  });
});
