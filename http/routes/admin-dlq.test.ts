import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEAD_LETTER_HEADERS, DEAD_LETTER_TOPIC, type LogRecord } from '../../system/ports/event-log.js';
import { createDeadLetterService, type DeadLetterService } from '../../system/services/dead-letters.js';
import { DeadLetterStore } from '../../system/stores/dead-letter-store.js';
import { waitFor } from '../../test/support/wait.js';
import { startHttpStack, type HttpStack } from '../../test/support/http-stack.js';
import { testUser } from '../test-caller.js';
import { adminDlqRoutes } from './admin-dlq.js';

let s: HttpStack;
let dlq: DeadLetterService;
let letters: DeadLetterStore;
beforeEach(async () => {
  s = await startHttpStack({}, (parts) => {
    letters = new DeadLetterStore(parts.store);
    dlq = createDeadLetterService({ store: letters, log: parts.eventLog });
    return [adminDlqRoutes(dlq)];
  });
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
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : null };
}

let offset = 0;
/** A record of the dead-letter topic as an event log hands it to the intake. */
function letter(topic: string, value: string, extra: Record<string, string> = {}): LogRecord {
  return {
    topic: DEAD_LETTER_TOPIC,
    partition: 1,
    offset: offset++,
    key: 'key-1',
    value,
    headers: {
      event_type: 'execution_completed',
      traceparent: '00-abc-def-01',
      [DEAD_LETTER_HEADERS.topic]: topic,
      [DEAD_LETTER_HEADERS.partition]: '3',
      [DEAD_LETTER_HEADERS.offset]: '42',
      [DEAD_LETTER_HEADERS.error]: 'Error: store down',
      [DEAD_LETTER_HEADERS.attempts]: '3',
      [DEAD_LETTER_HEADERS.group]: 'notifications',
      ...extra,
    },
  };
}
const eventJson = (id: string) => JSON.stringify({ event_id: id, event_type: 'execution_completed', aggregate_id: 'e-1' });

