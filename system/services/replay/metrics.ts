import { ValueType, type Meter } from '@opentelemetry/api';
import { REPLAY_STATUSES, type ReplayStatus } from '../../domain/replay.js';
import type { ReplayCounters } from '../../../actors/replay/replay.actor.js';

/**
 * Replay figures on the node's meter: sessions by status (from the shared store: every node reports the same),
 * sessions running on this node, and events this node's runners replayed or failed to deliver since it started.
 */
export function registerReplayMetrics(
  meter: Meter,
  sources: { countByStatus(status: ReplayStatus): Promise<number>; runningHere(): number; counters: ReplayCounters },
): void {
  const sessions = meter.createObservableGauge('replay.sessions', { description: 'Replay sessions by status (shared store)', unit: '{session}', valueType: ValueType.INT });
  meter.addBatchObservableCallback(
    async (result) => {
      const counts = await Promise.all(REPLAY_STATUSES.map((s) => sources.countByStatus(s).catch(() => null)));
      REPLAY_STATUSES.forEach((status, i) => {
        const n = counts[i];
        if (n !== null && n !== undefined) result.observe(sessions, n, { status });
      });
    },
    [sessions],
  );
  meter
    .createObservableGauge('replay.sessions.running_here', { description: 'Replay sessions running on this node', unit: '{session}', valueType: ValueType.INT })
    .addCallback((r) => r.observe(sources.runningHere()));
  meter
    .createObservableCounter('replay.events.replayed', { description: 'Events replayed to their target by this node', unit: '{event}', valueType: ValueType.INT })
    .addCallback((r) => r.observe(sources.counters.replayed));
  meter
    .createObservableCounter('replay.events.failed', { description: 'Events this node could not deliver to a replay target after their attempts', unit: '{event}', valueType: ValueType.INT })
    .addCallback((r) => r.observe(sources.counters.failed));
}
