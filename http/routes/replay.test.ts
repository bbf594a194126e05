/**
 * The replay routes on the wired HTTP stack (real SQLite store and log, a real runner): admin only, field-level
 * 422s, the session lifecycle over HTTP, the admin replay's dry run, and the status stream that closes at the end.
 */
import { start as startActors, stop as stopActors, type Ref } from 'nact';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CrashLedger, DEFAULT_POLICY } from '../../actors/supervision/policy.js';
import { createInProcessBus } from '../../system/embedded/fanout-bus.js';
import { createReplay, type Replay } from '../../system/services/replay/component.js';
import { completedRunEvents, storeEvents } from '../../system/services/replay/replay.fixture.js';
import { startHttpStack, type HttpStack } from '../../test/support/http-stack.js';
import { readSse } from '../../test/support/sse-client.js';
import { createTempDir, type TempDir } from '../../test/support/temp-dir.js';
import { waitFor } from '../../test/support/wait.js';
import { testUser } from '../test-caller.js';
import { replayRoutes } from './replay.js';

let s: HttpStack;
let root: Ref<unknown>;
let replay: Replay;
let files: TempDir;
beforeEach(async () => {
  root = startActors() as Ref<unknown>;
  files = await createTempDir('integr8s-replay-files-');
  const bus = createInProcessBus();
  s = await startHttpStack({}, (parts) => {
    replay = createReplay({ ...parts, bus, root, nodeId: 'node-t', replayDir: files.path, policy: DEFAULT_POLICY, crashes: new CrashLedger(), log: { warn: () => undefined } });
    return [replayRoutes(replay.service, { statusEveryMs: 50 })];
  });
  await replay.component.start();
});
afterEach(async () => {
  await replay?.component.stop();
  stopActors(root);
  await s?.close();
  await files?.cleanup();
});

const admin = testUser('root', 'admin');

