import { execSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../support/node-harness.js';
import { waitFor } from '../support/wait.js';

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode({ SANDBOX_TIMEOUT_SECONDS: '3', MAX_CONCURRENT_EXECUTIONS: '4' });
});
afterAll(async () => t?.stop());

const frames = (msgs: { data: string }[]) => msgs.map((m) => JSON.parse(m.data) as { event_type: string; status: string | null; result: any; event_id: string });

describe('execution over HTTP and SSE', () => {
  it('runs python and streams status, progress and the stored result, then closes', async () => {
    const id = await t.submit('print("hello")');
    const msgs = await t.stream(id);
    const f = frames(msgs);
    expect(f[0]!.event_type).toBe('status');
    const types = f.map((x) => x.event_type);
    expect(types.at(-1)).toBe('result_stored');
    expect(types).toContain('execution_completed');
    const last = f.at(-1)!;
    expect(last.status).toBe('completed');
    expect(last.result.stdout).toBe('hello\n');
    expect(msgs.filter((m) => m.id).every((m) => m.id === JSON.parse(m.data).event_id)).toBe(true);
    const result = await t.api(`/executions/${id}/result`);
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({ execution_id: id, status: 'completed', stdout: 'hello\n', exit_code: 0, lang: 'python', error_type: null });
    expect(result.body.resource_usage.clk_tck_hertz).toBeGreaterThan(0);
  });

  it('persists every transition as an event, in order', async () => {
    const id = await t.submit('print(1)');
    await t.stream(id);
    const res = await t.api(`/executions/${id}/events`);
    expect(res.status).toBe(200);
    const types = (res.body as any[]).map((e) => e.event_type);
    expect(types).toEqual([
      'execution_requested',
      'execution_queued',
      'execution_scheduled',
      'pod_created',
      'execution_running',
      'pod_terminated',
      'execution_completed',
      'result_stored',
    ]);
    const first = res.body[0];
    expect(first).toMatchObject({ event_version: '1', aggregate_id: id, metadata: { service_name: 'integr8s-ts' } });
    const filtered = await t.api(`/executions/${id}/events?event_types=result_stored&limit=5`);
    expect((filtered.body as any[]).map((e) => e.event_type)).toEqual(['result_stored']);
  });

  // The first Go run on a fresh machine waits for the standard library cache (about a minute, once).
  it('runs hello world in every installed language', { timeout: 240_000 }, async () => {
    const programs: Record<string, string> = {
      python: 'print("hi")',
      node: 'console.log("hi")',
      typescript: 'const s: string = "hi";\nconsole.log(s);',
      ruby: 'puts "hi"',
      go: 'package main\nimport "fmt"\nfunc main() { fmt.Println("hi") }',
      bash: 'echo hi',
    };
    const installed = t.node.sandbox.runtimes.list().map((r) => r.lang);
    expect(installed.sort()).toEqual(Object.keys(programs).sort());
    for (const lang of installed) {
      const r = await t.run(programs[lang]!, lang);
      expect({ lang, status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ lang, status: 'completed', stdout: 'hi\n', stderr: '' });
    }
  });

  it('reports a failing script with its exit code and stderr', async () => {
    const r = await t.run('import sys\nsys.stderr.write("boom\\n")\nsys.exit(3)');
    expect(r).toMatchObject({ status: 'failed', error_type: 'script_error', exit_code: 3, stderr: 'boom\n' });
  });

  it('ends an endless loop as a timeout', async () => {
    const r = await t.run('while True:\n  pass');
    expect(r).toMatchObject({ status: 'timeout', error_type: 'timeout' });
  });

  it('cancel really stops a running program', async () => {
    const id = await t.submit('import time\nprint("started", flush=True)\ntime.sleep(60)');
    await waitFor(async () => (await t.api(`/executions/${id}/result`)).body.status === 'running', { timeoutMs: 10_000, message: 'running' });
    const created = (await t.api(`/executions/${id}/events?event_types=pod_created`)).body[0];
    const runCgroups = () => execSync(`find /sys/fs/cgroup/pids -type d -name '${created.sandbox.id}'`).toString().trim();
    const pidsIn = () => execSync(`cat $(find /sys/fs/cgroup/pids -type d -name '${created.sandbox.id}')/cgroup.procs 2>/dev/null || true`).toString().trim();
    expect(runCgroups()).not.toBe('');
    expect(pidsIn()).not.toBe('');
    const started = Date.now();
    const res = await t.api(`/executions/${id}/cancel`, { method: 'POST', json: { reason: 'user asked' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ execution_id: id, status: 'cancellation_requested' });
    expect(typeof res.body.event_id).toBe('string');
    await waitFor(async () => (await t.api(`/executions/${id}/result`)).body.status === 'cancelled', { timeoutMs: 5_000, message: 'cancelled' });
    expect(Date.now() - started).toBeLessThan(2_500);
    const again = await t.api(`/executions/${id}/cancel`, { method: 'POST', json: {} });
    expect(again.body.status).toBe('already_cancelled');
    await waitFor(async () => (await t.node.queue()).active_count === 0, { message: 'slot released' });
    // Every process of the run is gone: its cgroup is empty and removed.
    await waitFor(() => runCgroups() === '', { timeoutMs: 3_000, message: 'run cgroup removed' });
    const events = (await t.api(`/executions/${id}/events`)).body.map((e: any) => e.event_type);
    expect(events).toContain('execution_cancel_requested');
    expect(events).toContain('execution_cancelled');
  });

  it('refuses to cancel a finished execution', async () => {
    const id = await t.submit('print(1)');
    await t.stream(id);
    const res = await t.api(`/executions/${id}/cancel`, { method: 'POST', json: { reason: 'late' } });
    expect(res.status).toBe(400);
    expect(res.body.type).toBe('InvalidState');
  });

  it('gives the same execution for the same Idempotency-Key', async () => {
    const key = `k-${Date.now()}`;
    const a = await t.submit('print(2)', 'python', undefined, { 'Idempotency-Key': key });
    const b = await t.submit('print(2)', 'python', undefined, { 'Idempotency-Key': key });
    expect(b).toBe(a);
    const c = await t.submit('print(2)', 'python', undefined, { 'Idempotency-Key': `${key}-other` });
    expect(c).not.toBe(a);
  });

  it('a stream for a finished execution sends its status and result and closes', async () => {
    const id = await t.submit('print("done")');
    await t.stream(id);
    const f = frames(await t.stream(id));
    expect(f.map((x) => x.event_type)).toEqual(['status', 'result_stored']);
    expect(f[0]!.status).toBe('completed');
    expect(f[1]!.result.stdout).toBe('done\n');
  });

  it('Last-Event-ID resumes from the event store', async () => {
    const id = await t.submit('print("resume")');
    const all = await t.stream(id);
    const withIds = all.filter((m) => m.id);
    const cut = withIds[1]!;
    const resumed = await t.stream(id, { 'Last-Event-ID': cut.id! });
    const ids = resumed.filter((m) => m.id).map((m) => m.id);
    const expected = withIds.slice(2).map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(expected));
    expect(ids).not.toContain(cut.id);
    expect(frames(resumed)[0]!.event_type).toBe('status');
  });

  it('serves example scripts and limits for every installed runtime', async () => {
    const ex = await t.api('/example-scripts');
    const lim = await t.api('/k8s-limits');
    expect(ex.status).toBe(200);
    expect(lim.status).toBe(200);
    const langs = Object.keys(lim.body.supported_runtimes);
    expect(Object.keys(ex.body.scripts).sort()).toEqual(langs.sort());
    expect(lim.body).toMatchObject({ execution_timeout: 3, memory_limit: '256Mi' });
    expect(lim.body.supported_runtimes.python.file_ext).toBe('py');
  });

  it('answers health checks', async () => {
    expect((await t.api('/health/live')).body).toMatchObject({ status: 'ok' });
    const ready = await t.api('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ok');
  });
});

