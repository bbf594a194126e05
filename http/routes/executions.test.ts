import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testUser } from '../test-caller.js';
import { startHttpStack, type HttpStack } from '../../test/support/http-stack.js';

let s: HttpStack;
beforeEach(async () => {
  s = await startHttpStack();
});
afterEach(async () => s?.close());

const alice = testUser('alice');
const bob = testUser('bob');
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
const submit = async (who: Record<string, string>, script = 'print(1)') => {
  const res = await call('POST', '/execute', who, { script, lang: 'python', lang_version: '3.11' });
  expect(res.status).toBe(200);
  return res.body!['execution_id'] as string;
};

describe('executions API: sign-in', () => {
  it('401 for anonymous callers on every execution route; examples, limits and health stay public', async () => {
    const id = (await s.seed('alice')).id;
    const anonymous = [
      ['POST', '/execute', { script: 'p', lang: 'python', lang_version: '3.11' }],
      ['GET', `/executions/${id}/result`],
      ['POST', `/executions/${id}/cancel`],
      ['POST', `/executions/${id}/stdin`, { data: 'x' }],
      ['POST', `/executions/${id}/retry`],
      ['GET', `/executions/${id}/events`],
      ['GET', `/events/executions/${id}`],
      ['GET', '/user/executions'],
      ['DELETE', `/executions/${id}`],
    ] as const;
    for (const [method, path, body] of anonymous) {
      const res = await call(method, path, {}, body);
      expect({ path, status: res.status, type: res.body?.['type'] }).toEqual({ path, status: 401, type: 'Unauthenticated' });
    }
    for (const path of ['/example-scripts', '/k8s-limits', '/health/live']) expect((await call('GET', path)).status).toBe(200);
  });

  it('stores the submitter as owner; others get 403, admins 200', async () => {
    const id = await submit(alice);
    expect((await s.executionStore.get(id))?.user_id).toBe('alice');
    expect((await call('GET', `/executions/${id}/result`, alice)).status).toBe(200);
    expect((await call('GET', `/executions/${id}/result`, bob)).status).toBe(403);
    expect((await call('GET', `/executions/${id}/events`, bob)).status).toBe(403);
    expect((await call('GET', `/executions/${id}/result`, admin)).status).toBe(200);
  });
});

describe('GET /user/executions', () => {
  it('lists only the caller’s executions, newest first, with filters and paging', async () => {
    await s.seed('alice', { created_at: '2024-01-01T10:00:00.000Z', status: 'completed' });
    await s.seed('alice', { created_at: '2024-01-02T10:00:00.000Z', status: 'failed', lang: 'bash', lang_version: '5.2' });
    await s.seed('alice', { created_at: '2024-01-03T10:00:00.000Z', status: 'completed' });
    await s.seed('bob', { created_at: '2024-01-04T10:00:00.000Z' });

    const all = await call('GET', '/user/executions', alice);
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ total: 3, limit: 50, skip: 0, has_more: false });
    expect(all.body!['executions'].map((e: any) => e.created_at)).toEqual([
      '2024-01-03T10:00:00.000Z',
      '2024-01-02T10:00:00.000Z',
      '2024-01-01T10:00:00.000Z',
    ]);
    expect(all.body!['executions'][0]).toMatchObject({ user_id: 'alice', script: 'print(1)', lang: 'python', status: 'completed' });

    // A full first page counts the rest; a page past the first counts too.
    expect((await call('GET', '/user/executions?limit=2', alice)).body).toMatchObject({ total: 3, limit: 2, skip: 0, has_more: true });
    expect((await call('GET', '/user/executions?limit=3', alice)).body).toMatchObject({ total: 3, has_more: false });
    const page = await call('GET', '/user/executions?limit=1&skip=1', alice);
    expect(page.body).toMatchObject({ total: 3, limit: 1, skip: 1, has_more: true });
    expect(page.body!['executions'][0].created_at).toBe('2024-01-02T10:00:00.000Z');

    expect((await call('GET', '/user/executions?status=completed', alice)).body!['total']).toBe(2);
    expect((await call('GET', '/user/executions?lang=bash', alice)).body!['total']).toBe(1);
    const window = await call('GET', '/user/executions?start_time=2024-01-02T00:00:00Z&end_time=2024-01-02T23:59:59%2B00:00', alice);
    expect(window.body!['executions'].map((e: any) => e.status)).toEqual(['failed']);
    expect((await call('GET', '/user/executions', bob)).body!['total']).toBe(1);
  });

  it('422 naming the field for out-of-range or malformed parameters', async () => {
    for (const [q, field] of [
      ['limit=0', 'limit'],
      ['limit=201', 'limit'],
      ['skip=-1', 'skip'],
      ['status=done', 'status'],
      ['lang=cobol', 'lang'],
      ['start_time=yesterday', 'start_time'],
    ]) {
      const res = await call('GET', `/user/executions?${q}`, alice);
      expect({ q, status: res.status, fields: res.body!['errors'].map((e: any) => e.field) }).toEqual({ q, status: 422, fields: [field] });
    }
    expect((await call('GET', '/user/executions?limit=200', alice)).status).toBe(200);
  });
});

