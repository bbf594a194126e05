/** Test and bench helpers for replay: nodes sharing one store, log and bus, and executions' events to replay. */
import { start as startActors, stop as stopActors, type Ref } from 'nact';
import { CrashLedger, DEFAULT_POLICY } from '../../../actors/supervision/policy.js';
import { stampEvent, type DomainEvent } from '../../domain/events.js';
import type { DocumentStore } from '../../ports/document-store.js';
import type { EventLog } from '../../ports/event-log.js';
import type { FanoutBus } from '../../ports/fanout-bus.js';
import { EventStore } from '../../stores/event-store.js';
import { ReplayStore } from '../../stores/replay-store.js';
import { createReplay, type Replay } from './component.js';

/** One node's replay part (its own actor system) on the shared servers. */
export interface ReplayNode {
  nodeId: string;
  replay: Replay;
  stop(): Promise<void>;
}

/** Starts a node's replay part: runners under its own actor root, the control subscription. */
export async function startReplayNode(shared: { store: DocumentStore; eventLog: EventLog; bus: FanoutBus; replayDir: string }, nodeId: string): Promise<ReplayNode> {
  const root = startActors() as Ref<unknown>;
  const replay = createReplay({ ...shared, root, nodeId, policy: DEFAULT_POLICY, crashes: new CrashLedger(), log: { warn: () => undefined } });
  await replay.component.start();
  return {
    nodeId,
    replay,
    stop: async () => {
      await replay.component.stop();
      stopActors(root);
    },
  };
}

const usage = { execution_time_wall_seconds: 0.02, cpu_time_jiffies: 1, clk_tck_hertz: 100, peak_memory_kb: 9000 };

/**
 * The eight events of one completed run of `id`, `gapMs` apart from `startMs` (ids in the same order as the times).
 * `tag` goes into the script and stdout so runs are told apart.
 */
export function completedRunEvents(id: string, userId: string, startMs: number, gapMs: number | (() => number), tag = id): DomainEvent[] {
  let t = startMs;
  const at = () => {
    const now = new Date(t).toISOString();
    t += typeof gapMs === 'number' ? gapMs : gapMs();
    return { user_id: userId, at: now };
  };
  const sandbox = { backend: 'bwrap', id: `sb-${id}`, executionId: id, startedAt: new Date(startMs).toISOString() };
  return [
    stampEvent('execution_requested', id, { execution_id: id, script: `print("${tag}")`, lang: 'python', lang_version: '3.11', priority: 'normal' }, at()),
    stampEvent('execution_queued', id, { execution_id: id, priority: 'normal', queue_position: 0 }, at()),
    stampEvent('execution_scheduled', id, { execution_id: id, attempt: 1 }, at()),
    stampEvent('pod_created', id, { execution_id: id, sandbox }, at()),
    stampEvent('execution_running', id, { execution_id: id }, at()),
    stampEvent('pod_terminated', id, { execution_id: id, exit_code: 0, signal: null, limit: null, stopped: false }, at()),
    stampEvent('execution_completed', id, { execution_id: id, stdout: `${tag}\n`, stderr: '', stdout_truncated: false, stderr_truncated: false, exit_code: 0, resource_usage: usage }, at()),
    stampEvent('result_stored', id, { execution_id: id, status: 'completed' }, at()),
  ];
}

/** Stores events in the shared event store. */
export async function storeEvents(store: DocumentStore, events: DomainEvent[]): Promise<void> {
  const s = new EventStore(store);
  for (const e of events) await s.append(e);
}

/** The stored replay sessions of a store. */
export const replaySessions = (store: DocumentStore) => new ReplayStore(store);
