import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { adminEvents, compactFilters, compactReplay, deadLetters, replaySessions, replayStatusUrl, sagas, sessionList } from './operations';

type Call = { url: string; method: string; headers: Record<string, string>; body: unknown };
let calls: Call[];
let reply: unknown;

beforeEach(() => {
  calls = [];
  reply = {};
  vi.stubGlobal('document', { cookie: 'csrf_token=tok' });
  vi.stubGlobal('fetch', (url: string, init: RequestInit) => {
    calls.push({ url, method: init.method ?? 'GET', headers: init.headers as Record<string, string>, body: init.body ? JSON.parse(String(init.body)) : undefined });
    return Promise.resolve(new Response(JSON.stringify(reply), { status: 200, headers: { 'content-type': 'application/json' } }));
  });
});
afterEach(() => vi.unstubAllGlobals());

const last = () => calls[calls.length - 1]!;

describe('event store calls', () => {
  it('browses with the filters in the body, empty ones left out, and the CSRF header', async () => {
    await adminEvents.browse({ event_types: ['execution_completed'], aggregate_id: ' ex-1 ', user_id: '', search_text: '  ' }, 50, 25);
    expect(last()).toMatchObject({ url: '/api/v1/admin/events/browse', method: 'POST', body: { filters: { event_types: ['execution_completed'], aggregate_id: 'ex-1' }, skip: 50, limit: 25 } });
    expect(last().headers['x-csrf-token']).toBe('tok');
  });

  it('asks for stats, detail and delete by path, the id encoded', async () => {
    await adminEvents.stats(6);
    expect(last().url).toBe('/api/v1/admin/events/stats?hours=6');
    await adminEvents.detail('a/b c');
    expect(last().url).toBe('/api/v1/admin/events/a%2Fb%20c');
    await adminEvents.remove('e1');
    expect(last()).toMatchObject({ url: '/api/v1/admin/events/e1', method: 'DELETE' });
  });

  it('builds export links with the filters as query parameters (types repeated, no text search)', () => {
    const url = adminEvents.exportUrl('csv', { event_types: ['a', 'b'], user_id: 'u1', start_time: '2026-01-01T00:00:00.000Z', search_text: 'x' }, 100);
    expect(url).toBe('/api/v1/admin/events/export/csv?event_types=a&event_types=b&user_id=u1&start_time=2026-01-01T00%3A00%3A00.000Z&limit=100');
    expect(adminEvents.exportUrl('json', {})).toBe('/api/v1/admin/events/export/json');
  });

  it('posts a replay with only the fields given', async () => {
    reply = { dry_run: true, total_events: 2, status: 'Preview', events_preview: [] };
    const res = await adminEvents.replay({ dry_run: true, event_ids: [], aggregate_id: 'ex-9', start_time: undefined, target_service: ' ' });
    expect(last()).toMatchObject({ url: '/api/v1/admin/events/replay', method: 'POST', body: { dry_run: true, aggregate_id: 'ex-9' } });
    expect(Object.keys(last().body as object).sort()).toEqual(['aggregate_id', 'dry_run']);
    expect(res.total_events).toBe(2);
    expect(compactReplay({ dry_run: false, event_ids: ['x'], end_time: '2026-01-01T00:00:00Z' })).toEqual({ dry_run: false, event_ids: ['x'], end_time: '2026-01-01T00:00:00Z' });
    expect(compactReplay({ dry_run: true, correlation_id: ' req-1 ', aggregate_id: '' })).toEqual({ dry_run: true, correlation_id: 'req-1' });
  });
});

describe('replay sessions', () => {
  it('streams progress from the status path and controls sessions with POST', async () => {
    expect(replayStatusUrl('s 1')).toBe('/api/v1/admin/events/replay/s%201/status');
    await replaySessions.control('s1', 'pause');
    expect(last()).toMatchObject({ url: '/api/v1/replay/sessions/s1/pause', method: 'POST' });
    await replaySessions.control('s1', 'cancel');
    expect(last().url).toBe('/api/v1/replay/sessions/s1/cancel');
  });

  it('reads a session list given bare or wrapped', async () => {
    const s = { session_id: 's', status: 'running', total_events: 1, replayed_events: 0, failed_events: 0, skipped_events: 0 };
    expect(sessionList([s])).toEqual([s]);
    expect(sessionList({ sessions: [s] })).toEqual([s]);
    reply = { sessions: [s] };
    expect(await replaySessions.list()).toEqual([s]);
    expect(last().url).toBe('/api/v1/replay/sessions');
  });
});

describe('sagas and dead letters', () => {
  it('lists sagas with their filters and cancels by id', async () => {
    await sagas.list({ state: 'running', execution_id: '', limit: 25, skip: 25 });
    expect(last().url).toBe('/api/v1/sagas/?state=running&limit=25&skip=25');
    await sagas.cancel('sg');
    expect(last()).toMatchObject({ url: '/api/v1/sagas/sg/cancel', method: 'POST' });
    expect(last().headers['x-csrf-token']).toBe('tok');
  });

  it('lists, retries one or many, and discards with the reason in the query', async () => {
    await deadLetters.list({ status: 'pending', topic: 'execution_commands', event_type: '', consumer_group: '', limit: 25, offset: 0 });
    expect(last().url).toBe('/api/v1/admin/dlq/messages?status=pending&topic=execution_commands&limit=25&offset=0');
    await deadLetters.retry('0-5');
    expect(last()).toMatchObject({ url: '/api/v1/admin/dlq/messages/0-5/retry', method: 'POST' });
    await deadLetters.retryMany(['0-5', '1-2']);
    expect(last()).toMatchObject({ url: '/api/v1/admin/dlq/retry', body: { message_ids: ['0-5', '1-2'] } });
    await deadLetters.discard('0-5', 'cannot parse & never will');
    expect(last()).toMatchObject({ url: '/api/v1/admin/dlq/messages/0-5?reason=cannot+parse+%26+never+will', method: 'DELETE' });
    await deadLetters.stats();
    expect(last().url).toBe('/api/v1/admin/dlq/stats');
  });
});

describe('compactFilters', () => {
  it('drops empty strings and lists and trims the rest', () => {
    expect(compactFilters({ event_types: [], aggregate_id: ' a ', user_id: '', service_name: 'svc' })).toEqual({ aggregate_id: 'a', service_name: 'svc' });
  });
});