describe('POST /executions/{id}/retry', () => {
  it('creates a new queued execution with the same script for the same owner', async () => {
    const id = await submit(alice, 'print("again")');
    await s.executionStore.update(id, { status: 'completed' });
    const res = await call('POST', `/executions/${id}/retry`, admin);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'queued' });
    const fresh = await s.executionStore.get(res.body!['execution_id']);
    expect(fresh).toMatchObject({ status: 'queued', script: 'print("again")', lang: 'python', lang_version: '3.11', user_id: 'alice' });
    expect(fresh!.id).not.toBe(id);
    const events = await s.events.forAggregate(fresh!.id);
    expect(events.map((e) => e.event_type)).toEqual(['execution_requested']);
  });

  it('400 while queued, scheduled or running; 403 for others; 404 when missing', async () => {
    for (const status of ['queued', 'scheduled', 'running'] as const) {
      const { id } = await s.seed('alice', { status });
      const res = await call('POST', `/executions/${id}/retry`, alice);
      expect({ status, code: res.status, type: res.body!['type'] }).toEqual({ status, code: 400, type: 'InvalidState' });
    }
    const { id } = await s.seed('alice', { status: 'failed' });
    expect((await call('POST', `/executions/${id}/retry`, bob)).status).toBe(403);
    expect((await call('POST', '/executions/nope/retry', alice)).status).toBe(404);
  });
});

