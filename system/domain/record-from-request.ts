import type { DomainEventOf } from './events.js';
import type { ExecutionRecord } from './execution.js';

/** A fresh queued execution record built from its request event. */
export function recordFromRequest(event: DomainEventOf<'execution_requested'>, partition: number): ExecutionRecord {
  return {
    id: event.execution_id,
    execution_id: event.execution_id,
    user_id: event.metadata.user_id,
    script: event.script,
    lang: event.lang,
    lang_version: event.lang_version,
    status: 'queued',
    priority: event.priority,
    partition,
    stdout: null,
    stderr: null,
    stdout_truncated: false,
    stderr_truncated: false,
    exit_code: null,
    error_type: null,
    resource_usage: null,
    sandbox: null,
    created_at: event.timestamp,
    updated_at: event.timestamp,
    start_time: null,
    end_time: null,
    attempts: 0,
    outbox: [],
    outbox_pending: false,
  };
}
