import { describe, expect, it } from 'vitest';
import { stampEvent } from '../domain/events.js';
import { createSqliteDocumentStore } from '../embedded/document-store.js';
import { createSqliteEventLog } from '../embedded/event-log.js';
import { createInProcessBus } from '../embedded/fanout-bus.js';
import { openDataDir } from '../embedded/sqlite.js';
import type { EventLog } from '../ports/event-log.js';
import type { FanoutBus } from '../ports/fanout-bus.js';
import { EventStore } from '../stores/event-store.js';
import { createTempDir } from '../../test/support/temp-dir.js';
import { EventPublisher } from './publisher.js';

const event = () => stampEvent('execution_running', 'exec-1', { execution_id: 'exec-1' }, { user_id: null });

async function parts() {
  const dir = await createTempDir();
  const db = openDataDir(dir.path);
  const store = createSqliteDocumentStore(db);
  const log = createSqliteEventLog(db, { partitions: 2 });
  const bus = createInProcessBus();
  return {
    events: new EventStore(store),
    log,
    bus,
    async cleanup() {
      await log.close();
      await bus.close();
      await store.close();
      await dir.cleanup();
    },
  };
}

describe('EventPublisher', () => {
  it('a bus that is down does not fail the publish: the event is stored and logged, the fault reported', async () => {
    const p = await parts();
    const down: FanoutBus = { ...p.bus, publish: async () => Promise.reject(new Error('redis is down')) };
    const faults: string[] = [];
    const publisher = new EventPublisher(p.events, p.log, down, (err) => faults.push((err as Error).message));
    const e = event();
    await expect(publisher.publish(e)).resolves.toBeUndefined();
    expect(faults).toEqual(['redis is down']);
    expect((await p.events.forAggregate('exec-1', {})).map((x) => x.event_id)).toEqual([e.event_id]);
    await p.cleanup();
  });

  it('events streams do not show are stored and logged but not fanned out', async () => {
    const p = await parts();
    const frames: string[] = [];
    await p.bus.subscribe('execution:exec-1', (payload) => frames.push(payload));
    const publisher = new EventPublisher(p.events, p.log, p.bus);
    const stdin = stampEvent('execution_stdin_requested', 'exec-1', { execution_id: 'exec-1', data: 'typed', eof: false }, { user_id: 'u1' });
    await publisher.publish(stdin);
    await publisher.publish(event());
    expect(frames.map((f) => (JSON.parse(f) as { event_type: string }).event_type)).toEqual(['execution_running']);
    expect((await p.events.forAggregate('exec-1', {})).map((x) => x.event_type)).toEqual(['execution_stdin_requested', 'execution_running']);
    await p.cleanup();
  });

  it('a log that is down fails the publish, so the caller keeps the event in its outbox', async () => {
    const p = await parts();
    const down: EventLog = { ...p.log, partitions: p.log.partitions, append: async () => Promise.reject(new Error('kafka is down')) };
    const publisher = new EventPublisher(p.events, down, p.bus);
    await expect(publisher.publish(event())).rejects.toThrow('kafka is down');
    await p.cleanup();
  });
});
