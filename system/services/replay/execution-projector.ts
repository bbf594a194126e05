import { applyExecutionEvent } from '../../domain/execution-projection.js';
import { parseEvent } from '../../domain/events.js';
import { partitionOf } from '../../domain/partition.js';
import { REPLAY_HEADER } from '../../domain/replay.js';
import type { DocumentStore } from '../../ports/document-store.js';
import type { RecordHandler } from '../../ports/event-log.js';
import { ExecutionStore } from '../../stores/execution-store.js';

/** What a projector did with the records it was handed. */
export interface ProjectorStats {
  applied: number;
  /** Events at or before the last one applied to their execution: a redelivery or a second replay. */
  ignored: number;
}

/**
 * A log consumer that rebuilds execution records in `store` (a fresh one, typically) from replayed events: each
 * event is folded into its execution's record (see applyExecutionEvent), once. Per execution it keeps the id of the
 * last event applied (collection `execution_projection`) and ignores any event at or before it, so a redelivered
 * record or a second replay changes nothing. Only records carrying the replay header are taken (of `sessionId`
 * when given): live events are the execution actors' business.
 */
export function executionProjector(store: DocumentStore, opts: { partitions: number; sessionId?: string }): { handler: RecordHandler; stats: ProjectorStats } {
  const executions = new ExecutionStore(store);
  const marks = store.collection<{ id: string; last_event_id: string }>('execution_projection');
  const stats: ProjectorStats = { applied: 0, ignored: 0 };
  const handler: RecordHandler = async (record) => {
    const session = record.headers[REPLAY_HEADER];
    if (session === undefined || (opts.sessionId !== undefined && session !== opts.sessionId)) return;
    const event = parseEvent(JSON.parse(record.value));
    const mark = await marks.get(event.aggregate_id);
    if (mark && event.event_id <= mark.last_event_id) {
      stats.ignored++;
      return;
    }
    const current = await executions.get(event.aggregate_id);
    const next = applyExecutionEvent(current, event, partitionOf(event.aggregate_id, opts.partitions));
    if (next && !current) await executions.create(next);
    else if (next && next !== current) {
      const { id: _id, updated_at: _u, ...patch } = next;
      await executions.update(event.aggregate_id, patch);
    }
    await marks.put({ id: event.aggregate_id, last_event_id: event.event_id });
    stats.applied++;
  };
  return { handler, stats };
}