describe('admin dead-letter API', () => {
  it('401 anonymous, 403 for a user, on every route', async () => {
    for (const [method, path, body] of [
      ['GET', '/admin/dlq/messages', undefined],
      ['GET', '/admin/dlq/stats', undefined],
      ['GET', '/admin/dlq/messages/x', undefined],
      ['POST', '/admin/dlq/messages/x/retry', undefined],
      ['POST', '/admin/dlq/retry', { message_ids: ['x'] }],
      ['DELETE', '/admin/dlq/messages/x?reason=no', undefined],
    ] as const) {
      expect((await call(method, path, {}, body)).status).toBe(401);
      expect((await call(method, path, testUser('alice'), body)).status).toBe(403);
    }
  });

  it('lists and shows dead letters with error, original coordinates, payload and headers; a redelivered record is stored once', async () => {
    const first = letter('execution_events', eventJson('ev-1'));
    expect(await dlq.ingest(first)).toBe(true);
    expect(await dlq.ingest(first)).toBe(false);
    await dlq.ingest(letter('execution_commands', 'not json', { [DEAD_LETTER_HEADERS.group]: 'execution-owners', event_type: 'execution_requested' }));
    const page = await call('GET', '/admin/dlq/messages', admin);
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({ total: 2, offset: 0, limit: 50 });
    const one = await call('GET', `/admin/dlq/messages/${page.body!['messages'].find((m: any) => m.event_id === 'ev-1').message_id}`, admin);
    expect(one.body).toMatchObject({
      status: 'pending',
      original_topic: 'execution_events',
      original_partition: 3,
      original_offset: 42,
      consumer_group: 'notifications',
      error: 'Error: store down',
      attempts: 3,
      key: 'key-1',
      payload: eventJson('ev-1'),
      event: { event_id: 'ev-1' },
      event_type: 'execution_completed',
      headers: { event_type: 'execution_completed', traceparent: '00-abc-def-01' },
      retry_count: 0,
    });
    expect(Object.keys(one.body!['headers']).sort()).toEqual(['event_type', 'traceparent']);
    const filtered = await call('GET', '/admin/dlq/messages?topic=execution_commands', admin);
    expect(filtered.body!['messages']).toMatchObject([{ event: null, event_type: 'execution_requested', consumer_group: 'execution-owners' }]);
    expect((await call('GET', '/admin/dlq/messages?consumer_group=notifications', admin)).body!['total']).toBe(1);
    expect((await call('GET', '/admin/dlq/messages?event_type=execution_completed&limit=1&offset=0', admin)).body!['total']).toBe(1);
    expect((await call('GET', '/admin/dlq/stats', admin)).body).toMatchObject({ depth: 2, by_status: { pending: 2, retried: 0 } });
  });

  it('422 naming the field, 404 for unknown messages', async () => {
    const bad = await call('GET', '/admin/dlq/messages?status=lost', admin);
    expect(bad.status).toBe(422);
    expect(bad.body!['errors'][0].field).toBe('status');
    expect((await call('GET', '/admin/dlq/messages?limit=0', admin)).body!['errors'][0].field).toBe('limit');
    expect((await call('POST', '/admin/dlq/retry', admin, { message_ids: [] })).body!['errors'][0].field).toBe('message_ids');
    expect((await call('DELETE', '/admin/dlq/messages/x', admin)).body!['errors'][0].field).toBe('reason');
    expect((await call('GET', '/admin/dlq/messages/nope', admin)).status).toBe(404);
    expect((await call('POST', '/admin/dlq/messages/nope/retry', admin)).status).toBe(404);
    expect((await call('DELETE', '/admin/dlq/messages/nope?reason=x', admin)).status).toBe(404);
  });

  it('a retry appends the message to its original topic with its original key and headers', async () => {
    await dlq.ingest(letter('retry_topic', eventJson('ev-9')));
    const [{ message_id: id }] = (await call('GET', '/admin/dlq/messages', admin)).body!['messages'];
    const res = await call('POST', `/admin/dlq/messages/${id}/retry`, admin);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'retried', retry_count: 1, retried_by: 'root' });
    const seen: LogRecord[] = [];
    const consumer = await s.eventLog.consume({ group: 'test-reader', topics: ['retry_topic'] }, async (r) => void seen.push(r));
    await waitFor(() => seen.length === 1, { message: 'the retried record' });
    await consumer.stop();
    expect(seen[0]).toMatchObject({ key: 'key-1', value: eventJson('ev-9'), headers: { event_type: 'execution_completed', traceparent: '00-abc-def-01' } });
    expect(Object.keys(seen[0]!.headers).sort()).toEqual(['event_type', 'traceparent']);
    expect((await call('GET', '/admin/dlq/messages?status=retried', admin)).body!['total']).toBe(1);
    expect((await call('GET', '/admin/dlq/stats', admin)).body).toMatchObject({ depth: 0, oldest_age_seconds: 0 });
  });

  it('retries many, each with its own outcome; a letter without an origin is 400 on its own', async () => {
    await dlq.ingest(letter('retry_topic', eventJson('ev-a')));
    const orphan = letter('x', 'raw');
    delete orphan.headers[DEAD_LETTER_HEADERS.topic];
    await dlq.ingest(orphan);
    const ids = (await call('GET', '/admin/dlq/messages', admin)).body!['messages'].map((m: any) => m.message_id) as string[];
    const orphanId = `${orphan.partition}-${orphan.offset}`;
    expect((await call('POST', `/admin/dlq/messages/${orphanId}/retry`, admin)).body).toMatchObject({ type: 'InvalidState' });
    const res = await call('POST', '/admin/dlq/retry', admin, { message_ids: [...ids, 'nope'] });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ total: 3, successful: 1, failed: 2 });
    expect(res.body!['details']).toContainEqual({ message_id: 'nope', status: 'failed', error: 'Dead letter not found' });
  });

  it('discard removes the message and keeps it, with who and why, in the archive', async () => {
    await dlq.ingest(letter('execution_events', eventJson('ev-d')));
    const [{ message_id: id }] = (await call('GET', '/admin/dlq/messages', admin)).body!['messages'];
    const res = await call('DELETE', `/admin/dlq/messages/${id}?reason=${encodeURIComponent('bad payload, fixed upstream')}`, admin);
    expect(res).toMatchObject({ status: 200, body: { message_id: id } });
    expect((await call('GET', `/admin/dlq/messages/${id}`, admin)).status).toBe(404);
    expect((await call('GET', '/admin/dlq/messages', admin)).body!['total']).toBe(0);
    expect(await letters.discardedOne(id)).toMatchObject({ discarded_by: 'root', discard_reason: 'bad payload, fixed upstream', event_id: 'ev-d' });
  });

  it('is in the OpenAPI document with its parameters', async () => {
    const doc = (await (await fetch(`${s.base}/api/v1/openapi.json`)).json()) as any;
    const discard = doc.paths['/api/v1/admin/dlq/messages/{message_id}'].delete;
    expect(discard['x-auth']).toBe('admin');
    expect(discard.parameters.map((p: any) => p.name).sort()).toEqual(['message_id', 'reason']);
    expect(doc.paths['/api/v1/admin/dlq/retry'].post.requestBody.content['application/json'].schema).toMatchObject({ required: ['message_ids'] });
    expect(Object.keys(doc.paths['/api/v1/admin/dlq/messages'].get.responses['200'].content['application/json'].schema.properties)).toEqual(['messages', 'total', 'offset', 'limit']);
  });
});
