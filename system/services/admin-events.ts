import { errors } from '../domain/errors.js';
import type { DomainEvent, EventType } from '../domain/events.js';
import type { Filter } from '../ports/document-store.js';
import type { EventStore } from '../stores/event-store.js';
import { exportChunks, type ExportFormat } from './event-export.js';

/** Event filters of the admin API, validated (times as ISO instants, inclusive). */
export interface EventQuery {
  eventTypes?: EventType[];
  aggregateId?: string;
  userId?: string;
  serviceName?: string;
  startTime?: string;
  endTime?: string;
  /** Case-insensitive text anywhere in the event (ids, payload, metadata). */
  searchText?: string;
}

/** An event in a timeline or a list of related events. */
export interface EventSummary {
  event_id: string;
  event_type: EventType;
  timestamp: string;
  aggregate_id: string;
}

export interface EventPage {
  events: DomainEvent[];
  total: number;
  skip: number;
  limit: number;
}

export interface EventStats {
  total_events: number;
  events_by_type: Array<{ event_type: EventType; count: number }>;
  /** Events per hour of the window that had any, oldest first (`hour` is the hour's start, ISO UTC). */
  events_by_hour: Array<{ hour: string; count: number }>;
  top_users: Array<{ user_id: string; event_count: number }>;
  /** Percent of the executions that ended in the window which failed, timed out or ended in error. */
  error_rate: number;
  /** Mean wall time in seconds of the runs that ended in the window (0 when none). */
  avg_processing_time: number;
}

export interface EventDetail {
  event: DomainEvent;
  /** The other events of the same aggregate (execution, user settings, ...). */
  related_events: EventSummary[];
  /** Every event of the aggregate in order, this one included. */
  timeline: EventSummary[];
}

/** A streamed export: what to call it and its text in pieces. */
export interface EventExport {
  contentType: string;
  fileName: string;
  chunks: AsyncIterable<string>;
}

/** The event store admin use cases. */
export interface AdminEventService {
  browse(query: EventQuery, skip: number, limit: number): Promise<EventPage>;
  stats(hours: number): Promise<EventStats>;
  detail(eventId: string): Promise<EventDetail>;
  export(format: ExportFormat, query: EventQuery, limit: number): EventExport;
  /** Deletes an event, keeping it in the archive with who deleted it; 404 when missing. */
  remove(eventId: string, by: string): Promise<{ message: string; event_id: string }>;
}

export interface AdminEventServiceDeps {
  events: EventStore;
  now?: () => Date;
  /** Events a text search looks through at most (newest first); default 50 000. */
  searchScanLimit?: number;
}

const RELATED_LIMIT = 1000;
const FINISHED: ReadonlySet<EventType> = new Set(['execution_completed', 'execution_failed', 'execution_timeout', 'execution_cancelled']);
const BAD_ENDINGS: ReadonlySet<EventType> = new Set(['execution_failed', 'execution_timeout']);

/** The store filter for an event query (text search aside: the store has no text index). */
export function eventFilter(q: EventQuery): Filter {
  const filter: Filter = {};
  if (q.eventTypes?.length) filter['event_type'] = { $in: q.eventTypes };
  if (q.aggregateId) filter['aggregate_id'] = q.aggregateId;
  if (q.userId) filter['metadata.user_id'] = q.userId;
  if (q.serviceName) filter['metadata.service_name'] = q.serviceName;
  if (q.startTime || q.endTime) filter['timestamp'] = { ...(q.startTime ? { $gte: q.startTime } : {}), ...(q.endTime ? { $lte: q.endTime } : {}) };
  return filter;
}

/** Whether an event holds `needle` (already lower-case) anywhere in its JSON. */
export function eventMatches(event: DomainEvent, needle: string): boolean {
  return JSON.stringify(event).toLowerCase().includes(needle);
}

const summary = (e: DomainEvent): EventSummary => ({ event_id: e.event_id, event_type: e.event_type, timestamp: e.timestamp, aggregate_id: e.aggregate_id });

