import { randomUUID } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import { ERROR_TYPES, EXECUTION_STATUSES, PRIORITIES, ResourceUsageSchema, SandboxHandleSchema, type ExecutionStatus } from './execution.js';
import { LANGUAGES } from './runtimes.js';

/** The event catalogue: every event type the platform emits, with its payload schema. */
const outputFields = {
  stdout: z.string(),
  stderr: z.string(),
  stdout_truncated: z.boolean(),
  stderr_truncated: z.boolean(),
  exit_code: z.number().int().nullable(),
  resource_usage: ResourceUsageSchema,
};

export const EVENT_PAYLOADS = {
  /** The API accepted a script; the execution is stored as queued. */
  execution_requested: z.object({
    execution_id: z.string(),
    script: z.string(),
    lang: z.enum(LANGUAGES),
    lang_version: z.string(),
    priority: z.enum(PRIORITIES),
  }),
  /** Admission put the execution in the priority queue. */
  execution_queued: z.object({ execution_id: z.string(), priority: z.enum(PRIORITIES), queue_position: z.number().int() }),
  /** A concurrency slot was granted; a sandbox is being started. */
  execution_scheduled: z.object({ execution_id: z.string(), attempt: z.number().int() }),
  /** The sandbox (or pod) exists. */
  pod_created: z.object({ execution_id: z.string(), sandbox: SandboxHandleSchema }),
  /** The user's program is running. */
  execution_running: z.object({ execution_id: z.string() }),
  /** The sandbox ended: how, and which limit stopped it if any. */
  pod_terminated: z.object({
    execution_id: z.string(),
    exit_code: z.number().int().nullable(),
    signal: z.string().nullable(),
    limit: z.string().nullable(),
    stopped: z.boolean(),
  }),
  execution_completed: z.object({ execution_id: z.string(), ...outputFields }),
  execution_failed: z.object({
    execution_id: z.string(),
    error_type: z.enum(ERROR_TYPES),
    error_message: z.string(),
    ...outputFields,
    resource_usage: ResourceUsageSchema.nullable(),
  }),
  execution_timeout: z.object({ execution_id: z.string(), timeout_seconds: z.number(), ...outputFields }),
  /** A user asked to cancel; the execution's actors act on it. */
  execution_cancel_requested: z.object({ execution_id: z.string(), reason: z.string() }),
  execution_cancelled: z.object({ execution_id: z.string(), reason: z.string() }),
  /** The owner wrote to the running program's standard input (closing it when `eof`); the execution's actors feed it. */
  execution_stdin_requested: z.object({ execution_id: z.string(), data: z.string(), eof: z.boolean() }),
  /** The final result is stored and readable from /result. */
  result_stored: z.object({ execution_id: z.string(), status: z.enum(EXECUTION_STATUSES) }),
  /** Storing the result failed; the execution ends in error. */
  result_failed: z.object({ execution_id: z.string(), error: z.string() }),
  /** A user changed their settings (aggregate `user_settings:<user_id>`): each changed path with its old and new value. */
  user_settings_updated: z.object({
    user_id: z.string(),
    changes: z.array(z.object({ path: z.array(z.string()).min(1).max(2), old_value: z.json(), new_value: z.json() })).min(1),
    reason: z.string().nullable(),
  }),
} as const;

export type EventType = keyof typeof EVENT_PAYLOADS;
export const EVENT_TYPES = Object.keys(EVENT_PAYLOADS) as EventType[];
export type EventPayload<T extends EventType> = z.infer<(typeof EVENT_PAYLOADS)[T]>;

export const EVENT_VERSION = '1';
export const SERVICE_NAME = 'integr8s-ts';
export const SERVICE_VERSION = '0.1.0';

export const EventMetadataSchema = z.object({
  service_name: z.string(),
  service_version: z.string(),
  user_id: z.string().nullable(),
  correlation_id: z.string().optional(),
  /** Set on a replayed copy: the replay session that sent it (the record also carries the x-replay-session header). */
  replay_session_id: z.string().optional(),
});
export type EventMetadata = z.infer<typeof EventMetadataSchema>;

const EnvelopeSchema = z.object({
  event_id: z.string(),
  event_type: z.enum(EVENT_TYPES as [EventType, ...EventType[]]),
  event_version: z.string(),
  timestamp: z.string(),
  aggregate_id: z.string(),
  metadata: EventMetadataSchema,
});

