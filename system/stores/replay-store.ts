import type { Collection, DocumentStore, Filter } from '../ports/document-store.js';
import { ReplaySessionSchema, type ReplayFilter, type ReplaySession, type ReplayStatus } from '../domain/replay.js';

/** The store filter over events (collection `events`) for a replay filter. */
export function replayEventFilter(f: ReplayFilter): Filter {
  const filter: Filter = {};
  // An event's document id is its event id: conditions and order on `id` use the store's primary key.
  if (f.event_ids?.length) filter['id'] = { $in: f.event_ids };
  if (f.execution_id) filter['execution_id'] = f.execution_id;
  if (f.aggregate_id) filter['aggregate_id'] = f.aggregate_id;
  const excluded = new Set(f.exclude_event_types ?? []);
  if (f.event_types?.length) filter['event_type'] = { $in: f.event_types.filter((t) => !excluded.has(t)) };
  else if (excluded.size) filter['event_type'] = { $nin: [...excluded] };
  if (f.start_time || f.end_time) filter['timestamp'] = { ...(f.start_time ? { $gte: f.start_time } : {}), ...(f.end_time ? { $lte: f.end_time } : {}) };
  if (f.user_id) filter['metadata.user_id'] = f.user_id;
  if (f.service_name) filter['metadata.service_name'] = f.service_name;
  if (f.correlation_id) filter['metadata.correlation_id'] = f.correlation_id;
  return filter;
}

/** Replay sessions (collection `replay_sessions`), validated on the way out. */
export class ReplayStore {
  private readonly rows: Collection<ReplaySession>;

  constructor(store: DocumentStore) {
    this.rows = store.collection<ReplaySession>('replay_sessions', { indexes: ['status', 'created_at', 'completed_at'] });
  }

  insert(session: ReplaySession): Promise<void> {
    return this.rows.insert(ReplaySessionSchema.parse(session));
  }

  async get(id: string): Promise<ReplaySession | null> {
    const row = await this.rows.get(id);
    return row ? ReplaySessionSchema.parse(row) : null;
  }

  /** Sets top-level fields (others' writes to other fields are kept); returns the session or null when absent. */
  async update(id: string, patch: Partial<ReplaySession>): Promise<ReplaySession | null> {
    const row = await this.rows.update(id, patch);
    return row ? ReplaySessionSchema.parse(row) : null;
  }

  /** Adds one to the epoch in one atomic step and returns the session as it is now. */
  async bumpEpoch(id: string): Promise<ReplaySession | null> {
    const row = await this.rows.increment(id, 'epoch', 1);
    return row ? ReplaySessionSchema.parse(row) : null;
  }

  /** Sessions, newest first, optionally of one status. */
  async list(status: ReplayStatus | null, limit: number): Promise<ReplaySession[]> {
    const rows = await this.rows.find(status ? { status } : {}, { sort: { created_at: -1 }, limit });
    return rows.map((r) => ReplaySessionSchema.parse(r));
  }

  async countByStatus(status: ReplayStatus): Promise<number> {
    return this.rows.count({ status });
  }

  /** Finished sessions (completed, failed, cancelled) that ended before `before` (ISO). */
  async finishedBefore(before: string): Promise<ReplaySession[]> {
    const rows = await this.rows.find({ status: { $in: ['completed', 'failed', 'cancelled'] }, completed_at: { $lt: before } });
    return rows.map((r) => ReplaySessionSchema.parse(r));
  }

  delete(id: string): Promise<boolean> {
    return this.rows.delete(id);
  }
}
