import { parseEvent } from '../../system/domain/events.js';
import { toExecutionResult, type ExecutionRecord } from '../../system/domain/execution.js';
import type { EventPublisher } from '../../system/events/publisher.js';
import type { ExecutionStore } from '../../system/stores/execution-store.js';

/**
 * Publishes the events a transition stored with its record, then clears them.
 * Safe to repeat after a crash: the event store ignores known ids and stream readers skip seen ids.
 */
export async function flushOutbox(record: ExecutionRecord, executions: ExecutionStore, publisher: EventPublisher): Promise<ExecutionRecord> {
  if (!record.outbox_pending) return record;
  for (const raw of record.outbox) {
    const event = parseEvent(raw);
    await publisher.publish(event, event.event_type === 'result_stored' ? toExecutionResult(record) : null);
  }
  return (await executions.update(record.id, { outbox: [], outbox_pending: false })) ?? record;
}