describe('standard input', () => {
  it('POST /execute keeps stdin and interactive in the record (a retry too); 422 naming stdin beyond 1 MiB', async () => {
    const res = await call('POST', '/execute', alice, { script: 'print(input())', lang: 'python', lang_version: '3.11', stdin: 'héllo\n', interactive: true });
    expect(res.status).toBe(200);
    const id = res.body!['execution_id'] as string;
    expect(await s.executionStore.get(id)).toMatchObject({ stdin: 'héllo\n', interactive: true });
    expect((await s.events.forAggregate(id))[0]).not.toHaveProperty('stdin'); // the command on the log stays small
    await s.executionStore.update(id, { status: 'completed' });
    const again = await call('POST', `/executions/${id}/retry`, alice);
    expect(await s.executionStore.get(again.body!['execution_id'])).toMatchObject({ stdin: 'héllo\n', interactive: true });
    const plain = await submit(alice);
    expect(await s.executionStore.get(plain)).toMatchObject({ stdin: '', interactive: false });

    const MiB = 1024 * 1024;
    const exact = await call('POST', '/execute', alice, { script: 'p', lang: 'python', lang_version: '3.11', stdin: 'x'.repeat(MiB) });
    expect(exact.status).toBe(200);
    for (const stdin of ['x'.repeat(MiB + 1), 'é'.repeat(MiB / 2 + 1)]) {
      const big = await call('POST', '/execute', alice, { script: 'p', lang: 'python', lang_version: '3.11', stdin });
      expect({ status: big.status, fields: big.body!['errors'].map((e: { field: string }) => e.field) }).toEqual({ status: 422, fields: ['stdin'] });
    }
  });

  it('POST /executions/{id}/stdin sends a command to the owning node for the owner of a running interactive execution', async () => {
    const { id } = await s.seed('alice', { status: 'running', interactive: true });
    const res = await call('POST', `/executions/${id}/stdin`, alice, { data: 'line\n' });
    expect(res).toEqual({ status: 200, body: { execution_id: id, status: 'accepted', event_id: expect.any(String) } });
    const closing = await call('POST', `/executions/${id}/stdin`, alice, { data: '', eof: true });
    expect(closing.status).toBe(200);
    const sent = await s.events.forAggregate(id, { eventTypes: ['execution_stdin_requested'] });
    expect(sent).toMatchObject([
      { event_id: res.body!['event_id'], data: 'line\n', eof: false, metadata: { user_id: 'alice' } },
      { data: '', eof: true },
    ]);
  });

  it('403 for anyone but the owner (admins too), 404 unknown, 409 unless running and interactive, 422 naming bad fields', async () => {
    const { id } = await s.seed('alice', { status: 'running', interactive: true });
    for (const who of [bob, admin]) expect((await call('POST', `/executions/${id}/stdin`, who, { data: 'x' })).status).toBe(403);
    expect((await call('POST', '/executions/nope/stdin', alice, { data: 'x' })).status).toBe(404);
    for (const status of ['queued', 'scheduled', 'completed', 'failed', 'cancelled'] as const) {
      const other = await s.seed('alice', { status, interactive: true });
      const res = await call('POST', `/executions/${other.id}/stdin`, alice, { data: 'x' });
      expect({ status, code: res.status, type: res.body!['type'] }).toEqual({ status, code: 409, type: 'Conflict' });
    }
    const closed = await s.seed('alice', { status: 'running' });
    expect((await call('POST', `/executions/${closed.id}/stdin`, alice, { data: 'x' })).status).toBe(409);
    for (const [body, field] of [[{}, 'data'], [{ data: 1 }, 'data'], [{ data: 'x', eof: 'yes' }, 'eof'], [{ data: 'x'.repeat(64 * 1024 + 1) }, 'data']] as const) {
      const res = await call('POST', `/executions/${id}/stdin`, alice, body);
      expect({ code: res.status, fields: res.body!['errors']?.map((e: { field: string }) => e.field) }).toEqual({ code: 422, fields: [field] });
    }
    expect(await s.events.forAggregate(id, { eventTypes: ['execution_stdin_requested'] })).toEqual([]);
  });
});

describe('DELETE /executions/{id}', () => {
  it('admin only; removes the record and keeps its events', async () => {
    const id = await submit(alice);
    await s.executionStore.update(id, { status: 'completed' });
    expect((await call('DELETE', `/executions/${id}`, alice)).status).toBe(403);
    const res = await call('DELETE', `/executions/${id}`, admin);
    expect(res).toEqual({ status: 200, body: { message: 'Execution deleted successfully', execution_id: id } });
    expect(await s.executionStore.get(id)).toBeNull();
    expect((await call('GET', `/executions/${id}/result`, admin)).status).toBe(404);
    expect((await s.events.forAggregate(id)).map((e) => e.event_type)).toEqual(['execution_requested']);
    expect((await call('DELETE', `/executions/${id}`, admin)).status).toBe(404);
  });

  it('400 for an execution that has not ended', async () => {
    const id = await submit(alice);
    const res = await call('DELETE', `/executions/${id}`, admin);
    expect(res.status).toBe(400);
    expect(await s.executionStore.get(id)).not.toBeNull();
  });
});
