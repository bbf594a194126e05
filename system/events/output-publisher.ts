import { newEventId } from '../domain/events.js';
import type { OutputPiece } from '../domain/live-output.js';
import type { FanoutBus } from '../ports/fanout-bus.js';
import type { OutputPosition, OutputStore } from '../stores/output-store.js';
import { executionChannel, toOutputFrame, type OutputFrame } from './stream-frame.js';

/** Where a piece belongs: its execution, the attempt that printed it and its position. */
export interface PieceAddress {
  executionId: string;
  attempt: number;
  seq: number;
}

/**
 * Publishes live output: stamps each piece with an event id (a UUIDv7 from the same generator as events, taken
 * when it is published, so it sorts after every event its saga published before it), stores it in the short-lived
 * output buffer, then sends its frame on the execution's bus channel, the same path event frames take to every
 * node. Nothing goes to the event log or the event store. Live output is a convenience (the stored result is the
 * record), so failures are reported to `onError` and never fail the run.
 */
export class OutputPublisher {
  constructor(
    private readonly store: OutputStore,
    private readonly bus: FanoutBus,
    private readonly onError: (error: unknown, executionId: string) => void = () => {},
  ) {}

  async publish(at: PieceAddress, piece: OutputPiece): Promise<OutputFrame> {
    const frame = toOutputFrame({ ...piece, event_id: newEventId(), execution_id: at.executionId, timestamp: new Date().toISOString(), seq: at.seq });
    try {
      // stored before it is sent: a client that resumes after missing the frame finds it
      await this.store.append({ ...piece, event_id: frame.event_id, execution_id: at.executionId, attempt: at.attempt, seq: at.seq, timestamp: frame.timestamp });
    } catch (error) {
      this.onError(error, at.executionId);
    }
    try {
      await this.bus.publish(executionChannel(at.executionId), JSON.stringify(frame));
    } catch (error) {
      this.onError(error, at.executionId);
    }
    return frame;
  }

  /** Where an execution's output stands (see OutputStore.position); a store fault reads as nothing published. */
  async position(executionId: string, attempt: number): Promise<OutputPosition> {
    try {
      return await this.store.position(executionId, attempt);
    } catch (error) {
      this.onError(error, executionId);
      return { seq: 0, bytes: { stdout: 0, stderr: 0 } };
    }
  }
}
