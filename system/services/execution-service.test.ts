import { describe, expect, it } from 'vitest';
import { staticRuntimes } from '../../test/support/http-stack.js';
import { createTempDir } from '../../test/support/temp-dir.js';
import { createSqliteDocumentStore } from '../embedded/document-store.js';
import { createSqliteEventLog } from '../embedded/event-log.js';
import { createInProcessBus } from '../embedded/fanout-bus.js';
import { openDataDir } from '../embedded/sqlite.js';
import { EventPublisher } from '../events/publisher.js';
import type { EventLog } from '../ports/event-log.js';
import { EventStore } from '../stores/event-store.js';
import { ExecutionStore } from '../stores/execution-store.js';
import { IdempotencyStore } from '../stores/idempotency-store.js';
import { createExecutionService } from './execution-service.js';

const limits = { wallMs: 1000, cpuMs: 1000, memoryBytes: 1 << 26, pids: 16, outputBytes: 1 << 16, fileBytes: 1 << 20, tmpfsBytes: 1 << 20 };

describe('execution service: submitting while the event log is down', () => {
  it('accepts within the wait, with the stored record holding its request event for the sweep', async () => {
    const dir = await createTempDir();
    const db = openDataDir(dir.path);
    const store = createSqliteDocumentStore(db);
    const log = createSqliteEventLog(db, { partitions: 2 });
    const hanging: EventLog = { ...log, partitions: log.partitions, append: () => new Promise(() => {}) };
    const bus = createInProcessBus();
    const executions = new ExecutionStore(store);
    const deferred: string[] = [];
    const service = createExecutionService({
      executions,
      events: new EventStore(store),
      idempotency: new IdempotencyStore(store),
      publisher: new EventPublisher(new EventStore(store), hanging, bus),
      runtimes: staticRuntimes,
      partitions: 2,
      limits: () => limits,
      cpuMillicores: 1000,
      streams: { open: () => {} },
      publishWaitMs: 200,
      onPublishDeferred: (_err, id) => deferred.push(id),
    });
    const started = Date.now();
    const res = await service.submit({ script: 'print(1)', lang: 'python', lang_version: '3.11' }, { userId: 'u1', role: 'user', ip: '1' });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(res.status).toBe('queued');
    expect(deferred).toEqual([res.execution_id]);
    const record = await executions.get(res.execution_id);
    expect(record).toMatchObject({ status: 'queued', outbox_pending: true });
    expect(record?.outbox.map((e) => (e as { event_type: string }).event_type)).toEqual(['execution_requested']);
    await log.close();
    await bus.close();
    await store.close();
    await dir.cleanup();
  });
});
