/**
 * The replay runner under faults, on the real SQLite store and a real target: a store write that fails mid-run
 * crashes the runner, which restarts from the stored cursor and completes (the batch whose progress was not stored
 * is sent again: at least once); a runner that keeps failing stops within its restart budget and its session
 * shows as stalled once the lease runs out.
 */
import { start as startActors, stop as stopActors, type Ref } from 'nact';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ReplayConfigSchema } from '../../system/domain/replay.js';
import { createSqliteDocumentStore } from '../../system/embedded/document-store.js';
import { openDataDir } from '../../system/embedded/sqlite.js';
import type { Collection, Doc, DocumentStore } from '../../system/ports/document-store.js';
import { completedRunEvents, storeEvents } from '../../system/services/replay/replay.fixture.js';
import { createReplayService, type ReplayService } from '../../system/services/replay/service.js';
import type { ReplayItem, ReplayTargets } from '../../system/services/replay/targets.js';
import { createInProcessBus } from '../../system/embedded/fanout-bus.js';
import { EventStore } from '../../system/stores/event-store.js';
import { ReplayStore } from '../../system/stores/replay-store.js';
import { createTempDir, type TempDir } from '../../test/support/temp-dir.js';
import { waitFor } from '../../test/support/wait.js';
import { CrashLedger } from '../supervision/policy.js';
import { ReplayRunners } from './runners.js';

/** Session writes fail while `faults.updates` > 0 (each failure counts it down; Infinity: always). */
const faults = { updates: 0 };
function faultySessions(real: DocumentStore): DocumentStore {
  return {
    ping: () => real.ping(),
    close: () => real.close(),
    collection<T extends Doc>(name: string, options?: Parameters<DocumentStore['collection']>[1]): Collection<T> {
      const c = real.collection<T>(name, options);
      if (name !== 'replay_sessions') return c;
      return {
        ...c,
        insert: (d) => c.insert(d),
        get: (id) => c.get(id),
        put: (d) => c.put(d),
        update: async (id, patch) => {
          // Progress writes only (a claim or a status change goes through).
          if ('replayed_events' in patch && faults.updates > 0) {
            faults.updates--;
            throw new Error('store write failed');
          }
          return c.update(id, patch);
        },
        increment: (id, f, by) => c.increment(id, f, by),
        delete: (id) => c.delete(id),
        find: (f, o) => c.find(f, o),
        count: (f) => c.count(f),
      };
    },
  };
}

let dir: TempDir;
let store: DocumentStore;
let root: Ref<unknown>;
let service: ReplayService;
let crashes: CrashLedger;
const sent: ReplayItem[] = [];

beforeEach(async () => {
  dir = await createTempDir('integr8s-replay-actor-');
  store = faultySessions(createSqliteDocumentStore(openDataDir(dir.path)));
  root = startActors() as Ref<unknown>;
  crashes = new CrashLedger();
  sent.length = 0;
  faults.updates = 0;
  // A target that keeps what it is sent.
  const targets: ReplayTargets = {
    open: async () => ({ send: async (items) => (sent.push(...items), items.map(() => null)), close: async () => undefined }),
    fileOf: (id) => ({ file_name: id, file_path: id }),
    removeFile: async () => undefined,
  };
  const sessions = new ReplayStore(store);
  const events = new EventStore(store);
  const common = { sessions, events, targets, nodeId: 'n1', leaseMs: 300 };
  const runners = new ReplayRunners(root, {
    ...common,
    pollMs: 50,
    counters: { replayed: 0, failed: 0 },
    policy: { initialMs: 10, factor: 2, maxMs: 50, maxRestarts: 3, windowMs: 60_000 },
    crashes,
    log: { warn: () => undefined },
  });
  service = createReplayService({ ...common, runners, bus: createInProcessBus() });
});
afterEach(async () => {
  stopActors(root);
  await store.close();
  await dir.cleanup();
});

const config = ReplayConfigSchema.parse({ replay_type: 'execution', target: 'test', filter: { execution_id: 'x' }, speed_multiplier: 100, batch_size: 2 });

describe('replay runner', () => {
  it('restarts after a failed progress write and completes from the stored cursor', async () => {
    const events = completedRunEvents('x', 'u', Date.now() - 60_000, 1);
    await storeEvents(store, events);
    faults.updates = 1;
    const { session_id } = await service.create(config, null);
    await service.start(session_id);
    const done = await waitFor(async () => {
      const s = await service.get(session_id);
      return s.status === 'completed' ? s : null;
    }, { message: 'completed' });
    expect(done).toMatchObject({ replayed_events: 8, cursor: events[7]!.event_id });
    // The first batch's progress was lost with the crash, so that batch went out twice; then every event once, in order.
    const ids = sent.map((i) => i.event.event_id);
    const all = events.map((e) => e.event_id);
    const again = ids.length - all.length;
    expect(again).toBeGreaterThanOrEqual(1);
    expect(again).toBeLessThanOrEqual(config.batch_size);
    expect(ids).toEqual([...all.slice(0, again), ...all]);
    expect(crashes.latest().map((c) => c.decision)).toEqual(['restart']);
  });

  it('gives up past its restart budget; the session then shows as stalled and resumes elsewhere', async () => {
    await storeEvents(store, completedRunEvents('x', 'u', Date.now() - 60_000, 1));
    faults.updates = Infinity;
    const { session_id } = await service.create(config, null);
    await service.start(session_id);
    const stalled = await waitFor(async () => {
      const s = await service.get(session_id);
      return s.stalled ? s : null;
    }, { message: 'stalled' });
    expect(stalled).toMatchObject({ status: 'running', owner_node: 'n1', replayed_events: 0 });
    expect(crashes.latest().map((c) => c.decision)).toEqual(['restart', 'restart', 'restart', 'escalate']);
    faults.updates = 0;
    expect((await service.resume(session_id)).status).toBe('running');
    await waitFor(async () => (await service.get(session_id)).status === 'completed', { message: 'completed after resume' });
  });
});
