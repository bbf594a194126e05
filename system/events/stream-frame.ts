import { statusAfter, type DomainEvent } from '../domain/events.js';
import type { ExecutionResult, ExecutionStatus } from '../domain/execution.js';

/** The data of one execution SSE frame, as in the API: {event_type, execution_id, timestamp, event_id, status, result}. */
export interface StreamFrame {
  event_type: string;
  execution_id: string;
  timestamp: string;
  event_id: string;
  status: ExecutionStatus | null;
  result: ExecutionResult | null;
}

/** Builds the frame for a stored event; `result` is set on result_stored. Events carry no script text to the stream. */
export function toStreamFrame(event: DomainEvent, result: ExecutionResult | null = null): StreamFrame {
  return {
    event_type: event.event_type,
    execution_id: event.aggregate_id,
    timestamp: event.timestamp,
    event_id: event.event_id,
    status: event.event_type === 'result_stored' ? event.status : statusAfter(event),
    result,
  };
}

/** The bus channel carrying one execution's frames. */
export function executionChannel(executionId: string): string {
  return `execution:${executionId}`;
}
