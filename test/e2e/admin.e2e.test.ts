import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../support/node-harness.js';
import { login, type Session } from '../support/session.js';
import { waitFor } from '../support/wait.js';

let t: TestNode;
let alice: Session;
beforeAll(async () => {
  t = await startTestNode({ MAX_CONCURRENT_EXECUTIONS: '1', SANDBOX_TIMEOUT_SECONDS: '10' });
  const reg = await t.api('/auth/register', { method: 'POST', json: { username: 'alice', email: 'alice@example.com', password: 'alice-password-1' } });
  expect(reg.status).toBe(200);
  alice = await login(t.base, 'alice', 'alice-password-1');
});
afterAll(async () => t?.stop());

const result = async (id: string) => (await t.api(`/executions/${id}/result`)).body;

// The harness is signed in as the admin; `alice` is an ordinary user.
describe('admin settings and executions on a real node', () => {
  it('a new max_timeout_seconds applies to the next run and to /k8s-limits; the change is audited', async () => {
    expect((await t.api('/admin/settings/', { method: 'PUT', json: { max_timeout_seconds: 1 } })).status).toBe(200);
    expect((await t.api('/k8s-limits')).body.execution_timeout).toBe(1);
    const started = Date.now();
    expect(await t.run('import time\ntime.sleep(5)')).toMatchObject({ status: 'timeout', error_type: 'timeout' });
    expect(Date.now() - started).toBeLessThan(4_000);
    const audit = (await t.api('/admin/settings/audit')).body;
    expect(audit.entries[0]).toMatchObject({ user_id: t.session.userId, action: 'update' });
    expect(audit.entries[0].changes).toEqual([{ field: 'max_timeout_seconds', old_value: 10, new_value: 1 }]);
    expect((await t.api('/admin/settings/reset', { method: 'POST' })).body.max_timeout_seconds).toBe(10);
  });

  it('a reprioritized queued execution runs before the ones ahead of it', async () => {
    const blocker = await t.submit('import time\ntime.sleep(1.5)');
    await waitFor(async () => (await result(blocker)).status === 'running', { timeoutMs: 10_000, message: 'blocker running' });
    const first = await t.submit('print("first")');
    const second = await t.submit('print("second")');
    await waitFor(async () => (await t.api('/admin/executions/queue')).body.queue_depth === 2, { message: 'both queued' });
    expect((await t.api(`/admin/executions/${blocker}/priority`, { method: 'PUT', json: { priority: 'high' } })).status).toBe(400);
    const moved = await t.api(`/admin/executions/${second}/priority`, { method: 'PUT', json: { priority: 'critical' } });
    expect(moved.body).toMatchObject({ priority: 'critical', queue_position: 1 });
    await t.stream(first);
    const [a, b] = [await result(first), await result(second)];
    expect([a.status, b.status, b.priority]).toEqual(['completed', 'completed', 'critical']);
    expect(Date.parse(b.start_time)).toBeLessThan(Date.parse(a.start_time));
  });

  it('history, retry and delete', async () => {
    const submitted = await t.api('/execute', { method: 'POST', json: { script: 'print("again")', lang: 'python', lang_version: '3.11' }, headers: alice.headers() });
    const id = submitted.body.execution_id as string;
    await t.stream(id);
    expect((await t.api(`/executions/${id}/result`, { headers: alice.headers() })).status).toBe(200);
    const retried = await t.api(`/executions/${id}/retry`, { method: 'POST', headers: alice.headers() });
    expect(retried.status).toBe(200);
    await t.stream(retried.body.execution_id);
    expect(await result(retried.body.execution_id)).toMatchObject({ status: 'completed', stdout: 'again\n' });
    const mine = (await t.api('/user/executions?limit=5', { headers: alice.headers() })).body;
    expect(mine.executions.map((e: { execution_id: string }) => e.execution_id)).toEqual([retried.body.execution_id, id]);
    expect((await t.api(`/executions/${id}`, { method: 'DELETE', headers: alice.headers() })).status).toBe(403);
    expect((await t.api(`/executions/${id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await t.api(`/executions/${id}/result`)).status).toBe(404);
  });
});