/** Admin browse, stats, detail, export and delete over the event store. */
export function createAdminEventService(deps: AdminEventServiceDeps): AdminEventService {
  const now = deps.now ?? (() => new Date());
  const scanLimit = deps.searchScanLimit ?? 50_000;

  /** A text search: newest first through at most `scanLimit` events matching the other filters. */
  const search = async (q: EventQuery, needle: string, skip: number, limit: number): Promise<EventPage> => {
    const events: DomainEvent[] = [];
    let total = 0;
    let scanned = 0;
    for await (const page of deps.events.scan(eventFilter(q), { newestFirst: true })) {
      for (const event of page) {
        if (!eventMatches(event, needle)) continue;
        if (total >= skip && events.length < limit) events.push(event);
        total++;
      }
      scanned += page.length;
      if (scanned >= scanLimit) break;
    }
    return { events, total, skip, limit };
  };

  return {
    async browse(q, skip, limit) {
      const needle = q.searchText?.trim().toLowerCase();
      if (needle) return search(q, needle, skip, limit);
      const filter = eventFilter(q);
      const [events, total] = await Promise.all([deps.events.find(filter, { sort: { event_id: -1 }, skip, limit }), deps.events.count(filter)]);
      return { events, total, skip, limit };
    },

    async stats(hours) {
      const since = new Date(now().getTime() - hours * 3600_000).toISOString();
      const byType = new Map<EventType, number>();
      const byHour = new Map<string, number>();
      const byUser = new Map<string, number>();
      let total = 0;
      let finished = 0;
      let bad = 0;
      let wallSum = 0;
      let wallCount = 0;
      for await (const page of deps.events.scan({ timestamp: { $gte: since } })) {
        for (const e of page) {
          total++;
          byType.set(e.event_type, (byType.get(e.event_type) ?? 0) + 1);
          const hour = `${e.timestamp.slice(0, 13)}:00:00.000Z`;
          byHour.set(hour, (byHour.get(hour) ?? 0) + 1);
          if (e.metadata.user_id) byUser.set(e.metadata.user_id, (byUser.get(e.metadata.user_id) ?? 0) + 1);
          if (FINISHED.has(e.event_type)) finished++;
          if (BAD_ENDINGS.has(e.event_type) || e.event_type === 'result_failed') bad++;
          if ((e.event_type === 'execution_completed' || e.event_type === 'execution_failed' || e.event_type === 'execution_timeout') && e.resource_usage) {
            wallSum += e.resource_usage.execution_time_wall_seconds;
            wallCount++;
          }
        }
      }
      const sortedDesc = <K>(m: Map<K, number>) => [...m].sort((a, b) => b[1] - a[1]);
      return {
        total_events: total,
        events_by_type: sortedDesc(byType).map(([event_type, count]) => ({ event_type, count })),
        events_by_hour: [...byHour].sort((a, b) => a[0].localeCompare(b[0])).map(([hour, count]) => ({ hour, count })),
        top_users: sortedDesc(byUser).slice(0, 10).map(([user_id, event_count]) => ({ user_id, event_count })),
        error_rate: finished === 0 ? 0 : Math.round((Math.min(bad, finished) / finished) * 10_000) / 100,
        avg_processing_time: wallCount === 0 ? 0 : Math.round((wallSum / wallCount) * 1000) / 1000,
      };
    },

    async detail(eventId) {
      const event = await deps.events.get(eventId);
      if (!event) throw errors.notFound('Event');
      const timeline = (await deps.events.forAggregate(event.aggregate_id, { limit: RELATED_LIMIT })).map(summary);
      return { event, related_events: timeline.filter((e) => e.event_id !== eventId), timeline };
    },

    export(format, q, limit) {
      const stamp = now().toISOString().replace(/[:.]/g, '-');
      return {
        contentType: format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json',
        fileName: `events-${stamp}.${format}`,
        chunks: exportChunks(format, limited(deps.events.scan(eventFilter(q), { newestFirst: true }), limit)),
      };
    },

    async remove(eventId, by) {
      if (!(await deps.events.deleteWithArchive(eventId, by))) throw errors.notFound('Event');
      return { message: 'Event deleted and archived', event_id: eventId };
    },
  };
}

/** Pages cut off after `limit` events in all. */
async function* limited(pages: AsyncIterable<DomainEvent[]>, limit: number): AsyncGenerator<DomainEvent[]> {
  let left = limit;
  for await (const page of pages) {
    yield page.length > left ? page.slice(0, left) : page;
    left -= page.length;
    if (left <= 0) return;
  }
}
