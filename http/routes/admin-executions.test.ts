import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testUser } from '../test-caller.js';
import { startHttpStack, type HttpStack } from '../../test/support/http-stack.js';

let s: HttpStack;
beforeEach(async () => {
  s = await startHttpStack({ MAX_CONCURRENT_EXECUTIONS: '1' });
});
afterEach(async () => s?.close());

const admin = testUser('root', 'admin');

async function call(method: string, path: string, headers: Record<string, string> = {}, body?: unknown) {
  const res = await fetch(`${s.base}/api/v1${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : null };
}
const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(check()).toBe(true);
};

describe('admin executions API', () => {
  it('401 anonymous, 403 for a user, on every admin route', async () => {
    for (const [method, path] of [
      ['GET', '/admin/executions/'],
      ['GET', '/admin/executions/queue'],
      ['PUT', '/admin/executions/x/priority'],
    ] as const) {
      const body = method === 'PUT' ? { priority: 'high' } : undefined;
      expect((await call(method, path, {}, body)).status).toBe(401);
      expect((await call(method, path, testUser('alice'), body)).status).toBe(403);
    }
  });

  it('lists every execution with status, priority and user filters and paging', async () => {
    await s.seed('alice', { status: 'completed', created_at: '2024-01-01T00:00:00.000Z' });
    await s.seed('alice', { status: 'queued', priority: 'high', created_at: '2024-01-02T00:00:00.000Z' });
    await s.seed('bob', { status: 'queued', created_at: '2024-01-03T00:00:00.000Z' });
    const all = await call('GET', '/admin/executions/', admin);
    expect(all.body).toMatchObject({ total: 3, limit: 50, skip: 0, has_more: false });
    expect(all.body!['executions'].map((e: any) => e.user_id)).toEqual(['bob', 'alice', 'alice']);
    expect(all.body!['executions'][0]).toHaveProperty('script');
    expect(all.body!['executions'][0]).not.toHaveProperty('outbox');
    expect((await call('GET', '/admin/executions?status=queued', admin)).body!['total']).toBe(2);
    expect((await call('GET', '/admin/executions?priority=high', admin)).body!['total']).toBe(1);
    expect((await call('GET', '/admin/executions?user_id=alice&limit=1', admin)).body).toMatchObject({ total: 2, has_more: true });
    expect((await call('GET', '/admin/executions?priority=urgent', admin)).status).toBe(422);
    expect((await call('GET', '/admin/executions?limit=501', admin)).status).toBe(422);
  });

  it('reports the admission queue', async () => {
    s.acquire('a', 'normal');
    s.acquire('b', 'low');
    s.acquire('c', 'low');
    await until(() => s.granted.length === 1);
    const res = await call('GET', '/admin/executions/queue', admin);
    expect(res.body).toEqual({
      queue_depth: 2,
      active_count: 1,
      max_concurrent: 1,
      by_priority: { critical: 0, high: 0, normal: 0, low: 2, background: 0 },
    });
  });

  it('a new priority is stored and moves a waiting execution ahead in the admission queue', async () => {
    const running = await s.seed('alice', { status: 'running' });
    const first = await s.seed('alice');
    const second = await s.seed('bob', { priority: 'low' });
    s.acquire(running.id, 'normal');
    s.acquire(first.id, 'normal');
    s.acquire(second.id, 'low');
    await until(() => s.granted.length === 1);

    const res = await call('PUT', `/admin/executions/${second.id}/priority`, admin, { priority: 'critical' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ execution_id: second.id, priority: 'critical', status: 'queued', queue_position: 1 });
    expect((await s.executionStore.get(second.id))?.priority).toBe('critical');
    expect((await call('GET', '/admin/executions/queue', admin)).body!['by_priority']).toMatchObject({ critical: 1, normal: 1, low: 0 });

    // Raising the cap (an admin setting, applied to admission) hands the next slot to the reprioritized execution.
    expect((await call('PUT', '/admin/settings/', admin, { max_concurrent_executions: 2 })).status).toBe(200);
    await until(() => s.granted.length === 2);
    expect(s.granted).toEqual([running.id, second.id]);
  });

  it('400 unless queued, 404 when missing, 422 for an unknown priority', async () => {
    for (const status of ['scheduled', 'running', 'completed', 'cancelled'] as const) {
      const { id } = await s.seed('alice', { status });
      const res = await call('PUT', `/admin/executions/${id}/priority`, admin, { priority: 'high' });
      expect({ status, code: res.status, type: res.body!['type'] }).toEqual({ status, code: 400, type: 'InvalidState' });
    }
    expect((await call('PUT', '/admin/executions/nope/priority', admin, { priority: 'high' })).status).toBe(404);
    const { id } = await s.seed('alice');
    const bad = await call('PUT', `/admin/executions/${id}/priority`, admin, { priority: 'urgent' });
    expect(bad.status).toBe(422);
    expect(bad.body!['errors'][0].field).toBe('priority');
    expect((await call('PUT', `/admin/executions/${id}/priority`, admin, '{')).status).toBe(400);
  });
});
