import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { bypassRateLimits, login, TEST_ADMIN, type Session } from '../support/session.js';
import { embeddedEnv } from '../support/infra.js';
import { createTempDir, type TempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait.js';

const PORT = 20_000 + Math.floor(Math.random() * 20_000);
const base = `http://127.0.0.1:${PORT}/api/v1`;
let dir: TempDir;
let child: ChildProcess | undefined;

function boot(dataDir: string): ChildProcess {
  const p = spawn(process.execPath, ['--import', 'tsx', 'system/main.ts'], {
    env: {
      ...embeddedEnv(),
      PORT: String(PORT),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      MAX_CONCURRENT_EXECUTIONS: '1',
      SANDBOX_TIMEOUT_SECONDS: '20',
      ADMIN_USERNAME: TEST_ADMIN.username,
      ADMIN_PASSWORD: TEST_ADMIN.password,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return p;
}

let session: Session | undefined;
const json = async (path: string, init: RequestInit = {}) => {
  const res = await fetch(base + path, { ...init, headers: { ...session?.headers(), ...(init.headers as Record<string, string>) } });
  return { status: res.status, body: (await res.json()) as any };
};

afterAll(async () => {
  child?.kill('SIGKILL');
  await dir?.cleanup();
});

describe('restart safety', () => {
  it('after SIGKILL with executions queued and running, every accepted execution reaches a terminal state', async () => {
    dir = await createTempDir('integr8s-restart-');
    child = boot(dir.path);
    await waitFor(async () => (await fetch(`${base}/health/live`)).ok, { timeoutMs: 30_000, message: 'first boot' });
    session = await login(base, TEST_ADMIN.username, TEST_ADMIN.password);
    await bypassRateLimits(base, session, session.userId);

    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await json('/execute', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ script: `import time\ntime.sleep(2)\nprint("run ${i}")`, lang: 'python', lang_version: '3.11' }),
      });
      expect(res.status).toBe(200);
      ids.push(res.body.execution_id);
    }
    await waitFor(async () => (await json(`/executions/${ids[0]}/result`)).body.status === 'running', { timeoutMs: 10_000, message: 'first running' });
    const before = await Promise.all(ids.map(async (id) => (await json(`/executions/${id}/result`)).body.status));
    expect(before[0]).toBe('running');
    expect(before.slice(1)).toEqual(['queued', 'queued', 'queued']);

    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));

    child = boot(dir.path);
    await waitFor(async () => (await fetch(`${base}/health/live`)).ok, { timeoutMs: 30_000, message: 'second boot' });
    const after = await waitFor(
      async () => {
        const results = await Promise.all(ids.map(async (id) => (await json(`/executions/${id}/result`)).body));
        return results.every((r) => ['completed', 'error', 'failed', 'timeout', 'cancelled'].includes(r.status)) ? results : null;
      },
      { timeoutMs: 40_000, intervalMs: 200, message: 'every execution terminal after restart' },
    );
    // The one that was running lost its sandbox with the node: it runs again, as a second attempt.
    expect(after[0]).toMatchObject({ status: 'completed', stdout: 'run 0\n' });
    const scheduled = (await json(`/executions/${ids[0]}/events?event_types=execution_scheduled`)).body.map((e: any) => e.attempt);
    expect(scheduled).toEqual([1, 2]);
    // The queued ones had not started: they run after the restart.
    for (let i = 1; i < 4; i++) expect(after[i]).toMatchObject({ status: 'completed', stdout: `run ${i}\n` });
    const events = (await json(`/executions/${ids[0]}/events`)).body.map((e: any) => e.event_type);
    expect(events).toContain('result_stored');
  }, 120_000);
});
