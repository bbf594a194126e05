import { statusAfter, type DomainEvent } from '../domain/events.js';
import type { ExecutionResult, ExecutionStatus } from '../domain/execution.js';
import type { OutputPiece } from '../domain/live-output.js';

/** The data of one execution SSE frame for an event, as in the API: {event_type, execution_id, timestamp, event_id, status, result}. */
export interface EventFrame {
  event_type: string;
  execution_id: string;
  timestamp: string;
  event_id: string;
  status: ExecutionStatus | null;
  result: ExecutionResult | null;
}

/** The event type of live output frames. */
export const OUTPUT_EVENT_TYPE = 'execution_output';

/**
 * A frame of live output: the event frame's fields (status running, no result, so clients that read every frame
 * the same way still can) plus the stream, the piece's position `seq` (from 1), its text and the truncation flag.
 */
export interface OutputFrame extends OutputPiece {
  event_type: typeof OUTPUT_EVENT_TYPE;
  execution_id: string;
  timestamp: string;
  event_id: string;
  status: 'running';
  result: null;
  seq: number;
}

/** Any frame of an execution's stream. */
export type StreamFrame = EventFrame | OutputFrame;

/** Builds the frame for a stored event; `result` is set on result_stored. Events carry no script text to the stream. */
export function toStreamFrame(event: DomainEvent, result: ExecutionResult | null = null): EventFrame {
  return {
    event_type: event.event_type,
    execution_id: event.aggregate_id,
    timestamp: event.timestamp,
    event_id: event.event_id,
    status: event.event_type === 'result_stored' ? event.status : statusAfter(event),
    result,
  };
}

/** Builds the frame for a published piece of output. */
export function toOutputFrame(p: OutputPiece & { event_id: string; execution_id: string; timestamp: string; seq: number }): OutputFrame {
  return {
    event_type: OUTPUT_EVENT_TYPE,
    execution_id: p.execution_id,
    timestamp: p.timestamp,
    event_id: p.event_id,
    status: 'running',
    result: null,
    stream: p.stream,
    seq: p.seq,
    text: p.text,
    truncated: p.truncated,
  };
}

/** Frames in stream order: by event id (UUIDv7, time-ordered), which is also what resumption compares. */
export function byEventId(a: StreamFrame, b: StreamFrame): number {
  return a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0;
}

/** The bus channel carrying one execution's frames. */
export function executionChannel(executionId: string): string {
  return `execution:${executionId}`;
}
