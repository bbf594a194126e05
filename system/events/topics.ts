import type { EventType } from '../domain/events.js';

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
