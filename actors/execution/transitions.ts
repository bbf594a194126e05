import { stampEvent, type DomainEvent } from '../../system/domain/events.js';
import { canTransition, isTerminal, type ExecutionRecord, type ExecutionStatus } from '../../system/domain/execution.js';
import { classify } from '../../system/domain/outcome.js';
import type { ExecutionChange } from './messages.js';

/** What applying a change does: the record fields to set and the events to publish, in order. */
export interface TransitionPlan {
  patch: Partial<ExecutionRecord>;
  events: DomainEvent[];
}

/** Plans a change against the state machine; returns a reason instead when the change is not allowed. */
export function plan(record: ExecutionRecord, change: ExecutionChange, now = new Date().toISOString()): TransitionPlan | { rejected: string } {
  const meta = { user_id: record.user_id, at: now };
  const id = record.execution_id;
  const to = targetStatus(change);
  if (isTerminal(record.status)) return { rejected: `execution is already ${record.status}` };
  if (to !== record.status && !canTransition(record.status, to)) return { rejected: `cannot go from ${record.status} to ${to}` };

  switch (change.kind) {
    case 'queued':
      return {
        patch: { status: 'queued' },
        events: [stampEvent('execution_queued', id, { execution_id: id, priority: record.priority, queue_position: change.position }, meta)],
      };
    case 'scheduled':
      return {
        // A run whose sandbox was lost starts over: no sandbox, no start time until the new one runs.
        patch: { status: 'scheduled', attempts: record.attempts + 1, ...(record.status === 'running' ? { sandbox: null, start_time: null } : {}) },
        events: [stampEvent('execution_scheduled', id, { execution_id: id, attempt: record.attempts + 1 }, meta)],
      };
    case 'started':
      return {
        patch: { status: 'running', sandbox: change.handle, start_time: now },
        events: [
          stampEvent('pod_created', id, { execution_id: id, sandbox: change.handle }, meta),
          stampEvent('execution_running', id, { execution_id: id }, meta),
        ],
      };
    case 'cancelled':
      return finish(record, { status: 'cancelled', end_time: now }, [
        stampEvent('execution_cancelled', id, { execution_id: id, reason: change.reason }, meta),
      ]);
    case 'system_error':
      return finish(record, { status: 'error', error_type: 'system_error', end_time: now }, [
        stampEvent('execution_failed', id, { ...emptyOutput(id), error_type: 'system_error', error_message: change.message, resource_usage: null }, meta),
      ]);
    case 'timed_out': {
      // Nothing came back from the sandbox: the output is unknown, the time is what the saga waited.
      const wallSeconds = record.start_time ? Math.max(0, (Date.parse(now) - Date.parse(record.start_time)) / 1000) : 0;
      const usage = { execution_time_wall_seconds: wallSeconds, cpu_time_jiffies: 0, clk_tck_hertz: 100, peak_memory_kb: 0 };
      return finish(record, { status: 'timeout', error_type: 'timeout', end_time: now, resource_usage: usage }, [
        stampEvent('execution_timeout', id, { ...emptyOutput(id), timeout_seconds: change.timeoutSeconds, resource_usage: usage }, meta),
      ]);
    }
    case 'finished':
      return planFinished(record, change, now);
  }
}

function planFinished(record: ExecutionRecord, change: Extract<ExecutionChange, { kind: 'finished' }>, now: string): TransitionPlan {
  const { outcome } = change.end;
  const id = record.execution_id;
  const meta = { user_id: record.user_id, at: now };
  const verdict = classify(change.end);
  const output = {
    execution_id: id,
    stdout: outcome.stdout,
    stderr: outcome.stderr,
    stdout_truncated: outcome.stdoutTruncated,
    stderr_truncated: outcome.stderrTruncated,
    exit_code: outcome.exitCode,
    resource_usage: outcome.usage,
  };
  const terminated = stampEvent(
    'pod_terminated',
    id,
    { execution_id: id, exit_code: outcome.exitCode, signal: outcome.signal, limit: outcome.limit, stopped: outcome.stopped },
    meta,
  );
  const { execution_id: _id, ...outputFields } = output;
  const patch: Partial<ExecutionRecord> = {
    ...outputFields,
    status: verdict.status,
    end_time: now,
    error_type: verdict.status === 'failed' ? verdict.errorType : verdict.status === 'timeout' ? 'timeout' : null,
  };
  const terminal = (() => {
    switch (verdict.status) {
      case 'completed':
        return stampEvent('execution_completed', id, output, meta);
      case 'failed':
        return stampEvent('execution_failed', id, { ...output, error_type: verdict.errorType, error_message: verdict.message }, meta);
      case 'timeout':
        return stampEvent('execution_timeout', id, { ...output, timeout_seconds: change.timeoutSeconds }, meta);
      case 'cancelled':
        return stampEvent('execution_cancelled', id, { execution_id: id, reason: change.cancelReason }, meta);
    }
  })();
  return finish(record, patch, [terminated, terminal]);
}

/** A terminal plan: the result is stored with the status, then result_stored announces it. */
function finish(record: ExecutionRecord, patch: Partial<ExecutionRecord>, events: DomainEvent[]): TransitionPlan {
  const status = patch.status as ExecutionStatus;
  const stored = stampEvent('result_stored', record.execution_id, { execution_id: record.execution_id, status }, { user_id: record.user_id });
  return { patch, events: [...events, stored] };
}

function targetStatus(change: ExecutionChange): ExecutionStatus {
  switch (change.kind) {
    case 'queued':
      return 'queued';
    case 'scheduled':
      return 'scheduled';
    case 'started':
      return 'running';
    case 'cancelled':
      return 'cancelled';
    case 'system_error':
      return 'error';
    case 'timed_out':
      return 'timeout';
    case 'finished':
      return classify(change.end).status;
  }
}

function emptyOutput(id: string) {
  return { execution_id: id, stdout: '', stderr: '', stdout_truncated: false, stderr_truncated: false, exit_code: null };
}
