import { z } from 'zod';
import type { Collection, DocumentStore, Filter, FindOptions } from '../ports/document-store.js';

export const SAGA_STATES = ['created', 'running', 'compensating', 'completed', 'failed', 'timeout', 'cancelled'] as const;
export type SagaStateName = (typeof SAGA_STATES)[number];

/** A saga's stored progress (collection `sagas`), written at every step. */
export const SagaRecordSchema = z.object({
  id: z.string(),
  saga_id: z.string(),
  saga_name: z.string(),
  execution_id: z.string(),
  state: z.enum(SAGA_STATES),
  current_step: z.string().nullable(),
  completed_steps: z.array(z.string()),
  compensated_steps: z.array(z.string()),
  error_message: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  completed_at: z.string().nullable(),
  /** When the saga gives up waiting for the sandbox's outcome (its start + wall limit + grace); null before a start. */
  deadline_at: z.string().nullable().default(null),
});
export type SagaRecord = z.infer<typeof SagaRecordSchema>;

/** Saga records, one per execution saga. */
export class SagaStore {
  private readonly rows: Collection<SagaRecord>;

  constructor(store: DocumentStore) {
    this.rows = store.collection<SagaRecord>('sagas', { indexes: ['execution_id', 'state'] });
  }

  put(record: SagaRecord): Promise<void> {
    return this.rows.put(SagaRecordSchema.parse(record));
  }

  async get(id: string): Promise<SagaRecord | null> {
    const row = await this.rows.get(id);
    return row ? SagaRecordSchema.parse(row) : null;
  }

  async find(filter: Filter, options?: FindOptions): Promise<SagaRecord[]> {
    return (await this.rows.find(filter, options)).map((r) => SagaRecordSchema.parse(r));
  }

  count(filter: Filter): Promise<number> {
    return this.rows.count(filter);
  }
}
