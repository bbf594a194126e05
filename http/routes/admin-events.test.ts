import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stampEvent, type DomainEvent } from '../../system/domain/events.js';
import { createAdminEventService } from '../../system/services/admin-events.js';
import { startHttpStack, type HttpStack } from '../../test/support/http-stack.js';
import { testUser } from '../test-caller.js';
import { adminEventRoutes } from './admin-events.js';

let s: HttpStack;
// Events expire after 30 days: the seeded ones are from the last hours, `now` is 12:30 of an hour grid near today.
const base = Math.floor(Date.now() / 3600_000) * 3600_000 - 12 * 3600_000;
const at = (hhmm: string) => new Date(base + Number(hhmm.slice(0, 2)) * 3600_000 + Number(hhmm.slice(3, 5)) * 60_000).toISOString();
const now = new Date(at('12:30'));
beforeEach(async () => {
  s = await startHttpStack({}, (parts) => [adminEventRoutes(createAdminEventService({ events: parts.events, now: () => now }))]);
});
afterEach(async () => s?.close());

const admin = testUser('root', 'admin');

async function call(method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
  const res = await fetch(`${s.base}/api/v1${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text && res.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as any) : null };
}

const usage = (wall: number) => ({ execution_time_wall_seconds: wall, cpu_time_jiffies: 1, clk_tck_hertz: 100, peak_memory_kb: 1000 });
const output = (wall: number) => ({ stdout: 'hello, "world"\n', stderr: '', stdout_truncated: false, stderr_truncated: false, exit_code: 0, resource_usage: usage(wall) });

/** Stores an event with a given time. */
async function put<E extends DomainEvent>(event: E, timestamp: string): Promise<E> {
  const stored = { ...event, timestamp };
  await s.events.append(stored);
  return stored;
}

async function seed() {
  const a = 'exec-a';
  const b = 'exec-b';
  // Stamped in time order, as a real node's events are (ids are time-ordered).
  await put(stampEvent('execution_requested', 'old', { execution_id: 'old', script: 'x', lang: 'python', lang_version: '3.11', priority: 'normal' }, { user_id: 'alice' }), new Date(base - 20 * 3600_000).toISOString());
  const requested = await put(stampEvent('execution_requested', a, { execution_id: a, script: 'print("needle")', lang: 'python', lang_version: '3.11', priority: 'normal' }, { user_id: 'alice' }), at('10:05'));
  const completed = await put(stampEvent('execution_completed', a, { execution_id: a, ...output(2) }, { user_id: 'alice' }), at('10:06'));
  await put(stampEvent('execution_requested', b, { execution_id: b, script: '=cmd', lang: 'python', lang_version: '3.11', priority: 'normal' }, { user_id: 'bob' }), at('11:00'));
  await put(stampEvent('execution_timeout', b, { execution_id: b, timeout_seconds: 5, ...output(4) }, { user_id: 'bob' }), at('11:10'));
  return { requested, completed };
}

describe('admin events API', () => {
  it('401 anonymous, 403 for a user, on every route', async () => {
    for (const [method, path, body] of [
      ['POST', '/admin/events/browse', { filters: {} }],
      ['GET', '/admin/events/stats', undefined],
      ['GET', '/admin/events/export/csv', undefined],
      ['GET', '/admin/events/x', undefined],
      ['DELETE', '/admin/events/x', undefined],
    ] as const) {
      expect((await call(method, path, {}, body)).status).toBe(401);
      expect((await call(method, path, testUser('alice'), body)).status).toBe(403);
    }
  });

  it('browses newest first by type, aggregate, user, time and text', async () => {
    const { requested } = await seed();
    const all = await call('POST', '/admin/events/browse', admin, { filters: {} });
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ total: 5, skip: 0, limit: 50 });
    const browse = async (filters: object, extra: object = {}) => (await call('POST', '/admin/events/browse', admin, { filters, ...extra })).body;
    expect((await browse({ event_types: ['execution_requested'] })).total).toBe(3);
    expect((await browse({ aggregate_id: 'exec-b' })).events.map((e: any) => e.event_type)).toEqual(['execution_timeout', 'execution_requested']);
    expect((await browse({ user_id: 'alice' })).total).toBe(3);
    expect((await browse({ service_name: 'integr8s-ts' })).total).toBe(5);
    expect((await browse({ start_time: at('10:30'), end_time: at('12:00') })).total).toBe(2);
    const found = await browse({ search_text: 'NEEDLE' });
    expect(found).toMatchObject({ total: 1, events: [{ event_id: requested.event_id, script: 'print("needle")' }] });
    expect((await browse({ search_text: 'exec-', user_id: 'bob' }, { limit: 1, skip: 1 })).events.map((e: any) => e.event_type)).toEqual(['execution_requested']);
    expect((await browse({}, { limit: 2, skip: 4 })).events).toHaveLength(1);
  });

  it('422 naming the field for bad input', async () => {
    const bad = await call('POST', '/admin/events/browse', admin, { filters: { event_types: ['nope'] } });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].field).toBe('filters.event_types.0');
    expect((await call('POST', '/admin/events/browse', admin, { filters: {}, limit: 501 })).body.errors[0].field).toBe('limit');
    expect((await call('POST', '/admin/events/browse', admin, { filters: { start_time: 'yesterday' } })).body.errors[0].field).toBe('filters.start_time');
    expect((await call('GET', '/admin/events/stats?hours=169', admin)).body.errors[0].field).toBe('hours');
    expect((await call('GET', '/admin/events/export/xml', admin)).body.errors[0].field).toBe('format');
    expect((await call('GET', '/admin/events/export/csv?limit=0', admin)).body.errors[0].field).toBe('limit');
  });

  it('stats: by type, by hour, top users, error rate and average run time over the window', async () => {
    await seed();
    const res = await call('GET', '/admin/events/stats?hours=24', admin);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      total_events: 4,
      events_by_type: [
        { event_type: 'execution_requested', count: 2 },
        { event_type: 'execution_completed', count: 1 },
        { event_type: 'execution_timeout', count: 1 },
      ],
      events_by_hour: [
        { hour: at('10:00'), count: 2 },
        { hour: at('11:00'), count: 2 },
      ],
      top_users: [
        { user_id: 'alice', event_count: 2 },
        { user_id: 'bob', event_count: 2 },
      ],
      error_rate: 50,
      avg_processing_time: 3,
    });
    expect((await call('GET', '/admin/events/stats?hours=1', admin)).body.total_events).toBe(0);
  });

  it('an event with its related events and timeline; 404 when missing', async () => {
    const { requested, completed } = await seed();
    const res = await call('GET', `/admin/events/${completed.event_id}`, admin);
    expect(res.status).toBe(200);
    expect(res.body.event).toMatchObject({ event_id: completed.event_id, stdout: 'hello, "world"\n' });
    expect(res.body.related_events).toEqual([{ event_id: requested.event_id, event_type: 'execution_requested', timestamp: requested.timestamp, aggregate_id: 'exec-a' }]);
    expect(res.body.timeline.map((e: any) => e.event_id)).toEqual([requested.event_id, completed.event_id]);
    expect((await call('GET', '/admin/events/nope', admin)).status).toBe(404);
  });

  it('delete archives the event; 404 when missing', async () => {
    const { completed } = await seed();
    const res = await call('DELETE', `/admin/events/${completed.event_id}`, admin);
    expect(res.body).toEqual({ message: 'Event deleted and archived', event_id: completed.event_id });
    expect((await call('GET', `/admin/events/${completed.event_id}`, admin)).status).toBe(404);
    expect(await s.events.archivedFor('exec-a')).toMatchObject([{ event_id: completed.event_id, deleted_by: 'root' }]);
    expect((await call('DELETE', `/admin/events/${completed.event_id}`, admin)).status).toBe(404);
  });

  it('exports CSV (quoted, formula cells defused) and JSON with filters and a limit', async () => {
    await seed();
    const csv = await call('GET', '/admin/events/export/csv?event_types=execution_requested&event_types=execution_timeout', admin);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="events-.*\.csv"$/);
    const lines = csv.text.trimEnd().split('\r\n');
    expect(lines[0]).toBe('event_id,event_type,timestamp,aggregate_id,user_id,service_name,correlation_id,payload');
    expect(lines).toHaveLength(5);
    expect(lines[1]).toContain(`,execution_timeout,${at('11:10')},exec-b,bob,integr8s-ts,,`);
    expect(lines[1]).toContain('"{""execution_id"":""exec-b""');
    await put(stampEvent('execution_cancel_requested', '=1+1', { execution_id: '=1+1', reason: 'x' }, { user_id: 'eve' }), at('12:00'));
    const formula = await call('GET', '/admin/events/export/csv?user_id=eve', admin);
    expect(formula.text.split('\r\n')[1]).toContain(",'=1+1,eve,");
    const json = await call('GET', '/admin/events/export/json?user_id=alice&limit=2', admin);
    expect(json.headers.get('content-type')).toBe('application/json');
    expect(JSON.parse(json.text).map((e: any) => e.event_type)).toEqual(['execution_completed', 'execution_requested']);
    const none = await call('GET', '/admin/events/export/json?aggregate_id=nothing', admin);
    expect(JSON.parse(none.text)).toEqual([]);
  });

  it('is in the OpenAPI document: export parameters, browse body, stats response', async () => {
    const doc = (await (await fetch(`${s.base}/api/v1/openapi.json`)).json()) as any;
    const exp = doc.paths['/api/v1/admin/events/export/{format}'].get;
    expect(exp.parameters.map((p: any) => p.name).sort()).toEqual(['aggregate_id', 'end_time', 'event_types', 'format', 'limit', 'service_name', 'start_time', 'user_id']);
    expect(doc.paths['/api/v1/admin/events/browse'].post.requestBody.content['application/json'].schema.properties).toHaveProperty('filters');
    expect(doc.paths['/api/v1/admin/events/stats'].get.responses['200'].content['application/json'].schema.required).toContain('error_rate');
  });
});
