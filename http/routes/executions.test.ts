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
