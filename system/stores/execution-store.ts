import type { Collection, DocumentStore, Filter, FindOptions } from '../ports/document-store.js';
import { ExecutionRecordSchema, type ExecutionRecord, type ExecutionStatus } from '../domain/execution.js';

const NON_TERMINAL: ExecutionStatus[] = ['queued', 'scheduled', 'running'];

/** Execution records (collection `executions`), validated on the way out. */
export class ExecutionStore {
  private readonly rows: Collection<ExecutionRecord>;

  constructor(store: DocumentStore) {
    this.rows = store.collection<ExecutionRecord>('executions', {
      // The compound one serves a user's history (filtered by user, newest first) page by page from the index.
      indexes: ['status', 'user_id', 'partition', 'created_at', 'outbox_pending', { user_id: 1, created_at: -1 }],
    });
  }

  create(record: ExecutionRecord): Promise<void> {
    return this.rows.insert(ExecutionRecordSchema.parse(record));
  }

  async get(id: string): Promise<ExecutionRecord | null> {
    const row = await this.rows.get(id);
    return row ? ExecutionRecordSchema.parse(row) : null;
  }

  /** Sets fields and bumps updated_at; returns the new record or null when absent. */
  async update(id: string, patch: Partial<ExecutionRecord>): Promise<ExecutionRecord | null> {
    // The patch is typed and the stored row was validated when read or created, so the merge needs no re-parse.
    return this.rows.update(id, { ...patch, updated_at: new Date().toISOString() });
  }

  /** Executions of the given partitions that have not reached a terminal status. */
  async unfinished(partitions: number[]): Promise<ExecutionRecord[]> {
    const rows = await this.rows.find(
      { status: { $in: NON_TERMINAL }, partition: { $in: partitions } },
      { sort: { created_at: 1 } },
    );
    return rows.map((r) => ExecutionRecordSchema.parse(r));
  }

  /** Records whose last transition's events are not all published yet. */
  async withPendingOutbox(partitions: number[]): Promise<ExecutionRecord[]> {
    const rows = await this.rows.find({ outbox_pending: true, partition: { $in: partitions } });
    return rows.map((r) => ExecutionRecordSchema.parse(r));
  }

  async find(filter: Filter, options?: FindOptions): Promise<ExecutionRecord[]> {
    const rows = await this.rows.find(filter, options);
    return rows.map((r) => ExecutionRecordSchema.parse(r));
  }

  count(filter: Filter): Promise<number> {
    return this.rows.count(filter);
  }

  delete(id: string): Promise<boolean> {
    return this.rows.delete(id);
  }
}
