import { z } from 'zod';
import { EVENT_TYPES, type DomainEvent, type EventType } from './events.js';

/** Replay sessions: re-sending stored events to a target, durable and controllable from any node. */
export const REPLAY_STATUSES = ['created', 'running', 'paused', 'completed', 'failed', 'cancelled'] as const;
export type ReplayStatus = (typeof REPLAY_STATUSES)[number];
export const REPLAY_TYPES = ['execution', 'event_type', 'time_range', 'query', 'recovery'] as const;
export const REPLAY_TARGETS = ['kafka', 'file', 'test'] as const;
export type ReplayTarget = (typeof REPLAY_TARGETS)[number];
/** What an admin last asked of a session; the node running it reads it at every step. */
export const REPLAY_CONTROLS = ['run', 'pause', 'cancel'] as const;
export type ReplayControl = (typeof REPLAY_CONTROLS)[number];

const TERMINAL: ReadonlySet<ReplayStatus> = new Set(['completed', 'failed', 'cancelled']);
/** True once a session will not move again. */
export const isReplayFinished = (s: ReplayStatus): boolean => TERMINAL.has(s);

/** The header every replayed record carries (the session id), so consumers can tell replays from live events. */
export const REPLAY_HEADER = 'x-replay-session';
/** Errors a session keeps (the newest are dropped past it; the counters keep counting). */
export const MAX_REPLAY_ERRORS = 100;
/** Events one admin replay (POST /admin/events/replay) may re-send, and the preview's length. */
export const ADMIN_REPLAY_MAX_EVENTS = 1000;
export const ADMIN_REPLAY_PREVIEW = 100;

const EventTypeName = z.enum(EVENT_TYPES as [EventType, ...EventType[]]);
const Text = z.string().min(1).max(256);
/** An instant in any ISO form Date.parse reads, kept as ISO UTC (what the store compares as text). */
export const ReplayInstant = z
  .string()
  .refine((s) => s.trim() !== '' && !Number.isNaN(Date.parse(s)), 'expected a date-time like 2024-01-31T12:00:00Z')
  .transform((s) => new Date(s).toISOString());
/** Kafka's legal topic names (what every event log accepts). */
const TopicName = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'a topic name: letters, digits, dots, dashes or underscores').refine((t) => t !== '.' && t !== '..', 'not a topic name');

/** Which stored events a session replays; every field optional, all given ones must hold. */
export const ReplayFilterSchema = z.object({
  event_ids: z.array(Text).max(10_000).nullish(),
  execution_id: Text.nullish(),
  aggregate_id: Text.nullish(),
  event_types: z.array(EventTypeName).max(EVENT_TYPES.length).nullish(),
  exclude_event_types: z.array(EventTypeName).max(EVENT_TYPES.length).nullish(),
  start_time: ReplayInstant.nullish(),
  end_time: ReplayInstant.nullish(),
  user_id: Text.nullish(),
  service_name: Text.nullish(),
  /** The `metadata.correlation_id` events were stamped with. */
  correlation_id: Text.nullish(),
});
export type ReplayFilter = z.output<typeof ReplayFilterSchema>;

/** How a session replays: the body of POST /replay/sessions, with its defaults. */
export const ReplayConfigSchema = z
  .object({
    replay_type: z.enum(REPLAY_TYPES),
    target: z.enum(REPLAY_TARGETS).default('kafka'),
    filter: ReplayFilterSchema.default({}),
    speed_multiplier: z.number().min(0.1).max(100).default(1),
    preserve_timestamps: z.boolean().default(false),
    batch_size: z.number().int().min(1).max(1000).default(100),
    max_events: z.number().int().min(1).max(10_000_000).nullish(),
    /** Event type → topic, instead of the type's own topic (target `kafka`). */
    target_topics: z.partialRecord(EventTypeName, TopicName).nullish(),
    skip_errors: z.boolean().default(true),
    retry_failed: z.boolean().default(false),
    retry_attempts: z.number().int().min(1).max(10).default(3),
    /** Accepted for Integr8sCode's clients: progress is always tracked. */
    enable_progress_tracking: z.boolean().optional(),
    /** Never a path from a request: a `file` session writes to a file the server names in REPLAY_DIR. */
    target_file_path: z.null({ error: 'not accepted: the server names the file in its replay directory (see file_name)' }).optional(),
  })
  .strict();
