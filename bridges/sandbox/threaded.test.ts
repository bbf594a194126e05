/** What the worker-thread backend adds to the bwrap backend: start-up faults, faults re-created, a worker that dies. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { SandboxFault } from '../../system/ports/sandbox.js';
import { waitFor } from '../../test/support/wait.js';
import { startScript, TEST_CGROUP_ROOT, TEST_WORK_DIR } from './bwrap.fixture.js';
import { ownerTag } from './cgroup-owner.js';
import { createThreadedBwrapSandbox, type ThreadedBwrapOptions } from './threaded.js';
import { catalogueOf, fromWire, toWire } from './worker-messages.js';

const options = (more: Partial<ThreadedBwrapOptions> = {}): ThreadedBwrapOptions => ({
  workDir: TEST_WORK_DIR,
  cgroupRoot: TEST_CGROUP_ROOT,
  goWarmup: 'lazy',
  ...more,
});

describe('threaded bwrap backend', () => {
  it('rejects with the backend’s own SandboxFault when it cannot start in the worker', async () => {
    const failed = createThreadedBwrapSandbox(options({ bwrapPath: '/nonexistent/bwrap' }));
    await expect(failed).rejects.toBeInstanceOf(SandboxFault);
    await expect(failed).rejects.toThrow(/bubblewrap not found at \/nonexistent\/bwrap/);
  });

  it('re-creates SandboxFaults from the worker and says in ready() that it runs in a worker', async () => {
    const sb = await createThreadedBwrapSandbox(options());
    try {
      expect((await sb.ready()).detail).toMatch(/\(worker thread\)$/);
      const spec = { executionId: 'x', lang: 'python' as const, langVersion: '0.0', script: 'print(1)', limits: {} as never };
      const error = await sb.start(spec).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SandboxFault);
      expect((error as Error).message).toMatch(/runtime python 0.0 is not installed here/);
    } finally {
      await sb.close();
    }
  });

  it('fails calls with a SandboxFault when the worker dies, kills the runs it left, and reports not ready', async () => {
    const sb = await createThreadedBwrapSandbox(options());
    const handle = await startScript(sb, 'python', 'import time\ntime.sleep(600)\n', { wallMs: 600_000, cpuMs: 600_000 });
    const runDir = join('/sys/fs/cgroup/pids', TEST_CGROUP_ROOT, ownerTag()!, handle.id);
    expect(existsSync(runDir)).toBe(true);
    const watching = sb.watch(handle).catch((e: unknown) => e);
    await (sb as unknown as { worker: Worker }).worker.terminate(); // as if the thread crashed
    expect(await watching).toBeInstanceOf(SandboxFault);
    await expect(startScript(sb, 'python', 'print(1)\n')).rejects.toBeInstanceOf(SandboxFault);
    expect(await sb.ready()).toMatchObject({ ok: false, detail: expect.stringMatching(/sandbox worker exited/) });
    expect(await sb.reattach(handle)).toBeNull();
    await waitFor(() => !existsSync(runDir), { timeoutMs: 5_000, message: 'the run killed and its cgroup removed' });
    await sb.close();
  });
});

describe('worker messages', () => {
  it('carries errors across as SandboxFault or plain Error with name and message', () => {
    const fault = fromWire(toWire(new SandboxFault('broken')));
    expect(fault).toBeInstanceOf(SandboxFault);
    expect(fault.message).toBe('broken');
    const plain = fromWire(toWire(new TypeError('bad')));
    expect(plain).not.toBeInstanceOf(SandboxFault);
    expect([plain.name, plain.message]).toEqual(['TypeError', 'bad']);
    expect(fromWire(toWire('odd')).message).toBe('odd');
  });

  it('gives a catalogue whose lists cannot change the copy it was made from', () => {
    const catalogue = catalogueOf([{ lang: 'python', versions: ['3.11'], fileExt: 'py' }]);
    catalogue.list()[0]!.versions.push('9.9');
    catalogue.find('python')!.versions.push('9.9');
    expect(catalogue.find('python')).toEqual({ lang: 'python', versions: ['3.11'], fileExt: 'py' });
    expect(catalogue.find('cobol')).toBeUndefined();
  });
});
