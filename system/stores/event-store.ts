import type { Collection, DocumentStore, Filter, FindOptions } from '../ports/document-store.js';
import { parseEvent, type DomainEvent, type EventType } from '../domain/events.js';
import { DuplicateKeyError } from '../ports/document-store.js';

type StoredEvent = DomainEvent & { id: string };

/** A deleted event as the archive keeps it: the event, who deleted it, when and why. */
export type ArchivedEvent = DomainEvent & { id: string; deleted_at: string; deleted_by: string; deletion_reason: string | null };

/** How long events are kept, as in Integr8sCode's event store (a TTL on the event's timestamp). */
export const EVENT_RETENTION_DAYS = 30;

/** The event store: every domain event, kept by event id and read back per aggregate in order. */
export class EventStore {
  private readonly events: Collection<StoredEvent>;
  private readonly archive: Collection<ArchivedEvent>;

  constructor(store: DocumentStore) {
    this.events = store.collection<StoredEvent>('events', {
      indexes: ['aggregate_id', 'event_type', 'timestamp'],
      ttl: { field: 'timestamp', seconds: EVENT_RETENTION_DAYS * 24 * 3600 },
    });
    this.archive = store.collection<ArchivedEvent>('events_archive', { indexes: ['aggregate_id', 'deleted_at'] });
  }

  /** Stores an event; storing the same event id twice is a no-op (idempotent redelivery). Returns false for a duplicate. */
  async append(event: DomainEvent): Promise<boolean> {
    try {
      await this.events.insert({ ...event, id: event.event_id });
      return true;
    } catch (err) {
      if (err instanceof DuplicateKeyError) return false;
      throw err;
    }
  }

  /** An aggregate's events in the order they happened (event ids are time-ordered UUIDv7). */
  async forAggregate(
    aggregateId: string,
    opts: { afterEventId?: string | null; eventTypes?: EventType[]; limit?: number } = {},
  ): Promise<DomainEvent[]> {
    const filter: Filter = { aggregate_id: aggregateId };
    if (opts.afterEventId) filter['event_id'] = { $gt: opts.afterEventId };
    if (opts.eventTypes?.length) filter['event_type'] = { $in: opts.eventTypes };
    const rows = await this.events.find(filter, { sort: { event_id: 1 }, ...(opts.limit ? { limit: opts.limit } : {}) });
    return rows.map(toEvent);
  }

  /** Events matching a filter (a Filter over the stored event: `metadata.user_id`, `timestamp`, ...). */
  async find(filter: Filter, options?: FindOptions): Promise<DomainEvent[]> {
    return (await this.events.find(filter, options)).map(toEvent);
  }

  count(filter: Filter): Promise<number> {
    return this.events.count(filter);
  }

  /**
   * Every event matching `filter`, one page of `batch` at a time, ordered by event id (time order) `newestFirst` or
   * not. Pages are read by key (after the last id seen), so a long scan costs the same per page to the end.
   */
  async *scan(filter: Filter, opts: { batch?: number; newestFirst?: boolean } = {}): AsyncGenerator<DomainEvent[]> {
    const batch = opts.batch ?? 500;
    const order = opts.newestFirst ? -1 : 1;
    let after: string | null = null;
    for (;;) {
      const page: Filter = after === null ? filter : { ...filter, event_id: order === 1 ? { $gt: after } : { $lt: after } };
      const rows = await this.events.find(page, { sort: { event_id: order }, limit: batch });
      if (rows.length === 0) return;
      yield rows.map(toEvent);
      if (rows.length < batch) return;
      after = rows[rows.length - 1]!.event_id;
    }
  }

  async get(eventId: string): Promise<DomainEvent | null> {
    const row = await this.events.get(eventId);
    return row ? toEvent(row) : null;
  }

  /**
   * Deletes an event, keeping a copy in `events_archive` with who deleted it, when and why. The copy is written
   * first, so a failure in between leaves the event in both places, never in neither. Returns the archived copy,
   * or null when there was no such event.
   */
  async deleteWithArchive(eventId: string, by: string, reason: string | null = null): Promise<ArchivedEvent | null> {
    const row = await this.events.get(eventId);
    if (!row) return null;
    const archived: ArchivedEvent = { ...row, deleted_at: new Date().toISOString(), deleted_by: by, deletion_reason: reason };
    await this.archive.put(archived);
    await this.events.delete(eventId);
    return archived;
  }

  /** Archived copies of an aggregate's deleted events, oldest deletion first. */
  async archivedFor(aggregateId: string): Promise<ArchivedEvent[]> {
    return this.archive.find({ aggregate_id: aggregateId }, { sort: { deleted_at: 1 } });
  }
}

/** The event of a stored row: checked against the catalogue, without the row's `id`. */
function toEvent(row: StoredEvent): DomainEvent {
  return parseEvent(row, 'id');
}