export type ReplayConfig = z.output<typeof ReplayConfigSchema>;

/** One failure a session kept: a session-level fault has no event id. */
export const ReplayErrorSchema = z.object({
  timestamp: z.string(),
  error: z.string(),
  error_type: z.string().nullable(),
  event_id: z.string().nullable(),
});
export type ReplayError = z.infer<typeof ReplayErrorSchema>;

/** The stored session (collection `replay_sessions`). */
export const ReplaySessionSchema = z.object({
  id: z.string(),
  session_id: z.string(),
  config: ReplayConfigSchema,
  status: z.enum(REPLAY_STATUSES),
  /** What an admin last asked for; `status` follows it once the running node has acted. */
  control: z.enum(REPLAY_CONTROLS),
  total_events: z.number().int(),
  replayed_events: z.number().int(),
  failed_events: z.number().int(),
  skipped_events: z.number().int(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  completed_at: z.string().nullable(),
  last_event_at: z.string().nullable(),
  errors: z.array(ReplayErrorSchema),
  /** Event id of the last event handled (replayed, skipped or failed): a resumed run continues after it. */
  cursor: z.string().nullable(),
  /** The node running the session and until when its lease holds (renewed at every step). */
  owner_node: z.string().nullable(),
  lease_expires_at: z.string().nullable(),
  /** Bumped by every node that takes the session over; a runner whose epoch is gone stops. */
  epoch: z.number().int(),
  created_by: z.string().nullable(),
  target_service: z.string().nullable(),
  /** The correlation id of an admin replay (POST /admin/events/replay). */
  replay_id: z.string(),
  /** Target `file`: the JSON-lines file's name in the replay directory, and its full path. */
  file_name: z.string().nullable(),
  file_path: z.string().nullable(),
});
export type ReplaySession = z.infer<typeof ReplaySessionSchema>;

/** Whether a running session's node stopped renewing its lease (it died or lost the store): resumable from any node. */
export function isStalled(s: ReplaySession, now: number): boolean {
  return s.status === 'running' && (s.lease_expires_at === null || Date.parse(s.lease_expires_at) < now);
}

/** Whether the filter selects anything narrower than every event (the admin replay refuses an empty one). */
export function isEmptyFilter(f: ReplayFilter): boolean {
  return !(
    f.event_ids?.length ||
    f.execution_id ||
    f.aggregate_id ||
    f.event_types?.length ||
    f.start_time ||
    f.end_time ||
    f.user_id ||
    f.service_name ||
    f.correlation_id
  );
}

/** The topic an event goes to: the session's mapping for its type, or `fallback` (the type's own topic). */
export function targetTopic(config: ReplayConfig, event: DomainEvent, fallback: string): string {
  return config.target_topics?.[event.event_type] ?? fallback;
}

/**
 * When an event is due, in ms after the replay's clock started: its distance from the first event's time divided by
 * the speed multiplier (events keep their original spacing, scaled). Events with unreadable or earlier times are due at once.
 */
export function dueAfterMs(firstEventTime: string, eventTime: string, speed: number): number {
  const gap = Date.parse(eventTime) - Date.parse(firstEventTime);
  return Number.isFinite(gap) && gap > 0 ? gap / speed : 0;
}

/** Keeps the newest MAX_REPLAY_ERRORS errors. */
export function cappedErrors(existing: ReplayError[], added: ReplayError[]): ReplayError[] {
  const all = [...existing, ...added];
  return all.length > MAX_REPLAY_ERRORS ? all.slice(all.length - MAX_REPLAY_ERRORS) : all;
}
