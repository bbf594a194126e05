import { z } from 'zod';
import { DuplicateKeyError, type Collection, type DocumentStore, type Filter, type FindOptions } from '../ports/document-store.js';

export const DEAD_LETTER_STATUSES = ['pending', 'retried'] as const;
export type DeadLetterStatus = (typeof DEAD_LETTER_STATUSES)[number];

/**
 * A message that failed every attempt of its consumer (collection `dlq_messages`), as read from the dead-letter
 * topic: its original coordinates, key, value and headers (without the dead-letter headers), the last error, and
 * what admins did with it since. Its id names the dead-letter record itself (`<partition>-<offset>` in the
 * dead_letters topic), so reading the same record twice stores it once.
 */
export const DeadLetterSchema = z.object({
  id: z.string(),
  status: z.enum(DEAD_LETTER_STATUSES),
  original_topic: z.string().nullable(),
  original_partition: z.number().int().nullable(),
  original_offset: z.number().int().nullable(),
  consumer_group: z.string().nullable(),
  key: z.string(),
  payload: z.string(),
  headers: z.record(z.string(), z.string()),
  event_id: z.string().nullable(),
  event_type: z.string().nullable(),
  error: z.string(),
  attempts: z.number().int(),
  failed_at: z.string(),
  dlq_partition: z.number().int(),
  dlq_offset: z.number().int(),
  retry_count: z.number().int(),
  retried_at: z.string().nullable(),
  retried_by: z.string().nullable(),
});
export type DeadLetter = z.infer<typeof DeadLetterSchema>;

/** A discarded dead letter as the audit archive keeps it (collection `dlq_discarded`). */
export const DiscardedDeadLetterSchema = DeadLetterSchema.extend({
  discarded_at: z.string(),
  discarded_by: z.string(),
  discard_reason: z.string(),
});
export type DiscardedDeadLetter = z.infer<typeof DiscardedDeadLetterSchema>;

/** Dead letters and the archive of discarded ones. */
export class DeadLetterStore {
  private readonly rows: Collection<DeadLetter>;
  private readonly discarded: Collection<DiscardedDeadLetter>;

  constructor(store: DocumentStore) {
    this.rows = store.collection<DeadLetter>('dlq_messages', { indexes: ['status', 'original_topic', 'event_type', 'consumer_group', 'failed_at'] });
    this.discarded = store.collection<DiscardedDeadLetter>('dlq_discarded', { indexes: ['discarded_at'] });
  }

  /** Stores a dead letter unless one with its id exists (a redelivered record); returns whether it was new. */
  async add(letter: DeadLetter): Promise<boolean> {
    try {
      await this.rows.insert(DeadLetterSchema.parse(letter));
      return true;
    } catch (err) {
      if (err instanceof DuplicateKeyError) return false;
      throw err;
    }
  }

  async get(id: string): Promise<DeadLetter | null> {
    const row = await this.rows.get(id);
    return row ? DeadLetterSchema.parse(row) : null;
  }

  async find(filter: Filter, options?: FindOptions): Promise<DeadLetter[]> {
    return (await this.rows.find(filter, options)).map((r) => DeadLetterSchema.parse(r));
  }

  count(filter: Filter): Promise<number> {
    return this.rows.count(filter);
  }

  async update(id: string, patch: Partial<DeadLetter>): Promise<DeadLetter | null> {
    const row = await this.rows.update(id, patch);
    return row ? DeadLetterSchema.parse(row) : null;
  }

  /** Moves a dead letter to the archive with who discarded it, when and why (archive first: never lost in between). */
  async discard(letter: DeadLetter, by: string, reason: string): Promise<DiscardedDeadLetter> {
    const archived: DiscardedDeadLetter = { ...letter, discarded_at: new Date().toISOString(), discarded_by: by, discard_reason: reason };
    await this.discarded.put(DiscardedDeadLetterSchema.parse(archived));
    await this.rows.delete(letter.id);
    return archived;
  }

  async discardedOne(id: string): Promise<DiscardedDeadLetter | null> {
    const row = await this.discarded.get(id);
    return row ? DiscardedDeadLetterSchema.parse(row) : null;
  }

  /** The oldest dead letter still waiting for an admin, or null. */
  async oldestPending(): Promise<DeadLetter | null> {
    const [row] = await this.find({ status: 'pending' }, { sort: { failed_at: 1 }, limit: 1 });
    return row ?? null;
  }
}
