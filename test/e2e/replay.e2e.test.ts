/**
 * Replay on a real embedded node: one execution really runs, its events are replayed through a replay session to
 * the node's event log, and a projector reading that log into a fresh store rebuilds the same execution record
 * (it would not if the replay lost, reordered or changed an event). The live node ignores the replayed commands
 * (nothing runs again), and a second replay changes nothing in the rebuilt store.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionRecord } from '../../system/domain/execution.js';
import { createSqliteDocumentStore } from '../../system/embedded/document-store.js';
import { createSqliteEventLog } from '../../system/embedded/event-log.js';
import { openDataDir } from '../../system/embedded/sqlite.js';
import { TOPICS } from '../../system/events/topics.js';
import type { DocumentStore } from '../../system/ports/document-store.js';
import type { EventLog } from '../../system/ports/event-log.js';
import { executionProjector } from '../../system/services/replay/execution-projector.js';
import { ExecutionStore } from '../../system/stores/execution-store.js';
import { startTestNode, type TestNode } from '../support/node-harness.js';
import { createTempDir, type TempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait.js';

const PARTITIONS = 4;
let t: TestNode;
let fresh: TempDir;
let nodeStore: DocumentStore;
let nodeLog: EventLog;
let freshStore: DocumentStore;
beforeAll(async () => {
  t = await startTestNode({ EVENT_PARTITIONS: String(PARTITIONS) });
  // A second connection to the node's own file: its log (what Kafka would be) and its store (the original record).
  const db = openDataDir(t.dir.path);
  nodeStore = createSqliteDocumentStore(db);
  nodeLog = createSqliteEventLog(db, { partitions: PARTITIONS, pollMs: 50 });
  fresh = await createTempDir('integr8s-rebuilt-');
  freshStore = createSqliteDocumentStore(openDataDir(fresh.path));
});
afterAll(async () => {
  await nodeLog?.close();
  await nodeStore?.close();
  await freshStore?.close();
  await t?.stop();
  await fresh?.cleanup();
});

/** The execution's state: the record without what events do not carry (trace context, write time, outbox). */
const state = ({ updated_at: _u, traceparent: _t, outbox: _o, outbox_pending: _p, ...rest }: ExecutionRecord) => rest;

async function replayTo(target: 'kafka' | 'file', executionId: string): Promise<any> {
  const created = await t.api('/replay/sessions', {
    method: 'POST',
    json: { replay_type: 'execution', target, filter: { execution_id: executionId }, speed_multiplier: 100, preserve_timestamps: true, batch_size: 3 },
  });
  expect(created.status).toBe(200);
  const id = created.body.session_id as string;
  expect((await t.api(`/replay/sessions/${id}/start`, { method: 'POST' })).body.status).toBe('running');
  return waitFor(async () => {
    const s = (await t.api(`/replay/sessions/${id}`)).body;
    return s.status === 'completed' ? s : null;
  }, { timeoutMs: 30_000, message: 'replay completed' });
}

describe('replay on a real node', () => {
  it("rebuilds an execution's state in a fresh store from its replayed events, without running it again", async () => {
    const result = await t.run('import sys\nprint("replay me")\nprint("to stderr", file=sys.stderr)\nsys.exit(3)');
    expect(result).toMatchObject({ status: 'failed', exit_code: 3, error_type: 'script_error', stdout: 'replay me\n' });
    const id = result.execution_id as string;
    const original = (await new ExecutionStore(nodeStore).get(id))!;
    const events = (await t.api(`/executions/${id}/events?limit=1000`)).body as any[];
    const eventList = Array.isArray(events) ? events : (events as any).events;
    expect(eventList.length).toBeGreaterThanOrEqual(8);

    const projector = executionProjector(freshStore, { partitions: PARTITIONS });
    const consumer = await nodeLog.consume({ group: 'rebuild-test', topics: [TOPICS.executionCommands, TOPICS.executionEvents] }, projector.handler);
    try {
      const session = await replayTo('kafka', id);
      expect(session).toMatchObject({ total_events: eventList.length, replayed_events: eventList.length, failed_events: 0 });
      await waitFor(() => projector.stats.applied === eventList.length, { timeoutMs: 30_000, message: 'every replayed event applied' });
      const rebuilt = (await new ExecutionStore(freshStore).get(id))!;
      expect(state(rebuilt)).toEqual(state(original));

      // The live node took none of it as new work: the execution is as it was, with no new events.
      await new Promise((r) => setTimeout(r, 500));
      expect(state((await new ExecutionStore(nodeStore).get(id))!)).toEqual(state(original));
      const after = (await t.api(`/executions/${id}/events?limit=1000`)).body;
      expect((Array.isArray(after) ? after : after.events).length).toBe(eventList.length);
      expect((await t.api('/admin/executions/queue')).body.active_count).toBe(0);

      // A second replay: every event is already applied and ignored.
      await replayTo('kafka', id);
      await waitFor(() => projector.stats.ignored === eventList.length, { timeoutMs: 30_000, message: 'the second replay ignored' });
      expect(projector.stats.applied).toBe(eventList.length);
      expect(state((await new ExecutionStore(freshStore).get(id))!)).toEqual(state(original));
    } finally {
      await consumer.stop();
    }

    // The same events as JSON lines in the node's replay directory, named by the session.
    const file = await replayTo('file', id);
    expect(file.file_path).toBe(`${t.dir.path}/replays/replay-${file.session_id}.jsonl`);
    const lines = (await readFile(file.file_path, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.event_id)).toEqual(eventList.map((e: any) => e.event_id));

    // The node's metrics count what its runners replayed and the sessions by status.
    const metrics = await (await fetch(`${t.base.replace('/api/v1', '')}/metrics`)).text();
    const value = (line: RegExp) => Number(metrics.split('\n').find((l) => line.test(l))?.split(' ').at(-1));
    expect(value(/^replay_events_replayed(_total)?(\{[^}]*\})? /)).toBe(3 * eventList.length);
    expect(value(/^replay_sessions\{[^}]*status="completed"/)).toBe(3);
    expect(value(/^replay_events_failed(_total)?(\{[^}]*\})? /)).toBe(0);
    // A run, three replays and their waits (30 s each): on a busy machine the test's own limit must not cut it short
    // before a wait can say what did not happen.
  }, 180_000);
});
