import { z } from 'zod';
import { LANGUAGES } from './runtimes.js';

/** The longest script an execution (or a saved script) may have, in characters (API contract). */
export const MAX_SCRIPT_CHARS = 50_000;
/** The most standard input a submission may carry, in UTF-8 bytes. */
export const MAX_STDIN_BYTES = 1024 * 1024;
/** The most standard input one write to a running program may carry, in UTF-8 bytes (it travels as a command). */
export const MAX_STDIN_WRITE_BYTES = 64 * 1024;

/** Execution statuses, as in the API. */
export const EXECUTION_STATUSES = ['queued', 'scheduled', 'running', 'completed', 'failed', 'timeout', 'cancelled', 'error'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<ExecutionStatus> = new Set(['completed', 'failed', 'timeout', 'cancelled', 'error']);

/** True once nothing more will happen to the execution. */
export function isTerminal(status: ExecutionStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

/** Allowed moves of the status state machine; anything else is rejected. */
const TRANSITIONS: Record<ExecutionStatus, readonly ExecutionStatus[]> = {
  queued: ['scheduled', 'cancelled', 'error'],
  scheduled: ['running', 'completed', 'failed', 'timeout', 'cancelled', 'error'],
  // running → scheduled: its sandbox died with the node that ran it, and it runs again (a new attempt).
  running: ['scheduled', 'completed', 'failed', 'timeout', 'cancelled', 'error'],
  completed: [],
  failed: [],
  timeout: [],
  cancelled: [],
  error: [],
};

/** Whether the state machine allows going from one status to another. */
export function canTransition(from: ExecutionStatus, to: ExecutionStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export const ERROR_TYPES = ['system_error', 'timeout', 'resource_limit', 'script_error', 'permission_denied'] as const;
export type ErrorType = (typeof ERROR_TYPES)[number];

export const PRIORITIES = ['critical', 'high', 'normal', 'low', 'background'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** Lower rank is served first. */
export function priorityRank(p: Priority): number {
  return PRIORITIES.indexOf(p);
}

export const ResourceUsageSchema = z.object({
  execution_time_wall_seconds: z.number(),
  cpu_time_jiffies: z.number(),
  clk_tck_hertz: z.number(),
  peak_memory_kb: z.number(),
});

export const SandboxHandleSchema = z.object({
  backend: z.string(),
  id: z.string(),
  executionId: z.string(),
  startedAt: z.string(),
});

/** The stored execution record (collection `executions`). */
export const ExecutionRecordSchema = z.object({
  id: z.string(),
  execution_id: z.string(),
  user_id: z.string().nullable(),
  script: z.string(),
  /** Fed to the program's standard input as it starts. */
  stdin: z.string().default(''),
  /** Standard input stays open after `stdin` for POST /executions/{id}/stdin (until a write with eof). */
  interactive: z.boolean().default(false),
  /** The W3C trace context of the request that submitted it: every event of the execution continues that trace. */
  traceparent: z.string().nullable().default(null),
  lang: z.enum(LANGUAGES),
  lang_version: z.string(),
  status: z.enum(EXECUTION_STATUSES),
  priority: z.enum(PRIORITIES),
  partition: z.number().int(),
  stdout: z.string().nullable(),
  stderr: z.string().nullable(),
  stdout_truncated: z.boolean(),
  stderr_truncated: z.boolean(),
  exit_code: z.number().int().nullable(),
  error_type: z.enum(ERROR_TYPES).nullable(),
  resource_usage: ResourceUsageSchema.nullable(),
  sandbox: SandboxHandleSchema.nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  start_time: z.string().nullable(),
  end_time: z.string().nullable(),
  /** Number of times the run was started; a restart re-runs an execution that never reached its sandbox. */
  attempts: z.number().int(),
  /** Events of the last transition not yet published (transactional outbox); empty when all went out. */
  outbox: z.array(z.record(z.string(), z.unknown())),
  outbox_pending: z.boolean(),
});
export type ExecutionRecord = z.infer<typeof ExecutionRecordSchema>;

/** The result as the API returns it. */
export function toExecutionResult(r: ExecutionRecord) {
  return {
    execution_id: r.execution_id,
    status: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    lang: r.lang,
    lang_version: r.lang_version,
    resource_usage: r.resource_usage,
    exit_code: r.exit_code,
    error_type: r.error_type,
    priority: r.priority,
    stdout_truncated: r.stdout_truncated,
    stderr_truncated: r.stderr_truncated,
    created_at: r.created_at,
    start_time: r.start_time,
    end_time: r.end_time,
  };
}
export type ExecutionResult = ReturnType<typeof toExecutionResult>;
