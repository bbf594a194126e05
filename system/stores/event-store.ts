import type { Collection, DocumentStore, Filter } from '../ports/document-store.js';
import { parseEvent, type DomainEvent, type EventType } from '../domain/events.js';
import { DuplicateKeyError } from '../ports/document-store.js';

type StoredEvent = DomainEvent & { id: string };

/** How long events are kept, as in Integr8sCode's event store (a TTL on the event's timestamp). */
export const EVENT_RETENTION_DAYS = 30;

/** The event store: every domain event, kept by event id and read back per aggregate in order. */
export class EventStore {
  private readonly events: Collection<StoredEvent>;

  constructor(store: DocumentStore) {
    this.events = store.collection<StoredEvent>('events', {
      indexes: ['aggregate_id', 'event_type', 'timestamp'],
      ttl: { field: 'timestamp', seconds: EVENT_RETENTION_DAYS * 24 * 3600 },
    });
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

  async get(eventId: string): Promise<DomainEvent | null> {
    const row = await this.events.get(eventId);
    return row ? toEvent(row) : null;
  }
}

function toEvent(row: StoredEvent): DomainEvent {
  const { id: _id, ...rest } = row;
  return parseEvent(rest);
}
