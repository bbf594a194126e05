import { OUTPUT_RETENTION_SECONDS, type OutputPiece, type StreamBytes } from '../domain/live-output.js';
import type { Collection, DocumentStore, Filter } from '../ports/document-store.js';

/** One published piece of live output, as stored (collection `execution_output`, expiring). */
export interface StoredOutput extends OutputPiece {
  /** The piece's event id (also its document id): a UUIDv7 that sorts among the execution's event ids. */
  id: string;
  event_id: string;
  execution_id: string;
  /** The run attempt that printed it. */
  attempt: number;
  /** Position in the execution's output, from 1. */
  seq: number;
  timestamp: string;
  /** Epoch ms after which the piece is gone. */
  expires_at: number;
}

/** Where an execution's published output stands: the last seq, and the bytes per stream of one attempt. */
export interface OutputPosition {
  seq: number;
  bytes: StreamBytes;
}

/**
 * The short-lived buffer of live output behind stream resumption: any node serving a stream reads what a client
 * missed from here. Kept out of the event store (pieces are not domain events and would flood it); each piece
 * expires OUTPUT_RETENTION_SECONDS after it was written, and an execution holds at most its output cap per attempt.
 */
export class OutputStore {
  private readonly rows: Collection<StoredOutput>;

  constructor(store: DocumentStore) {
    this.rows = store.collection<StoredOutput>('execution_output', {
      indexes: ['execution_id', 'event_id'],
      ttl: { field: 'expires_at', seconds: 0 },
    });
  }

  /** Stores a piece; `now` sets its expiry. */
  async append(piece: Omit<StoredOutput, 'id' | 'expires_at'>, now = Date.now()): Promise<void> {
    await this.rows.put({ ...piece, id: piece.event_id, expires_at: now + OUTPUT_RETENTION_SECONDS * 1000 });
  }

  /** An execution's pieces after `afterEventId` (all with null), in order. */
  async after(executionId: string, afterEventId: string | null): Promise<StoredOutput[]> {
    const filter: Filter = { execution_id: executionId };
    if (afterEventId) filter['event_id'] = { $gt: afterEventId };
    return this.rows.find(filter, { sort: { seq: 1 } });
  }

  /** The last seq of an execution and how many bytes of each stream `attempt` published. */
  async position(executionId: string, attempt: number): Promise<OutputPosition> {
    const pieces = await this.rows.find({ execution_id: executionId }, { sort: { seq: 1 } });
    const bytes: StreamBytes = { stdout: 0, stderr: 0 };
    for (const p of pieces) if (p.attempt === attempt) bytes[p.stream] += Buffer.byteLength(p.text, 'utf8');
    return { seq: pieces.at(-1)?.seq ?? 0, bytes };
  }
}