describe('bad input', () => {
  it('names the unsupported language and lists the supported ones', async () => {
    const res = await t.api('/execute', { method: 'POST', json: { script: 'x', lang: 'cobol', lang_version: '1' } });
    expect(res.status).toBe(422);
    expect(res.body.detail).toMatch(/lang/);
    expect(res.body.detail).toMatch(/python/);
  });

  it('names an unsupported version and lists the installed ones', async () => {
    const res = await t.api('/execute', { method: 'POST', json: { script: 'x', lang: 'python', lang_version: '2.7' } });
    expect(res.status).toBe(422);
    expect(res.body.detail).toMatch(/lang_version/);
  });

  it('rejects a script over 50 000 characters naming the field', async () => {
    const res = await t.api('/execute', { method: 'POST', json: { script: 'x'.repeat(50_001), lang: 'python', lang_version: '3.11' } });
    expect(res.status).toBe(422);
    expect(JSON.stringify(res.body)).toMatch(/script/);
  });

  it('400 for malformed JSON, 404 for unknown ids, 413 for bodies over 10 MB', async () => {
    const bad = await t.api('/execute', { method: 'POST', body: '{"script":', headers: { 'content-type': 'application/json' } });
    expect(bad.status).toBe(400);
    const missing = await t.api('/executions/00000000-0000-0000-0000-000000000000/result');
    expect(missing.status).toBe(404);
    expect(missing.body.type).toBe('NotFound');
    const big = await t.api('/execute', { method: 'POST', body: 'x'.repeat(11 * 1024 * 1024), headers: { 'content-type': 'application/json' } });
    expect(big.status).toBe(413);
    const sse = await fetch(`${t.base}/events/executions/nope`, { headers: t.session.headers() });
    expect(sse.status).toBe(404);
  });
});

describe('hostile code', () => {
  it('contains bombs while other executions proceed and the server stays healthy', async () => {
    const bombs = await Promise.all([
      t.submit('import os\nwhile True:\n  try:\n    os.fork()\n  except OSError:\n    pass'),
      t.submit('x = []\nwhile True:\n  x.append(bytearray(50 * 1024 * 1024))'),
      t.submit('import sys\nchunk = "y" * 1024 * 1024\nfor _ in range(50):\n  sys.stdout.write(chunk)'),
    ]);
    const normal = await t.run('print("still fine")');
    expect(normal).toMatchObject({ status: 'completed', stdout: 'still fine\n' });
    expect((await t.api('/health/live')).status).toBe(200);
    for (const id of bombs) await t.stream(id);
    const [fork, mem, out] = await Promise.all(bombs.map(async (id) => (await t.api(`/executions/${id}/result`)).body));
    expect(['timeout', 'failed']).toContain(fork.status);
    if (fork.status === 'failed') expect(fork.error_type).toBe('resource_limit');
    expect(mem).toMatchObject({ status: 'failed', error_type: 'resource_limit' });
    expect(out.stdout_truncated).toBe(true);
    expect(out.stdout.length).toBeLessThanOrEqual(1024 * 1024);
    await waitFor(async () => (await t.node.queue()).active_count === 0, { message: 'all slots released' });
  });
});
