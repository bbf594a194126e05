import { parseEvent } from '../domain/events.js';
import type { SettingsEvent, UserSettings } from '../domain/user-settings.js';
import type { Collection, DocumentStore, Filter } from '../ports/document-store.js';

type EventRow = SettingsEvent & { id: string };

/** A cached fold of a user's settings events up to `last_event_id`. */
export interface SettingsSnapshot {
  settings: UserSettings;
  last_event_id: string;
}

type SnapshotRow = SettingsSnapshot & { id: string; user_id: string };

/**
 * User settings storage: the append-only change events (collection `user_settings_events`, the source of
 * truth) and one snapshot per user (collection `user_settings_snapshots`, a cache that may lag behind).
 */
export class SettingsStore {
  private readonly events: Collection<EventRow>;
  private readonly snapshots: Collection<SnapshotRow>;

  constructor(store: DocumentStore) {
    this.events = store.collection<EventRow>('user_settings_events', { indexes: ['user_id', 'timestamp'] });
    this.snapshots = store.collection<SnapshotRow>('user_settings_snapshots');
  }

  /** Appends one change event (never updated or removed afterwards, except by deleteAllFor). */
  append(event: SettingsEvent): Promise<void> {
    return this.events.insert({ ...event, id: event.event_id });
  }

  /**
   * A user's events in the order they happened (event ids are time-ordered UUIDv7): after an event id,
   * up to a time (inclusive), the newest `limit` when `newestFirst`.
   */
  async eventsFor(
    userId: string,
    opts: { afterEventId?: string; until?: string; limit?: number; newestFirst?: boolean } = {},
  ): Promise<SettingsEvent[]> {
    const filter: Filter = { user_id: userId };
    if (opts.afterEventId) filter['event_id'] = { $gt: opts.afterEventId };
    if (opts.until) filter['timestamp'] = { $lte: opts.until };
    const rows = await this.events.find(filter, {
      sort: { event_id: opts.newestFirst ? -1 : 1 },
      ...(opts.limit ? { limit: opts.limit } : {}),
    });
    return rows.map(toEvent);
  }

  /** How many change events a user has. */
  countFor(userId: string): Promise<number> {
    return this.events.count({ user_id: userId });
  }

  async snapshot(userId: string): Promise<SettingsSnapshot | null> {
    const row = await this.snapshots.get(userId);
    return row ? { settings: row.settings, last_event_id: row.last_event_id } : null;
  }

  saveSnapshot(snapshot: SettingsSnapshot): Promise<void> {
    const userId = snapshot.settings.user_id;
    return this.snapshots.put({ id: userId, user_id: userId, ...snapshot });
  }

  /** Removes a user's events and snapshot (account deletion). */
  async deleteAllFor(userId: string): Promise<number> {
    const rows = await this.events.find({ user_id: userId });
    for (const row of rows) await this.events.delete(row.id);
    await this.snapshots.delete(userId);
    return rows.length;
  }
}

function toEvent(row: EventRow): SettingsEvent {
  const { id: _id, ...rest } = row;
  const event = parseEvent(rest);
  if (event.event_type !== 'user_settings_updated') throw new Error(`unexpected ${event.event_type} among settings events`);
  return event;
}
