/**
 * Replay sessions on real embedded components (SQLite store and log, in-process bus, nact runners), two nodes
 * sharing them: order and marking of replayed records, pacing, pause/resume/cancel from another node, file output,
 * retries and skipped errors, a stalled session resumed elsewhere.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMongoDocumentStore } from '../../../bridges/mongo/document-store.js';
import { closeAdminClient, dropDatabase, freshDatabase } from '../../../bridges/mongo/mongo.fixture.js';
import { mongoUrl } from '../../../test/support/infra.js';
import { parseEvent, stampEvent, type DomainEvent } from '../../domain/events.js';
import { REPLAY_HEADER, ReplayConfigSchema, type ReplayConfig } from '../../domain/replay.js';
import { createSqliteDocumentStore } from '../../embedded/document-store.js';
import { createSqliteEventLog } from '../../embedded/event-log.js';
import { createInProcessBus } from '../../embedded/fanout-bus.js';
import { openDataDir } from '../../embedded/sqlite.js';
import { TOPICS } from '../../events/topics.js';
import type { DocumentStore } from '../../ports/document-store.js';
import type { EventLog, LogRecord } from '../../ports/event-log.js';
import type { FanoutBus } from '../../ports/fanout-bus.js';
import { createTempDir, type TempDir } from '../../../test/support/temp-dir.js';
import { delay, waitFor } from '../../../test/support/wait.js';
import { completedRunEvents, replaySessions, startReplayNode, storeEvents, type ReplayNode } from './replay.fixture.js';

let dir: TempDir;
let store: DocumentStore;
let eventLog: EventLog;
let bus: FanoutBus;
let nodes: ReplayNode[];
/** Appends fail for these event ids (count of failures left; Infinity: always). */
const failing = new Map<string, number>();

/** The two stores sessions live in: SQLite (embedded mode) and MongoDB (cluster mode; FerretDB here). */
const STORES = {
  'embedded (SQLite)': async (db: ReturnType<typeof openDataDir>) => ({ store: createSqliteDocumentStore(db), drop: async () => undefined }),
  'MongoDB (FerretDB)': async () => {
    const database = freshDatabase();
    return { store: createMongoDocumentStore({ url: await mongoUrl(), database }), drop: () => dropDatabase(database) };
  },
};
let drop: () => Promise<void>;
afterAll(closeAdminClient);

