import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../test-support.js';

let h: Harness | null = null;
async function start(overrides?: Parameters<typeof startHarness>[0]): Promise<Harness> {
  h = await startHarness(overrides);
  return h;
}
afterEach(async () => {
  await h?.server.close();
  h = null;
});

const execute = (base: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}/api/v1/execute`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('execution routes', () => {
  it('400 on malformed JSON', async () => {
    const { base } = await start();
    const res = await execute(base, '{"script": ');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ detail: 'Malformed JSON body', type: 'BadRequest' });
  });

  it('422 naming script for a 50 001-character script; 50 000 is accepted', async () => {
    const { base } = await start();
    const tooLong = await execute(base, { script: 'x'.repeat(50_001), lang: 'python', lang_version: '3.11' });
    expect(tooLong.status).toBe(422);
    const body = (await tooLong.json()) as { type: string; errors: Array<{ field: string }> };
    expect(body.type).toBe('ValidationError');
    expect(body.errors.map((e) => e.field)).toEqual(['script']);
    const ok = await execute(base, { script: 'x'.repeat(50_000), lang: 'python', lang_version: '3.11' });
    expect(ok.status).toBe(200);
  });

  it('422 naming every missing field', async () => {
    const { base } = await start();
    const res = await execute(base, {});
    expect(res.status).toBe(422);
    const body = (await res.json()) as { errors: Array<{ field: string }> };
    expect(body.errors.map((e) => e.field).sort()).toEqual(['lang', 'lang_version', 'script']);
  });

  it('passes the service validation error through naming lang', async () => {
    const { base } = await start();
    const res = await execute(base, { script: 'p', lang: 'cobol', lang_version: '1' });
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ type: 'ValidationError', errors: [{ field: 'lang' }] });
  });

  it('submits with the Idempotency-Key as the signed-in caller', async () => {
    const { base, executions } = await start();
    const res = await execute(base, { script: 'print(1)', lang: 'python', lang_version: '3.11' }, { 'idempotency-key': 'k-1' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ execution_id: 'exec-1', status: 'queued' });
    expect(executions.submitted[0]).toEqual({
      req: { script: 'print(1)', lang: 'python', lang_version: '3.11', idempotencyKey: 'k-1' },
      caller: { userId: 'user-1', role: 'user', ip: '127.0.0.1' },
    });
  });

  it('result: 200, and catalogue errors from the service as JSON', async () => {
    const { base } = await start();
    const ok = await fetch(`${base}/api/v1/executions/e1/result`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ execution_id: 'e1', status: 'completed' });
    const missing = await fetch(`${base}/api/v1/executions/missing/result`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ detail: 'Execution not found', type: 'NotFound' });
  });

  it('cancel: the body is optional; reason passes through; terminal → 400', async () => {
    const { base, executions } = await start();
    expect((await fetch(`${base}/api/v1/executions/e1/cancel`, { method: 'POST' })).status).toBe(200);
    await fetch(`${base}/api/v1/executions/e2/cancel`, { method: 'POST', body: JSON.stringify({ reason: 'too slow' }) });
    expect(executions.cancelled).toEqual([
      { id: 'e1', reason: 'User requested cancellation' },
      { id: 'e2', reason: 'too slow' },
    ]);
    const done = await fetch(`${base}/api/v1/executions/done/cancel`, { method: 'POST' });
    expect(done.status).toBe(400);
    expect(await done.json()).toMatchObject({ type: 'InvalidState' });
  });

  it('events: repeated and comma-separated event_types, limit default and bounds', async () => {
    const { base, executions } = await start();
    const q = 'event_types=execution_requested,result_stored&event_types=execution_running';
    expect((await fetch(`${base}/api/v1/executions/e1/events?${q}`)).status).toBe(200);
    expect(executions.eventQueries[0]?.opts).toEqual({ limit: 100, eventTypes: ['execution_requested', 'result_stored', 'execution_running'] });
    await fetch(`${base}/api/v1/executions/e1/events?limit=1000`);
    expect(executions.eventQueries[1]?.opts).toEqual({ limit: 1000 });
    for (const bad of ['limit=0', 'limit=1001', 'limit=abc']) {
      const res = await fetch(`${base}/api/v1/executions/e1/events?${bad}`);
      expect(res.status, bad).toBe(422);
      expect(await res.json()).toMatchObject({ errors: [{ field: 'limit' }] });
    }
    const unknown = await fetch(`${base}/api/v1/executions/e1/events?event_types=nope`);
    expect(await unknown.json()).toMatchObject({ errors: [{ field: 'event_types.0' }] });
  });

  it('example scripts and limits are public', async () => {
    const { base } = await start();
    expect(await (await fetch(`${base}/api/v1/example-scripts`)).json()).toEqual({ scripts: { python: 'print("hi")' } });
    expect(await (await fetch(`${base}/api/v1/k8s-limits`)).json()).toMatchObject({ supported_runtimes: { python: { file_ext: 'py' } } });
  });

  it('an unexpected failure is a generic 500 and is logged', async () => {
    const { base, executions, log } = await start();
    executions.submitFailure = new Error('disk on fire');
    const res = await execute(base, { script: 'p', lang: 'python', lang_version: '3.11' });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ detail: 'Internal server error', type: 'InternalError' });
    expect(log.lines.some((l) => l.level === 'error' && l.fields['error_message'] === 'disk on fire')).toBe(true);
  });
});

describe('health routes', () => {
  it('live is 200; ready is 200 when ok and 503 with the checks when not', async () => {
    const { base, health } = await start();
    expect(await (await fetch(`${base}/api/v1/health/live`)).json()).toMatchObject({ status: 'ok' });
    expect((await fetch(`${base}/api/v1/health/ready`)).status).toBe(200);
    health.ready_ = false;
    const res = await fetch(`${base}/api/v1/health/ready`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ type: 'ServiceUnavailable', status: 'unavailable', checks: { store: { ok: false } } });
  });
});

