/**
 * Cluster mode: three nodes, each with its own MongoDB client (FerretDB here) on one database, sweep the same held
 * notifications and digest at the same time; the receiver gets every copy and the digest exactly once.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createMongoDocumentStore } from '../../bridges/mongo/document-store.js';
import { closeAdminClient, dropDatabase, freshDatabase } from '../../bridges/mongo/mongo.fixture.js';
import { mongoUrl } from '../../test/support/infra.js';
import type { NotificationDraft } from '../domain/notifications.js';
import { createInProcessBus } from '../embedded/fanout-bus.js';
import type { DocumentStore } from '../ports/document-store.js';
import { NotificationStore } from '../stores/notification-store.js';
import { createHttpDeliverer } from './notification-delivery.js';
import { createNotificationService, type NotificationService } from './notifications.js';

const database = freshDatabase();
const stores: DocumentStore[] = [];
const services: NotificationService[] = [];
const bus = createInProcessBus();
let server: Server | undefined;
afterAll(async () => {
  for (const s of services) await s.stop();
  for (const s of stores) await s.close();
  await bus.close();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  await dropDatabase(database);
  await closeAdminClient();
});

const draft = (n: number): NotificationDraft => ({ kind: 'execution_completed', severity: 'medium', subject: `Subject ${n}`, body: 'b', action_url: '', tags: [] });

describe('notification sweeps on MongoDB', () => {
  it('three nodes sweeping at once send each held copy and the digest exactly once', async () => {
    const url = await mongoUrl();
    let nowMs = Date.parse('2026-03-02T23:00:00.000Z');
    const nodes = [0, 1, 2].map(() => {
      const docs = createMongoDocumentStore({ url, database });
      stores.push(docs);
      const service = createNotificationService({
        store: new NotificationStore(docs),
        bus,
        preferences: async () => ({ execution_completed: true, execution_failed: true, system_updates: true, security_alerts: true, channels: ['in_app'] }),
        // The receiver is on loopback over http: allowed explicitly, as an on-premise operator would.
        deliverer: createHttpDeliverer({ timeoutMs: 5_000, attempts: 2, backoffMs: 10 }, { allowPrivateTargets: true }),
        targets: { allowPrivateTargets: true },
        clock: () => new Date(nowMs),
      });
      services.push(service);
      return service;
    });
    const got: Array<Record<string, any>> = [];
    server = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        got.push(JSON.parse(text) as Record<string, any>);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const hook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const quiet = { quiet_hours_enabled: true, quiet_hours_start: '22:00', quiet_hours_end: '07:00', timezone: 'UTC' };
    await nodes[0]!.updateSubscription('u1', 'webhook', { enabled: true, webhook_url: hook, ...quiet });
    await nodes[0]!.updateSubscription('u2', 'webhook', { enabled: true, webhook_url: hook, ...quiet, batching_interval_seconds: 30 });
    for (let i = 1; i <= 10; i++) await nodes[i % 3]!.notify('u1', draft(i), `m${i}`);
    for (let i = 1; i <= 4; i++) await nodes[i % 3]!.notify('u2', draft(i), `d${i}`);
    expect(got).toHaveLength(0);

    nowMs = Date.parse('2026-03-03T07:00:30.000Z');
    const handled = await Promise.all(nodes.map((n) => n.sweep()));
    expect(handled.reduce((a, b) => a + b, 0)).toBe(14);
    expect(await Promise.all(nodes.map((n) => n.sweep()))).toEqual([0, 0, 0]);
    const singles = got.filter((b) => b['type'] === 'notification').map((b) => b['subject'] as string);
    expect(singles.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `Subject ${i + 1}`).sort());
    const digests = got.filter((b) => b['type'] === 'digest');
    expect(digests).toHaveLength(1);
    expect(digests[0]).toMatchObject({ user_id: 'u2', count: 4 });
  }, 120_000);
});
