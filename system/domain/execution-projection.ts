import type { DomainEvent } from './events.js';
import { isTerminal, type ExecutionRecord } from './execution.js';
import { recordFromRequest } from './record-from-request.js';

/**
 * An execution's record rebuilt from its events, as the execution actor wrote it: the status machine's moves with
 * the times, output, limits and sandbox the events carry. What the events do not carry stays at its default:
 * submitted standard input, the trace context, `updated_at` (the time of the last event here) and the outbox.
 * Events of another execution, or that do not change the record, are ignored.
 */
export function applyExecutionEvent(record: ExecutionRecord | null, event: DomainEvent, partition: number): ExecutionRecord | null {
  if (event.event_type === 'execution_requested') return record ?? recordFromRequest(event, partition);
  if (!record || event.aggregate_id !== record.execution_id) return record;
  const at = event.timestamp;
  const next = (patch: Partial<ExecutionRecord>): ExecutionRecord => ({ ...record, ...patch, updated_at: at });
  // Nothing moves a terminal record (the actor rejects every change past it).
  if (isTerminal(record.status)) return record;
  switch (event.event_type) {
    case 'execution_queued':
      return next({ status: 'queued' });
    case 'execution_scheduled':
      return next({ status: 'scheduled', attempts: event.attempt, ...(record.status === 'running' ? { sandbox: null, start_time: null } : {}) });
    case 'pod_created':
      return next({ sandbox: event.sandbox });
    case 'execution_running':
      return next({ status: 'running', start_time: at });
    case 'execution_completed':
    case 'execution_timeout':
    case 'execution_failed': {
      const { stdout, stderr, stdout_truncated, stderr_truncated, exit_code, resource_usage } = event;
      const output = { stdout, stderr, stdout_truncated, stderr_truncated, exit_code, resource_usage, end_time: at };
      if (event.event_type === 'execution_completed') return next({ ...output, status: 'completed', error_type: null });
      if (event.event_type === 'execution_timeout') return next({ ...output, status: 'timeout', error_type: 'timeout' });
      return event.error_type === 'system_error'
        ? // A fault of ours: the actor records the status and error type only (the output it had is kept).
          next({ status: 'error', error_type: 'system_error', end_time: at })
        : next({ ...output, status: 'failed', error_type: event.error_type });
    }
    case 'execution_cancelled':
      return next({ status: 'cancelled', end_time: at });
    default:
      return record;
  }
}

/** Folds an execution's events, in order, into its record (null without its execution_requested). */
export function projectExecution(events: readonly DomainEvent[], partition: number): ExecutionRecord | null {
  return events.reduce<ExecutionRecord | null>((r, e) => applyExecutionEvent(r, e, partition), null);
}
