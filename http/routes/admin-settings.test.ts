import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testUser } from '../test-caller.js';
import { startHttpStack, type HttpStack } from '../../test/support/http-stack.js';

let s: HttpStack;
beforeEach(async () => {
  s = await startHttpStack({ SANDBOX_TIMEOUT_SECONDS: '10', SANDBOX_MEMORY_MB: '256', MAX_CONCURRENT_EXECUTIONS: '2' });
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

describe('admin settings API', () => {
  it('admins only', async () => {
    for (const [method, path] of [
      ['GET', '/admin/settings/'],
      ['PUT', '/admin/settings/'],
      ['POST', '/admin/settings/reset'],
      ['GET', '/admin/settings/audit'],
    ] as const) {
      const body = method === 'PUT' ? {} : undefined;
      expect((await call(method, path, {}, body)).status).toBe(401);
      expect((await call(method, path, testUser('alice'), body)).status).toBe(403);
    }
  });

  it('GET returns the Config defaults; PUT changes are applied to new runs, k8s-limits and admission', async () => {
    const before = await call('GET', '/admin/settings', admin);
    expect(before.body).toMatchObject({ max_timeout_seconds: 10, memory_limit: '256Mi', max_concurrent_executions: 2, log_level: 'silent' });

    const put = await call('PUT', '/admin/settings/', admin, { max_timeout_seconds: 20, memory_limit: '512Mi', cpu_limit: '1500m', max_concurrent_executions: 6, log_level: 'debug' });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ max_timeout_seconds: 20, memory_limit: '512Mi', max_concurrent_executions: 6, password_min_length: 8 });
    expect(s.settings.limitsFor()).toMatchObject({ wallMs: 20_000, memoryBytes: 512 * 1024 * 1024 });
    expect((await call('GET', '/k8s-limits')).body).toMatchObject({ execution_timeout: 20, memory_limit: '512Mi', cpu_limit: '1500m' });
    expect((await call('GET', '/admin/executions/queue', admin)).body!['max_concurrent']).toBe(6);
    expect(s.logLevels.at(-1)).toBe('debug');

    const audit = await call('GET', '/admin/settings/audit', admin);
    expect(audit.body).toMatchObject({ total: 1, has_more: false });
    expect(audit.body!['entries'][0]).toMatchObject({ user_id: 'root', action: 'update' });
    expect(audit.body!['entries'][0].changes).toContainEqual({ field: 'max_timeout_seconds', old_value: 10, new_value: 20 });

    const reset = await call('POST', '/admin/settings/reset', admin);
    expect(reset.body).toEqual(before.body);
    expect((await call('GET', '/k8s-limits')).body).toMatchObject({ execution_timeout: 10, memory_limit: '256Mi' });
    expect((await call('GET', '/admin/executions/queue', admin)).body!['max_concurrent']).toBe(2);
    expect((await call('GET', '/admin/settings/audit?limit=1', admin)).body).toMatchObject({ total: 2, has_more: true, entries: [{ action: 'reset' }] });
  });

  it('422 naming each bad field; 400 for malformed JSON; nothing changes', async () => {
    const bad = await call('PUT', '/admin/settings/', admin, { max_timeout_seconds: 0, log_level: 'loud', sampling_rate: 2 });
    expect(bad.status).toBe(422);
    expect(bad.body!['errors'].map((e: any) => e.field).sort()).toEqual(['log_level', 'max_timeout_seconds', 'sampling_rate']);
    expect((await call('PUT', '/admin/settings/', admin, { memory_limit: '4Mi' })).status).toBe(422);
    expect((await call('PUT', '/admin/settings/', admin, '{"x"')).status).toBe(400);
    expect((await call('PUT', '/admin/settings/', admin)).status).toBe(422);
    expect((await call('GET', '/admin/settings/audit', admin)).body!['total']).toBe(0);
  });
});
