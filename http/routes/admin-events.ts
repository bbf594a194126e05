import { z } from 'zod';
import { EVENT_TYPES, type EventType } from '../../system/domain/events.js';
import type { AdminEventService, EventQuery } from '../../system/services/admin-events.js';
import { EXPORT_FORMATS } from '../../system/services/event-export.js';
import { sendDownload } from '../download.js';
import { parseInput } from '../errors.js';
import { requireAdmin } from '../guards.js';
import type { RouteGroup } from '../server.js';
import { Instant } from '../schemas/executions.js';
import { pathParam } from './params.js';

const EventTypeName = z.enum(EVENT_TYPES as [EventType, ...EventType[]]);
const Text = z.string().min(1).max(256);

/** The filters shared by browse (body) and export (query). */
const filterFields = {
  event_types: z.array(EventTypeName).max(EVENT_TYPES.length).optional(),
  aggregate_id: Text.optional(),
  user_id: Text.optional(),
  service_name: Text.optional(),
  start_time: Instant.optional(),
  end_time: Instant.optional(),
};

/** POST /admin/events/browse body. */
export const BrowseBody = z.object({
  filters: z.object({ ...filterFields, search_text: z.string().max(256).optional() }).default({}),
  skip: z.number().int().min(0).max(1_000_000_000).default(0),
  limit: z.number().int().min(1).max(500).default(50),
});
/** GET /admin/events/stats query. */
export const StatsQuery = z.object({ hours: z.coerce.number().int().min(1).max(168).default(24) });
/** GET /admin/events/export/{format} query (`event_types` repeated for several). */
export const ExportQuery = z.object({ ...filterFields, limit: z.coerce.number().int().min(1).max(50_000).default(10_000) });
/** The export's query with its path's `format`. */
const ExportInput = ExportQuery.extend({ format: z.enum(EXPORT_FORMATS) });

const StoredEvent = z.object({ event_id: z.string(), event_type: EventTypeName, timestamp: z.string(), aggregate_id: z.string() }).passthrough();
const Summary = z.object({ event_id: z.string(), event_type: EventTypeName, timestamp: z.string(), aggregate_id: z.string() });
const BrowseSchema = z.object({ events: z.array(StoredEvent), total: z.number().int(), skip: z.number().int(), limit: z.number().int() });
const StatsSchema = z.object({
  total_events: z.number().int(),
  events_by_type: z.array(z.object({ event_type: EventTypeName, count: z.number().int() })),
  events_by_hour: z.array(z.object({ hour: z.string(), count: z.number().int() })),
  top_users: z.array(z.object({ user_id: z.string(), event_count: z.number().int() })),
  error_rate: z.number(),
  avg_processing_time: z.number(),
});
const DetailSchema = z.object({ event: StoredEvent, related_events: z.array(Summary), timeline: z.array(Summary) });
const DeleteSchema = z.object({ message: z.string(), event_id: z.string() });

type Filters = { [K in keyof typeof filterFields]?: z.output<(typeof filterFields)[K]> } & { search_text?: string | undefined };

/** Wire → service: the event filters. */
function toEventQuery(f: Filters): EventQuery {
  return {
    ...(f.event_types?.length ? { eventTypes: f.event_types } : {}),
    ...(f.aggregate_id ? { aggregateId: f.aggregate_id } : {}),
    ...(f.user_id ? { userId: f.user_id } : {}),
    ...(f.service_name ? { serviceName: f.service_name } : {}),
    ...(f.start_time ? { startTime: f.start_time } : {}),
    ...(f.end_time ? { endTime: f.end_time } : {}),
    ...(f.search_text?.trim() ? { searchText: f.search_text } : {}),
  };
}

/** The query string as an object; `event_types` (or `event_types[]`) may repeat and is always a list. */
function exportInput(query: URLSearchParams): Record<string, unknown> {
  const input: Record<string, unknown> = Object.fromEntries(query);
  delete input['event_types[]'];
  const types = [...query.getAll('event_types'), ...query.getAll('event_types[]')].flatMap((t) => t.split(',')).filter(Boolean);
  if (types.length) input['event_types'] = types;
  else delete input['event_types'];
  return input;
}

/**
 * The event store admin API group (role admin): browse with filters and text search, statistics, one event with
 * its aggregate's other events, streamed CSV/JSON export, delete (the event is archived).
 */
export function adminEventRoutes(service: AdminEventService): RouteGroup {
  const base = '/api/v1/admin/events';
  const doc = { tag: 'admin-events', auth: 'admin' as const };
  return (router, { log }) => {
    router.post(
      `${base}/browse`,
      async (ctx) => {
        requireAdmin(ctx);
        const body = parseInput(BrowseBody, await ctx.body.json());
        ctx.json(200, await service.browse(toEventQuery(body.filters), body.skip, body.limit));
      },
      { ...doc, summary: 'Events, newest first, by filters and text search', body: BrowseBody, response: BrowseSchema },
    );

    router.get(
      `${base}/stats`,
      async (ctx) => {
        requireAdmin(ctx);
        const q = parseInput(StatsQuery, Object.fromEntries(ctx.query));
        ctx.json(200, await service.stats(q.hours));
      },
      { ...doc, summary: 'Counts by type, hour and user, error rate and average run time over the last `hours`', query: StatsQuery, response: StatsSchema },
    );

    router.get(
      `${base}/export/{format}`,
      async (ctx) => {
        requireAdmin(ctx);
        const q = parseInput(ExportInput, { ...exportInput(ctx.query), format: pathParam(ctx, 'format') });
        await sendDownload(ctx, service.export(q.format, toEventQuery(q), q.limit), log);
      },
      { ...doc, summary: 'Export matching events as CSV or JSON, streamed as they are read', query: ExportQuery },
    );

    router.get(
      `${base}/{event_id}`,
      async (ctx) => {
        requireAdmin(ctx);
        ctx.json(200, await service.detail(pathParam(ctx, 'event_id')));
      },
      { ...doc, summary: "One event with its aggregate's other events and timeline", response: DetailSchema },
    );

    router.delete(
      `${base}/{event_id}`,
      async (ctx) => {
        const admin = requireAdmin(ctx);
        ctx.json(200, await service.remove(pathParam(ctx, 'event_id'), admin.userId));
      },
      { ...doc, summary: 'Delete an event (a copy is kept in the archive)', response: DeleteSchema },
    );
  };
}
