/**
 * The admin operations API as functions: the event store (browse, stats, detail, delete, export links, replay),
 * replay sessions, sagas and dead letters. Every call goes through `client.ts` (cookies, CSRF, ApiError).
 */
import { api, apiUrl } from './client';
import type {
  DeadLetter,
  DeadLetterBatchResult,
  DeadLetterPage,
  DeadLetterStats,
  EventBrowsePage,
  EventDetail,
  EventFilters,
  EventReplayRequest,
  EventReplayResponse,
  EventStats,
  ReplaySession,
  Saga,
  SagaCancelResponse,
  SagaPage,
} from './types';

const enc = encodeURIComponent;

/** The filters without empty values, as the API wants them (an empty list or string means "any"). */
export function compactFilters(filters: EventFilters): EventFilters {
  const out: EventFilters = {};
  for (const [key, value] of Object.entries(filters) as Array<[keyof EventFilters, EventFilters[keyof EventFilters]]>) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) {
      if (value.length) (out as Record<string, unknown>)[key] = [...value];
    } else if (value.trim() !== '') (out as Record<string, unknown>)[key] = value.trim();
  }
  return out;
}

/** The event store (role admin). */
export const adminEvents = {
  /** Events matching the filters, newest first, a page at a time. */
  browse: (filters: EventFilters, skip: number, limit: number) =>
    api.post<EventBrowsePage>('/admin/events/browse', { json: { filters: compactFilters(filters), skip, limit } }),
  /** Counts by type, hour and user, error rate and mean run time over the last `hours`. */
  stats: (hours: number) => api.get<EventStats>('/admin/events/stats', { query: { hours } }),
  /** One event with the other events of its aggregate. */
  detail: (eventId: string) => api.get<EventDetail>(`/admin/events/${enc(eventId)}`),
  /** Deletes an event (the server keeps an archived copy). */
  remove: (eventId: string) => api.delete<{ message: string; event_id: string }>(`/admin/events/${enc(eventId)}`),
  /**
   * The URL of a streamed export of the matching events (the browser downloads it with the session cookie).
   * The text search is not an export filter, so it is left out.
   */
  exportUrl: (format: 'csv' | 'json', filters: EventFilters, limit?: number): string => {
    const { search_text: _ignored, ...rest } = compactFilters(filters);
    return apiUrl(`/admin/events/export/${format}`, { ...rest, limit });
  },
  /** Replays events: a preview with `dry_run`, else a replay session whose progress streams from `replayStatusUrl`. */
  replay: (body: EventReplayRequest) => api.post<EventReplayResponse>('/admin/events/replay', { json: compactReplay(body) }),
};

/** The replay request without empty fields. */
export function compactReplay(body: EventReplayRequest): EventReplayRequest {
  const out: EventReplayRequest = { dry_run: body.dry_run };
  if (body.event_ids?.length) out.event_ids = body.event_ids;
  for (const key of ['aggregate_id', 'correlation_id', 'start_time', 'end_time', 'target_service'] as const) {
    const v = body[key]?.trim();
    if (v) out[key] = v;
  }
  return out;
}

/** The SSE stream of a replay session's progress snapshots (closes on a terminal status). */
export function replayStatusUrl(sessionId: string): string {
  return apiUrl(`/admin/events/replay/${enc(sessionId)}/status`);
}

/** Replay sessions (role admin). */
export const replaySessions = {
  list: () => api.get<ReplaySession[] | { sessions: ReplaySession[] }>('/replay/sessions').then(sessionList),
  get: (sessionId: string) => api.get<ReplaySession>(`/replay/sessions/${enc(sessionId)}`),
  control: (sessionId: string, action: 'pause' | 'resume' | 'cancel') => api.post<unknown>(`/replay/sessions/${enc(sessionId)}/${action}`),
};

/** The sessions of a list answer, whether a bare array or `{sessions}`. */
export function sessionList(body: ReplaySession[] | { sessions: ReplaySession[] }): ReplaySession[] {
  return Array.isArray(body) ? body : body.sessions;
}

/** Sagas (users see their own, admins all). */
export const sagas = {
  list: (q: { state?: string; execution_id?: string; limit: number; skip: number }) => api.get<SagaPage>('/sagas/', { query: q }),
  get: (sagaId: string) => api.get<Saga>(`/sagas/${enc(sagaId)}`),
  cancel: (sagaId: string) => api.post<SagaCancelResponse>(`/sagas/${enc(sagaId)}/cancel`),
};

/** Dead letters (role admin). */
export const deadLetters = {
  list: (q: { status?: string; topic?: string; event_type?: string; consumer_group?: string; limit: number; offset: number }) =>
    api.get<DeadLetterPage>('/admin/dlq/messages', { query: q }),
  get: (id: string) => api.get<DeadLetter>(`/admin/dlq/messages/${enc(id)}`),
  retry: (id: string) => api.post<DeadLetter>(`/admin/dlq/messages/${enc(id)}/retry`),
  retryMany: (ids: string[]) => api.post<DeadLetterBatchResult>('/admin/dlq/retry', { json: { message_ids: ids } }),
  discard: (id: string, reason: string) =>
    api.delete<{ message: string; message_id: string }>(`/admin/dlq/messages/${enc(id)}`, { query: { reason } }),
  stats: () => api.get<DeadLetterStats>('/admin/dlq/stats'),
};