describe.each(Object.keys(STORES) as Array<keyof typeof STORES>)('replay sessions on %s', (kind) => {
  beforeEach(async () => {
    dir = await createTempDir('integr8s-replay-');
    const db = openDataDir(dir.path);
    ({ store, drop } = await STORES[kind](db));
    const real = createSqliteEventLog(db, { partitions: 4 });
    // The real log, with appends of chosen events failing (a broker refusing them).
    const refusal = (value: string): Error | null => {
      const id = (JSON.parse(value) as { event_id: string }).event_id;
      const left = failing.get(id) ?? 0;
      if (left === 0) return null;
      failing.set(id, left - 1);
      return new Error(`broker refused ${id}`);
    };
    eventLog = {
      ...real,
      append: async (topic, key, value, headers) => {
        const refused = refusal(value);
        if (refused) throw refused;
        return real.append(topic, key, value, headers);
      },
      appendMany: async (records) => {
        const results = records.map((r) => refusal(r.value));
        const taken = records.filter((_, i) => !results[i]);
        const written = await real.appendMany(taken);
        let k = 0;
        return results.map((refused) => refused ?? written[k++] ?? null);
      },
    };
    bus = createInProcessBus();
    failing.clear();
    const shared = { store, eventLog, bus, replayDir: join(dir.path, 'replays') };
    nodes = [await startReplayNode(shared, 'node-a'), await startReplayNode(shared, 'node-b')];
  });

  afterEach(async () => {
    for (const n of nodes) await n.stop();
    await eventLog.close();
    await bus.close();
    await store.close();
    await drop();
    await dir.cleanup();
  });

  const [a, b] = [() => nodes[0]!.replay.service, () => nodes[1]!.replay.service];
  const config = (c: Partial<ReplayConfig> & Record<string, unknown>): ReplayConfig => ReplayConfigSchema.parse({ replay_type: 'execution', ...c });

  /** Records of the log's execution topics that carry the replay header of `sessionId`, in log order per partition. */
  async function replayed(sessionId: string, atLeast: number, group = `reader-${sessionId}`): Promise<LogRecord[]> {
    const seen: LogRecord[] = [];
    const consumer = await eventLog.consume({ group, topics: [TOPICS.executionCommands, TOPICS.executionEvents] }, async (r) => {
      if (r.headers[REPLAY_HEADER] === sessionId) seen.push(r);
    });
    try {
      await waitFor(() => seen.length >= atLeast, { timeoutMs: 10_000, message: `${atLeast} replayed records` });
      return seen;
    } finally {
      await consumer.stop();
    }
  }

  const finished = (id: string, status = 'completed') =>
    waitFor(async () => {
      const s = await a().get(id);
      return s.status === status ? s : null;
    }, { timeoutMs: 15_000, message: `session ${status}` });

  /** One execution's events in the order of their ids (the order a replay must keep). */
  const byId = (events: DomainEvent[]) => [...events].sort((x, y) => (x.event_id < y.event_id ? -1 : 1));

    it('replays one execution to the log in order, marked, with the original ids, and only that execution', async () => {
      const t0 = Date.now() - 60_000;
      const one = completedRunEvents('exec-1', 'alice', t0, 3);
      const other = completedRunEvents('exec-2', 'bob', t0 + 100, 3);
      await storeEvents(store, [...one, ...other]);

      const created = await a().create(config({ filter: { execution_id: 'exec-1' }, speed_multiplier: 100, batch_size: 3 }), 'root');
      expect(created).toEqual({ session_id: created.session_id, status: 'created', message: 'Replay session created' });
      expect((await a().start(created.session_id)).status).toBe('running');
      const done = await finished(created.session_id);
      expect(done).toMatchObject({ total_events: 8, replayed_events: 8, failed_events: 0, skipped_events: 0, progress_percentage: 100, owner_node: null, stalled: false });

      const records = await replayed(created.session_id, 8);
      // One key: one partition, so log order is replay order.
      expect(new Set(records.map((r) => r.key))).toEqual(new Set(['exec-1']));
      const sent = records.map((r) => parseEvent(JSON.parse(r.value)));
      expect(sent.map((e) => e.event_id)).toEqual(byId(one).map((e) => e.event_id));
      expect(records.map((r) => r.topic)).toEqual(one.map((e) => (e.event_type === 'execution_requested' ? TOPICS.executionCommands : TOPICS.executionEvents)));
      for (const [i, r] of records.entries()) {
        const raw = JSON.parse(r.value);
        expect(raw.metadata.replay_session_id).toBe(created.session_id);
        expect(r.headers['x-replay-original-timestamp']).toBe(one[i]!.timestamp);
        // Not preserved: stamped when sent.
        expect(Date.parse(raw.timestamp)).toBeGreaterThan(t0 + 1000);
      }
    });

    it('preserves timestamps, maps topics, and stops at max_events', async () => {
      const events = completedRunEvents('exec-3', 'alice', Date.now() - 60_000, 2);
      await storeEvents(store, events);
      const { session_id } = await a().create(
        config({ filter: { aggregate_id: 'exec-3', exclude_event_types: ['result_stored'] }, preserve_timestamps: true, max_events: 5, speed_multiplier: 100, target_topics: { execution_requested: 'audit.requests' } }),
        null,
      );
      await a().start(session_id);
      expect(await finished(session_id)).toMatchObject({ total_events: 5, replayed_events: 5 });
      const records = await replayed(session_id, 4);
      expect(records.map((r) => JSON.parse(r.value).timestamp)).toEqual(events.slice(1, 5).map((e) => e.timestamp));
      const audit: LogRecord[] = [];
      const c = await eventLog.consume({ group: 'audit', topics: ['audit.requests'] }, async (r) => void audit.push(r));
      await waitFor(() => audit.length === 1, { message: 'the mapped topic' });
      await c.stop();
      expect(JSON.parse(audit[0]!.value)).toMatchObject({ event_id: events[0]!.event_id, timestamp: events[0]!.timestamp });
    });

    it('reads the next page while a batch is sent: over several pages, every event once, in id order, up to max_events', async () => {
      const t0 = Date.now() - 60_000;
      const events = Array.from({ length: 140 }, (_, run) => completedRunEvents(`exec-p${run}`, 'carol', t0 + run, 0)).flat();
      await storeEvents(store, events);
      // Pages hold 500 events; 1 057 ends inside the third, and batches of 150 straddle the pages.
      const { session_id } = await a().create(config({ replay_type: 'query', filter: { user_id: 'carol' }, speed_multiplier: 100, batch_size: 150, max_events: 1057 }), null);
      await a().start(session_id);
      expect(await finished(session_id)).toMatchObject({ total_events: 1057, replayed_events: 1057, failed_events: 0 });
      const records = await replayed(session_id, 1057);
      await delay(200);
      const expected = byId(events).slice(0, 1057).map((e) => e.event_id);
      const sent = records.map((r) => JSON.parse(r.value).event_id as string);
      expect(sent.length).toBe(1057);
      expect(new Set(sent)).toEqual(new Set(expected));
      // Each key's records are in its partition in event-id order.
      for (const key of new Set(records.map((r) => r.key))) {
        const ofKey = records.filter((r) => r.key === key).map((r) => JSON.parse(r.value).event_id as string);
        expect(ofKey).toEqual(expected.filter((id) => ofKey.includes(id)));
      }
    });

    it('spaces events by their original gaps divided by the multiplier, and is paused, resumed and cancelled from the other node', async () => {
      // 20 events 150 ms apart at speed 1: about 3 s in all; the other node pauses it after a few.
      const events = [...completedRunEvents('exec-4', 'alice', Date.now() - 60_000, 150), ...completedRunEvents('exec-5', 'alice', Date.now() - 58_800, 150)].slice(0, 16);
      await storeEvents(store, events);
      const { session_id } = await a().create(config({ filter: { user_id: 'alice' }, speed_multiplier: 1, batch_size: 10 }), null);
      await a().start(session_id);
      await waitFor(async () => (await b().get(session_id)).replayed_events >= 3, { message: 'a few replayed' });
      const running = await b().get(session_id);
      expect(running).toMatchObject({ status: 'running', owner_node: 'node-a', stalled: false });
      // Paced: far from all of them yet.
      expect(running.replayed_events).toBeLessThan(12);

      const paused = await b().pause(session_id);
      expect(paused).toMatchObject({ status: 'paused', message: 'Replay session paused' });
      const at = (await b().get(session_id)).replayed_events;
      await new Promise((r) => setTimeout(r, 600));
      expect((await a().get(session_id)).replayed_events).toBe(at);
      expect(nodes[0]!.replay.runners.running()).toEqual([]);

      // Resumed on node b, which now runs it to the end: every event exactly once, in order.
      expect(await b().resume(session_id)).toMatchObject({ status: 'running', message: 'Replay session resumed' });
      expect((await b().get(session_id)).owner_node).toBe('node-b');
      const done = await finished(session_id);
      expect(done.replayed_events).toBe(16);
      const records = await replayed(session_id, 16);
      const ids = records.map((r) => JSON.parse(r.value).event_id as string);
      expect(new Set(ids).size).toBe(16);
      for (const key of ['exec-4', 'exec-5']) {
        expect(records.filter((r) => r.key === key).map((r) => JSON.parse(r.value).event_id)).toEqual(byId(events.filter((e) => e.aggregate_id === key)).map((e) => e.event_id));
      }

      // Cancel mid-run, asked of the node not running it.
      const again = await a().create(config({ filter: { user_id: 'alice' }, speed_multiplier: 1 }), null);
      await a().start(again.session_id);
      await waitFor(async () => (await a().get(again.session_id)).replayed_events >= 1, { message: 'started' });
      expect(await b().cancel(again.session_id)).toMatchObject({ status: 'cancelled' });
      const cancelled = await a().get(again.session_id);
      expect(cancelled.status).toBe('cancelled');
      expect(cancelled.replayed_events).toBeLessThan(16);
      expect(cancelled.completed_at).not.toBeNull();
      await expect(a().cancel(again.session_id)).rejects.toMatchObject({ kind: 'InvalidState' });
      await expect(a().start(again.session_id)).rejects.toMatchObject({ kind: 'InvalidState' });
    });

    it('writes JSON lines to a file named after the session in the replay directory', async () => {
      const events = completedRunEvents('exec-6', 'carol', Date.now() - 60_000, 1);
      await storeEvents(store, events);
      const { session_id } = await a().create(config({ target: 'file', filter: { execution_id: 'exec-6' }, speed_multiplier: 100 }), null);
      const created = await a().get(session_id);
      expect(created.file_name).toBe(`replay-${session_id}.jsonl`);
      expect(created.file_path).toBe(join(dir.path, 'replays', `replay-${session_id}.jsonl`));
      await a().start(session_id);
      await finished(session_id);
      const lines = (await readFile(created.file_path!, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l));
      expect(lines.map((l) => l.event_id)).toEqual(events.map((e) => e.event_id));
      expect(lines.map((l) => parseEvent(l).event_type)).toEqual(events.map((e) => e.event_type));
      expect(lines[0].metadata.replay_session_id).toBe(session_id);

      // Cleanup removes the finished session and its file (here: everything finished before a moment from now).
      expect((await a().cleanup(1)).removed_sessions).toBe(0);
      await replaySessions(store).update(session_id, { completed_at: new Date(Date.now() - 2 * 3600_000).toISOString() });
      expect(await a().cleanup(1)).toMatchObject({ removed_sessions: 1 });
      await expect(readFile(created.file_path!)).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(a().get(session_id)).rejects.toMatchObject({ kind: 'NotFound' });
    });

    it('retries failed events, skips the ones that keep failing with skip_errors, and fails without it', async () => {
      const events = completedRunEvents('exec-7', 'dave', Date.now() - 60_000, 1);
      await storeEvents(store, events);
      failing.set(events[2]!.event_id, 2); // succeeds on the third attempt
      failing.set(events[5]!.event_id, Infinity);
      const skip = await a().create(config({ target: 'kafka', filter: { execution_id: 'exec-7' }, speed_multiplier: 100, retry_failed: true, retry_attempts: 3 }), null);
      await a().start(skip.session_id);
      const done = await finished(skip.session_id);
      expect(done).toMatchObject({ replayed_events: 7, failed_events: 1, skipped_events: 1 });
      expect(done.errors).toEqual([{ timestamp: expect.any(String), error: `broker refused ${events[5]!.event_id}`, error_type: 'Error', event_id: events[5]!.event_id }]);
      expect(failing.get(events[2]!.event_id)).toBe(0);

      const strict = await a().create(config({ target: 'kafka', filter: { execution_id: 'exec-7' }, speed_multiplier: 100, skip_errors: false, batch_size: 1 }), null);
      await a().start(strict.session_id);
      const failed = await finished(strict.session_id, 'failed');
      expect(failed).toMatchObject({ replayed_events: 5, failed_events: 1, skipped_events: 0 });
      // The cursor stays on the last event delivered before the one that failed.
      expect(failed.cursor).toBe(events[4]!.event_id);
      expect(failed.errors.map((e) => e.event_id)).toEqual([events[5]!.event_id]);
    });

    it('shows a session whose node stopped renewing its lease as stalled, and any node resumes it from its cursor', async () => {
      const events = completedRunEvents('exec-8', 'erin', Date.now() - 60_000, 1);
      await storeEvents(store, events);
      const { session_id } = await a().create(config({ target: 'test', filter: { execution_id: 'exec-8' }, speed_multiplier: 100 }), null);
      // As a node that died after three events left it.
      await replaySessions(store).update(session_id, {
        status: 'running',
        started_at: new Date().toISOString(),
        total_events: 8,
        replayed_events: 3,
        cursor: events[2]!.event_id,
        owner_node: 'node-gone',
        lease_expires_at: new Date(Date.now() - 1000).toISOString(),
        epoch: 1,
      });
      expect(await b().get(session_id)).toMatchObject({ status: 'running', owner_node: 'node-gone', stalled: true });
      expect((await b().list('running', 10)).map((s) => [s.session_id, s.stalled])).toEqual([[session_id, true]]);
      expect((await b().resume(session_id)).message).toBe('Replay session taken over and resumed on this node');
      const done = await finished(session_id);
      expect(done).toMatchObject({ replayed_events: 8, total_events: 8, cursor: events[7]!.event_id, stalled: false });
      expect(nodes[1]!.replay.counters.replayed).toBe(5);
    });

    it('previews a dry run, refuses an empty filter and too many events, and starts a session otherwise', async () => {
      const events = completedRunEvents('exec-9', 'fred', Date.now() - 60_000, 1);
      await storeEvents(store, events);
      const preview = await a().adminReplay({ aggregate_id: 'exec-9', dry_run: true }, 'root');
      expect(preview).toMatchObject({ dry_run: true, total_events: 8, session_id: null, status: 'preview' });
      expect(preview.events_preview!.map((e) => e.event_id)).toEqual(events.map((e) => e.event_id));
      expect(await replaySessions(store).list(null, 10)).toEqual([]);
      await expect(a().adminReplay({ dry_run: true }, 'root')).rejects.toMatchObject({ kind: 'ValidationError' });
      const correlated = stampEvent('execution_cancel_requested', 'exec-9', { execution_id: 'exec-9', reason: 'r' }, { user_id: 'fred', correlation_id: 'corr-1' });
      await storeEvents(store, [correlated]);
      expect((await a().adminReplay({ correlation_id: 'corr-1', dry_run: true }, 'root')).events_preview!.map((e) => e.event_id)).toEqual([correlated.event_id]);
      await expect(a().adminReplay({ aggregate_id: 'nothing', dry_run: false }, 'root')).rejects.toMatchObject({ kind: 'NotFound' });

      const started = await a().adminReplay({ event_ids: [events[1]!.event_id, events[3]!.event_id], target_service: 'projector', dry_run: false }, 'root');
      expect(started).toMatchObject({ dry_run: false, total_events: 2, status: 'running', events_preview: null });
      const done = await finished(started.session_id!);
      expect(done).toMatchObject({ replayed_events: 2, target_service: 'projector', replay_id: started.replay_id, created_by: 'root' });
    });
});
