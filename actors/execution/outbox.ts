import { parseEvent } from '../../system/domain/events.js';
import { isTerminal, toExecutionResult, type ExecutionRecord } from '../../system/domain/execution.js';
import type { EventPublisher } from '../../system/events/publisher.js';
import type { ExecutionStore } from '../../system/stores/execution-store.js';

/**
 * Publishes the events a transition stored with its record. The outbox of a terminal record is then cleared;
 * a running one's is simply replaced by its next transition, which saves a write per step.
 * Safe to repeat after a crash: the event store ignores known ids, log consumers are idempotent by event id
 * and stream readers skip ids they have sent.
 */
export async function flushOutbox(record: ExecutionRecord, executions: ExecutionStore, publisher: EventPublisher): Promise<ExecutionRecord> {
  if (!record.outbox_pending) return record;
  for (const raw of record.outbox) {
    const event = parseEvent(raw);
    await publisher.publish(event, event.event_type === 'result_stored' ? toExecutionResult(record) : null);
  }
  if (!isTerminal(record.status)) return record;
  return (await executions.update(record.id, { outbox: [], outbox_pending: false })) ?? record;
}
