/** The event filter form of the admin events page: what the inputs hold, and the API filters they mean. */
import type { EventFilters } from './api/types';

/** The inputs: times as `<input type="datetime-local">` values (the browser's time zone). */
export interface EventFilterForm {
  types: string[];
  aggregateId: string;
  userId: string;
  service: string;
  from: string;
  to: string;
  search: string;
}

/** An empty form (every event). */
export function emptyFilterForm(): EventFilterForm {
  return { types: [], aggregateId: '', userId: '', service: '', from: '', to: '', search: '' };
}

/** A `datetime-local` value (local time) as an ISO instant, or undefined when empty or invalid. */
export function localToIso(value: string): string | undefined {
  if (!value.trim()) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** An ISO instant as a `datetime-local` value in the browser's time zone (minutes). */
export function isoToLocal(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The form as API filters (empty inputs left out). */
export function toEventFilters(form: EventFilterForm): EventFilters {
  const out: EventFilters = {};
  if (form.types.length) out.event_types = [...form.types];
  if (form.aggregateId.trim()) out.aggregate_id = form.aggregateId.trim();
  if (form.userId.trim()) out.user_id = form.userId.trim();
  if (form.service.trim()) out.service_name = form.service.trim();
  const start = localToIso(form.from);
  if (start) out.start_time = start;
  const end = localToIso(form.to);
  if (end) out.end_time = end;
  if (form.search.trim()) out.search_text = form.search.trim();
  return out;
}

/** The form read from a page URL's query (`aggregate_id`, `user_id`, `event_type` repeated, `q`), for links. */
export function filterFormFromQuery(params: URLSearchParams): EventFilterForm {
  return {
    ...emptyFilterForm(),
    types: params.getAll('event_type'),
    aggregateId: params.get('aggregate_id') ?? '',
    userId: params.get('user_id') ?? '',
    service: params.get('service_name') ?? '',
    search: params.get('q') ?? '',
  };
}
