import { z } from 'zod';
import { EVENT_TYPES, type EventType } from '../../system/domain/events.js';

/** GET /executions/{id}/events query: `event_types` filter and `limit` 1–1000 (default 100). */
export const EventsQuery = z.object({
  event_types: z.array(z.enum(EVENT_TYPES as [EventType, ...EventType[]])).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type EventsQuery = z.infer<typeof EventsQuery>;

/**
 * The raw query as EventsQuery input. `event_types` may repeat, be comma separated, or use the
 * `event_types[]` spelling; all are merged.
 */
export function eventsQueryInput(query: URLSearchParams): Record<string, unknown> {
  const types = [...query.getAll('event_types'), ...query.getAll('event_types[]')]
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  return {
    ...(types.length ? { event_types: types } : {}),
    ...(query.has('limit') ? { limit: query.get('limit') } : {}),
  };
}
