import type { DomainEventOf } from './events.js';
import type { ExecutionRecord } from './execution.js';
import { currentTraceparent } from '../events/trace-context.js';

/** Standard input of a submission; it lives in the record only (a command on the log must stay small). */
export interface SubmittedInput {
  stdin: string;
  interactive: boolean;
}

const NO_INPUT: SubmittedInput = { stdin: '', interactive: false };

/** A fresh queued execution record built from its request event (and the submission's standard input). */
export function recordFromRequest(event: DomainEventOf<'execution_requested'>, partition: number, input: SubmittedInput = NO_INPUT): ExecutionRecord {
  return {
    id: event.execution_id,
    execution_id: event.execution_id,
    user_id: event.metadata.user_id,
    script: event.script,
    stdin: input.stdin,
    interactive: input.interactive,
    // The request's context (made on first use): the record keeps it for the events published later, elsewhere.
    traceparent: currentTraceparent() ?? null,
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
