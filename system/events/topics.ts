import type { EventType } from '../domain/events.js';
import type { RetryPolicy } from '../ports/event-log.js';

/** Log topics. Commands are consumed by the partition owners; events by whoever observes executions. */
export const TOPICS = {
  executionCommands: 'execution_commands',
  executionEvents: 'execution_events',
  deadLetters: 'dead_letters',
} as const;

const COMMANDS: ReadonlySet<EventType> = new Set(['execution_requested', 'execution_cancel_requested', 'execution_stdin_requested']);

/** The topic an event type is appended to. */
export function topicOf(type: EventType): string {
  return COMMANDS.has(type) ? TOPICS.executionCommands : TOPICS.executionEvents;
}

/**
 * How the consumers of each topic retry a failing record before it is dead-lettered. Commands are handled quickly
 * by the owning node: a few fast tries, so a poison command does not hold its partition. Observers of events
 * (notifications) reach stores and webhooks: more tries, further apart.
 */
export const RETRY_POLICIES = {
  [TOPICS.executionCommands]: { attempts: 3, initialMs: 50, factor: 2, maxMs: 400, jitter: 0.2 },
  [TOPICS.executionEvents]: { attempts: 5, initialMs: 100, factor: 2, maxMs: 2_000, jitter: 0.5 },
} as const satisfies Record<string, RetryPolicy>;
