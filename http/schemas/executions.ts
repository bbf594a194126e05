import { z } from 'zod';
import { EXECUTION_STATUSES, ExecutionRecordSchema, MAX_SCRIPT_CHARS, MAX_STDIN_BYTES, MAX_STDIN_WRITE_BYTES } from '../../system/domain/execution.js';
import { LANGUAGES } from '../../system/domain/runtimes.js';
import type { ExecutionListQuery, StdinRequest, SubmitRequest } from '../../system/services/types.js';

/** Text of at most `max` UTF-8 bytes (the length check first keeps counting cheap). */
const utf8Text = (max: number, what: string) =>
  z
    .string()
    .max(max, { abort: true })
    .refine((s) => Buffer.byteLength(s, 'utf8') <= max, `${what} must be at most ${max} bytes of UTF-8`);

/** POST /execute body. Whether lang/lang_version exist is the service's call (it names the field). */
export const ExecuteBody = z.object({
  script: z.string().max(MAX_SCRIPT_CHARS),
  lang: z.string().min(1),
  lang_version: z.string().min(1),
  /** Fed to the program's standard input (at most 1 MiB). */
  stdin: utf8Text(MAX_STDIN_BYTES, 'stdin').optional(),
  /** Keep standard input open after `stdin` for POST /executions/{id}/stdin; otherwise the program reads end of input. */
  interactive: z.boolean().optional(),
});
export type ExecuteBody = z.infer<typeof ExecuteBody>;

/** Headers POST /execute reads, named as the client sends them. */
export const ExecuteHeaders = z.object({
  'Idempotency-Key': z.string().min(1).max(255).optional(),
});
export type ExecuteHeaders = z.infer<typeof ExecuteHeaders>;

/** Wire → service: the submit request for a validated body and headers. */
export function toSubmitRequest(body: ExecuteBody, headers: ExecuteHeaders): SubmitRequest {
  const key = headers['Idempotency-Key'];
  return {
    script: body.script,
    lang: body.lang,
    lang_version: body.lang_version,
    ...(body.stdin !== undefined ? { stdin: body.stdin } : {}),
    ...(body.interactive !== undefined ? { interactive: body.interactive } : {}),
    ...(key ? { idempotencyKey: key } : {}),
  };
}

/** POST /executions/{id}/stdin body: text for the running program, and whether to close its input after it. */
export const StdinBody = z.object({
  data: utf8Text(MAX_STDIN_WRITE_BYTES, 'data'),
  eof: z.boolean().default(false),
});
export type StdinBody = z.output<typeof StdinBody>;

/** Wire → service: the stdin write. */
export function toStdinRequest(body: StdinBody): StdinRequest {
  return { data: body.data, eof: body.eof };
}

/** POST /executions/{id}/cancel body; the whole body may be omitted. */
export const CancelBody = z
  .object({ reason: z.string().max(1000).optional() })
  .optional()
  .transform((body) => ({ reason: body?.reason ?? 'User requested cancellation' }));
export type CancelBody = z.output<typeof CancelBody>;

/** Query strings as plain objects for zod: one value per name (the last one wins), unknown names dropped by the schema. */
export function queryRecord(query: URLSearchParams): Record<string, string> {
  return Object.fromEntries(query);
}

/** An instant in any form Date understands (ISO 8601 recommended), normalised to ISO UTC. */
export const Instant = z
  .string()
  .refine((s) => s.trim() !== '' && !Number.isNaN(Date.parse(s)), 'expected a date-time like 2024-01-31T12:00:00Z')
  .transform((s) => new Date(s).toISOString());

/** Paging shared by list endpoints: `limit` 1–`max` (default `def`), `skip` ≥ 0. */
export const paging = (def: number, max: number) => ({
  limit: z.coerce.number().int().min(1).max(max).default(def),
  skip: z.coerce.number().int().min(0).max(1_000_000_000).default(0),
});

/** GET /user/executions query. */
export const UserExecutionsQuery = z.object({
  status: z.enum(EXECUTION_STATUSES).optional(),
  lang: z.enum(LANGUAGES).optional(),
  start_time: Instant.optional(),
  end_time: Instant.optional(),
  ...paging(50, 200),
});
export type UserExecutionsQuery = z.output<typeof UserExecutionsQuery>;

/** Wire → service: the history query. */
export function toListQuery(q: UserExecutionsQuery): ExecutionListQuery {
  return {
    limit: q.limit,
    skip: q.skip,
    ...(q.status ? { status: q.status } : {}),
    ...(q.lang ? { lang: q.lang } : {}),
    ...(q.start_time ? { from: q.start_time } : {}),
    ...(q.end_time ? { to: q.end_time } : {}),
  };
}

// Response shapes, for the OpenAPI document (the service builds the values).

/** POST /execute and POST /executions/{id}/retry. */
export const SubmitResponseSchema = z.object({ execution_id: z.string(), status: z.literal('queued') });

/** GET /executions/{id}/result. */
export const ExecutionResultSchema = ExecutionRecordSchema.pick({
  execution_id: true,
  status: true,
  stdout: true,
  stderr: true,
  lang: true,
  lang_version: true,
  resource_usage: true,
  exit_code: true,
  error_type: true,
  priority: true,
  stdout_truncated: true,
  stderr_truncated: true,
  created_at: true,
  start_time: true,
  end_time: true,
});

/** One entry of GET /user/executions. */
export const ExecutionSummarySchema = ExecutionResultSchema.extend({ script: z.string(), user_id: z.string().nullable(), updated_at: z.string() });

/** A page of executions. */
export const executionPageSchema = <T extends z.ZodType>(item: T) =>
  z.object({ executions: z.array(item), total: z.number().int(), limit: z.number().int(), skip: z.number().int(), has_more: z.boolean() });

/** POST /executions/{id}/cancel. */
export const CancelResponseSchema = z.object({
  execution_id: z.string(),
  status: z.enum(['cancellation_requested', 'already_cancelled']),
  message: z.string(),
  event_id: z.string().nullable(),
});

/** POST /executions/{id}/stdin. */
export const StdinResponseSchema = z.object({ execution_id: z.string(), status: z.literal('accepted'), event_id: z.string() });

/** DELETE /executions/{id}. */
export const DeleteResponseSchema = z.object({ message: z.string(), execution_id: z.string() });

/** GET /executions/{id}/events: stored events (envelope plus the type's payload fields). */
export const StoredEventsSchema = z.array(
  z.looseObject({ event_id: z.string(), event_type: z.string(), event_version: z.string(), timestamp: z.string(), aggregate_id: z.string() }),
);

/** GET /example-scripts. */
export const ExampleScriptsSchema = z.object({ scripts: z.record(z.string(), z.string()) });

/** GET /k8s-limits. */
export const K8sLimitsSchema = z.object({
  cpu_limit: z.string(),
  memory_limit: z.string(),
  cpu_request: z.string(),
  memory_request: z.string(),
  execution_timeout: z.number(),
  supported_runtimes: z.record(z.string(), z.object({ versions: z.array(z.string()), file_ext: z.string() })),
});