const LooseEnvelopeSchema = EnvelopeSchema.passthrough();

/** A stamped event of one type: the envelope plus that type's payload fields. */
export type DomainEventOf<T extends EventType> = z.infer<typeof EnvelopeSchema> & { event_type: T } & EventPayload<T>;
export type DomainEvent = { [T in EventType]: DomainEventOf<T> }[EventType];

/** Stamps an event: the only place envelopes are built. Validates the payload against the catalogue. */
export function stampEvent<T extends EventType>(
  type: T,
  aggregateId: string,
  payload: EventPayload<T>,
  meta: { user_id: string | null; correlation_id?: string; at?: string },
): DomainEventOf<T> {
  const body = EVENT_PAYLOADS[type].parse(payload);
  return {
    ...body,
    event_id: newEventId(),
    event_type: type,
    event_version: EVENT_VERSION,
    // A transition stamps its events with the time it stores in the record, so the record can be rebuilt from them.
    timestamp: meta.at ?? new Date().toISOString(),
    aggregate_id: aggregateId,
    metadata: {
      service_name: SERVICE_NAME,
      service_version: SERVICE_VERSION,
      user_id: meta.user_id,
      ...(meta.correlation_id ? { correlation_id: meta.correlation_id } : {}),
    },
  } as unknown as DomainEventOf<T>;
}

/** Per event type, the envelope and that type's payload as one schema: an event is checked in one pass. */
const EVENT_SCHEMAS = new Map<string, z.ZodType>(EVENT_TYPES.map((type) => [type, EnvelopeSchema.extend(EVENT_PAYLOADS[type].shape)]));

/**
 * Parses an event read from outside (log, store); throws a ZodError naming what is wrong. Fields the catalogue does
 * not know are kept as they are (an event written by a newer version), except `omit` (a store's own field).
 */
export function parseEvent(raw: unknown, omit?: string): DomainEvent {
  const type = typeof raw === 'object' && raw !== null ? (raw as { event_type?: unknown }).event_type : undefined;
  const schema = typeof type === 'string' ? EVENT_SCHEMAS.get(type) : undefined;
  // An unknown or missing type: the envelope's parse throws the error that names it.
  if (!schema) return LooseEnvelopeSchema.parse(raw) as never;
  const event = schema.parse(raw) as Record<string, unknown>;
  for (const key of Object.keys(raw as object)) {
    if (key !== omit && !Object.hasOwn(event, key)) {
      Object.defineProperty(event, key, { value: (raw as Record<string, unknown>)[key], enumerable: true, writable: true, configurable: true });
    }
  }
  return event as DomainEvent;
}

/** The execution status an event moves its execution to, or null when it does not change the status. */
export function statusAfter(event: DomainEvent): ExecutionStatus | null {
  switch (event.event_type) {
    case 'execution_requested':
    case 'execution_queued':
      return 'queued';
    case 'execution_scheduled':
      return 'scheduled';
    case 'execution_running':
      return 'running';
    case 'execution_completed':
      return 'completed';
    case 'execution_failed':
      return event.error_type === 'system_error' ? 'error' : 'failed';
    case 'execution_timeout':
      return 'timeout';
    case 'execution_cancelled':
      return 'cancelled';
    case 'result_failed':
      return 'error';
    default:
      return null;
  }
}

/** Event types after which an execution's SSE stream closes. */
export const STREAM_CLOSING_EVENTS: ReadonlySet<EventType> = new Set([
  'result_stored',
  'result_failed',
  'execution_failed',
  'execution_timeout',
  'execution_cancelled',
]);

/**
 * Events that are not shown on execution streams: commands only the owning node acts on. A stdin write is stamped
 * on whichever node took the request; kept off the stream, its id never moves a stream's resume point.
 */
export const STREAM_HIDDEN_EVENTS: ReadonlySet<EventType> = new Set(['execution_stdin_requested']);

/** A fresh event id: a UUIDv7, time-ordered and increasing within this process (live output pieces use it too). */
export function newEventId(): string {
  return uuidv7();
}

/** A fresh random id for things that are not events (executions, sessions). */
export function newId(): string {
  return randomUUID();
}
