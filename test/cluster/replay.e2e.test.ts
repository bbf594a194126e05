/**
 * Replay in cluster mode (two real node processes on Kafka, a MongoDB-wire server and Redis): a session started on
 * one node is read, paused and resumed through the other (which then runs it), and cancelled through the first;
 * both nodes answer the same session. The replayed commands reach the execution owners on Kafka and run nothing again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';
import { submit } from './checks.js';

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 2 });
  await cluster.balanced(2);
}, 240_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

describe('replay across nodes', () => {
  it('is controlled from either node, and the node that resumes it runs it', async () => {
    const [a, b] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
    // A run whose events span over a second: at speed 0.2 its replay takes several seconds.
    const id = await submit(cluster, a, 'import time\ntime.sleep(1.2)\nprint("done")');
    await waitFor(async () => (await cluster.api(b, `/executions/${id}/result`)).body.status === 'completed', { timeoutMs: 60_000, message: 'the run completed' });
    // The record turns completed just before its last events are stored (outbox): wait for result_stored.
    const events = await waitFor(async () => {
      const list = (await cluster.api(b, `/executions/${id}/events?limit=1000`)).body as Array<{ event_id: string; event_type: string }>;
      return list.some((e) => e.event_type === 'result_stored') ? list : null;
    }, { timeoutMs: 20_000, message: 'the events of the run' });

    const created = await cluster.api(a, '/replay/sessions', {
      method: 'POST',
      json: { replay_type: 'execution', target: 'kafka', filter: { execution_id: id }, speed_multiplier: 0.2, batch_size: 1 },
    });
    const sid = created.body.session_id as string;
    expect((await cluster.api(a, `/replay/sessions/${sid}/start`, { method: 'POST' })).body.status).toBe('running');
    await waitFor(async () => (await cluster.api(b, `/replay/sessions/${sid}`)).body.replayed_events >= 1, { timeoutMs: 20_000, message: 'a first event replayed' });
    expect((await cluster.api(b, `/replay/sessions/${sid}`)).body).toMatchObject({ status: 'running', owner_node: a.nodeId, stalled: false });

    // Paused through b while a runs it: a's runner stops (told over Redis, or at its next poll).
    const paused = await cluster.api(b, `/replay/sessions/${sid}/pause`, { method: 'POST' });
    expect(paused.body).toMatchObject({ session_id: sid, status: 'paused' });
    const at = (await cluster.api(a, `/replay/sessions/${sid}`)).body;
    expect(at).toMatchObject({ status: 'paused', owner_node: null });
    expect(at.replayed_events).toBeLessThan(events.length);

    // Resumed through b: b runs it now; cancelled through a.
    expect((await cluster.api(b, `/replay/sessions/${sid}/resume`, { method: 'POST' })).body.status).toBe('running');
    expect((await cluster.api(a, `/replay/sessions/${sid}`)).body.owner_node).toBe(b.nodeId);
    await waitFor(async () => (await cluster.api(a, `/replay/sessions/${sid}`)).body.replayed_events > at.replayed_events, { timeoutMs: 20_000, message: 'progress on b' });
    const cancelled = await cluster.api(a, `/replay/sessions/${sid}/cancel`, { method: 'POST' });
    expect(cancelled.body).toMatchObject({ session_id: sid, status: 'cancelled' });
    const final = (await cluster.api(b, `/replay/sessions/${sid}`)).body;
    expect(final).toMatchObject({ status: 'cancelled', owner_node: null });
    expect(final.replayed_events).toBeLessThan(events.length);

    // A full replay, then the execution is as it was: the owners took nothing from it as new work.
    const full = await cluster.api(b, '/admin/events/replay', { method: 'POST', json: { aggregate_id: id, dry_run: false } });
    expect(full.body).toMatchObject({ dry_run: false, total_events: events.length, status: 'running' });
    await waitFor(async () => (await cluster.api(a, `/replay/sessions/${full.body.session_id}`)).body.status === 'completed', { timeoutMs: 30_000, message: 'full replay' });
    await new Promise((r) => setTimeout(r, 1_000));
    const after = (await cluster.api(a, `/executions/${id}/events?limit=1000`)).body as unknown[];
    expect(after.length).toBe(events.length);
    expect((await cluster.api(a, `/executions/${id}/result`)).body).toMatchObject({ status: 'completed', stdout: 'done\n' });
  }, 180_000);
});