async function call(method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
  const res = await fetch(`${s.base}/api/v1${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text && res.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as any) : null };
}

describe('replay API', () => {
  it('401 anonymous and 403 for a user on every route', async () => {
    for (const [method, path, body] of [
      ['POST', '/replay/sessions', { replay_type: 'execution' }],
      ['GET', '/replay/sessions', undefined],
      ['GET', '/replay/sessions/x', undefined],
      ['POST', '/replay/sessions/x/start', undefined],
      ['POST', '/replay/sessions/x/pause', undefined],
      ['POST', '/replay/sessions/x/resume', undefined],
      ['POST', '/replay/sessions/x/cancel', undefined],
      ['POST', '/replay/cleanup', undefined],
      ['POST', '/admin/events/replay', { aggregate_id: 'a' }],
      ['GET', '/admin/events/replay/x/status', undefined],
    ] as const) {
      expect((await call(method, path, {}, body)).status, `${method} ${path}`).toBe(401);
      expect((await call(method, path, testUser('alice'), body)).status, `${method} ${path}`).toBe(403);
    }
  });

  it('422 naming each bad field', async () => {
    const fields = async (path: string, body: unknown) => {
      const res = await call('POST', path, admin, body);
      expect(res.status).toBe(422);
      expect(res.body.type).toBe('ValidationError');
      return res.body.errors.map((e: { field: string }) => e.field).sort();
    };
    expect(await fields('/replay/sessions', {})).toEqual(['replay_type']);
    expect(await fields('/replay/sessions', { replay_type: 'execution', speed_multiplier: 500, batch_size: 0, target: 'ftp' })).toEqual(['batch_size', 'speed_multiplier', 'target']);
    expect(await fields('/replay/sessions', { replay_type: 'execution', filter: { event_types: ['nope'], start_time: 'yesterday' } })).toEqual(['filter.event_types.0', 'filter.start_time']);
    expect(await fields('/replay/sessions', { replay_type: 'execution', target_topics: { execution_completed: 'bad topic!' }, target_file_path: '/etc/passwd' })).toEqual(['target_file_path', 'target_topics.execution_completed']);
    expect(await fields('/replay/sessions', { replay_type: 'execution', surprise: 1 })).toEqual(['body']);
    expect(await fields('/admin/events/replay', { event_ids: 'x', dry_run: 'yes' })).toEqual(['dry_run', 'event_ids']);
    expect(await fields('/admin/events/replay', { dry_run: true })).toEqual(['body']);
    expect((await call('GET', '/replay/sessions?status=done', admin)).status).toBe(422);
    expect((await call('POST', '/replay/cleanup?older_than_hours=0', admin)).status).toBe(422);
    expect((await call('POST', '/replay/sessions/nope/start', admin)).status).toBe(404);
    expect((await call('GET', '/admin/events/replay/nope/status', admin)).status).toBe(404);
  });

  it('creates, starts, lists and reads a session, and streams its progress until it completes', async () => {
    const events = completedRunEvents('exec-r', 'alice', Date.now() - 60_000, 20);
    await storeEvents(s.store, events);
    const created = await call('POST', '/replay/sessions', admin, { replay_type: 'execution', target: 'test', filter: { execution_id: 'exec-r' }, speed_multiplier: 1, batch_size: 2 });
    expect(created).toMatchObject({ status: 200, body: { status: 'created', message: 'Replay session created' } });
    const id = created.body.session_id as string;
    expect((await call('POST', `/replay/sessions/${id}/pause`, admin)).status).toBe(400);

    const stream = readSse(`${s.base}/api/v1/admin/events/replay/${id}/status`, { headers: admin, timeoutMs: 15_000 });
    expect((await call('POST', `/replay/sessions/${id}/start`, admin)).body).toEqual({ session_id: id, status: 'running', message: 'Replay session started' });
    const { status, messages, closedByServer } = await stream;
    expect(status).toBe(200);
    expect(closedByServer).toBe(true);
    const snapshots = messages.map((m) => ({ event: m.event, ...JSON.parse(m.data) }));
    expect(snapshots.every((f) => f.event === 'replay_status' && f.session_id === id)).toBe(true);
    // Progress moved through several snapshots (events are 20 ms apart at speed 1) and the last one is terminal.
    expect(snapshots.length).toBeGreaterThan(2);
    const counts = snapshots.map((f) => f.replayed_events);
    expect(counts).toEqual([...counts].sort((x, y) => x - y));
    expect(snapshots.at(-1)).toMatchObject({ status: 'completed', total_events: 8, replayed_events: 8, progress_percentage: 100, correlation_id: expect.stringMatching(/^replay-/), errors: [] });

    const one = await call('GET', `/replay/sessions/${id}`, admin);
    expect(one.body).toMatchObject({ session_id: id, status: 'completed', config: { replay_type: 'execution', target: 'test', speed_multiplier: 1, batch_size: 2, filter: { execution_id: 'exec-r' } }, replayed_events: 8, cursor: events[7]!.event_id });
    const list = await call('GET', '/replay/sessions?status=completed', admin);
    expect(list.body).toEqual([expect.objectContaining({ session_id: id, config: { replay_type: 'execution', target: 'test' }, duration_seconds: expect.any(Number) })]);
    // A finished session's stream sends its one snapshot and closes.
    const again = await readSse(`${s.base}/api/v1/admin/events/replay/${id}/status`, { headers: admin, timeoutMs: 5_000 });
    expect(again.messages).toHaveLength(1);
    expect((await call('POST', '/replay/cleanup', admin)).body).toEqual({ removed_sessions: 0, message: expect.any(String) });
  });

  it('previews a dry run without replaying, and a real admin replay starts a session', async () => {
    const events = completedRunEvents('exec-d', 'bob', Date.now() - 60_000, 1);
    await storeEvents(s.store, events);
    const preview = await call('POST', '/admin/events/replay', admin, { aggregate_id: 'exec-d', dry_run: true });
    expect(preview.status).toBe(200);
    expect(preview.body).toMatchObject({ dry_run: true, total_events: 8, session_id: null, status: 'preview' });
    expect(preview.body.events_preview[0]).toEqual({ event_id: events[0]!.event_id, event_type: 'execution_requested', timestamp: events[0]!.timestamp, aggregate_id: 'exec-d' });
    expect((await call('GET', '/replay/sessions', admin)).body).toEqual([]);
    expect((await call('POST', '/admin/events/replay', admin, { aggregate_id: 'missing', dry_run: true })).status).toBe(404);

    const run = await call('POST', '/admin/events/replay', admin, { aggregate_id: 'exec-d', target_service: 'audit', dry_run: false });
    expect(run.body).toMatchObject({ dry_run: false, total_events: 8, status: 'running', session_id: expect.any(String) });
    await waitFor(async () => (await call('GET', `/replay/sessions/${run.body.session_id}`, admin)).body.status === 'completed', { message: 'completed' });
  });
});
