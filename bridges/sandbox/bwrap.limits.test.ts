/** Real runs: limits end runaway programs, stop() ends runs, usage figures are plausible, cgroups go away. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../system/ports/sandbox.js';
import { waitFor } from '../../test/support/wait.js';
import { ownerTag } from './cgroup-owner.js';
import { SMALL_LIMITS, TEST_CGROUP_ROOT, runScript, startScript, testSandbox } from './bwrap.fixture.js';

let sb: Sandbox;
beforeAll(async () => {
  sb = await testSandbox({ wallGraceMs: 300 });
});
afterAll(async () => {
  await sb.close();
});

/** Controllers in which the run's cgroup still exists. */
function cgroupsLeft(runId: string): string[] {
  return ['memory', 'pids', 'cpuacct'].filter((c) => existsSync(join('/sys/fs/cgroup', c, TEST_CGROUP_ROOT, ownerTag()!, runId)));
}

describe('bwrap limits', () => {
  it('ends a fork bomb at the pids limit', async () => {
    const o = await runScript(sb, 'python', 'import os\nwhile True:\n    os.fork()\n', SMALL_LIMITS);
    expect(o.limit).toBe('pids');
    expect(o.exitCode).not.toBe(0);
    expect(o.stderr).toContain('BlockingIOError');
    expect(o.elapsedMs).toBeLessThan(SMALL_LIMITS.wallMs! + 2000);
  });

  it('ends a shell fork bomb within the limits', async () => {
    const o = await runScript(sb, 'bash', ':(){ :|: ; }; :\n', SMALL_LIMITS);
    expect(['pids', 'memory', 'cpu_time', 'wall_time']).toContain(o.limit);
    expect(o.elapsedMs).toBeLessThan(SMALL_LIMITS.wallMs! + 2000);
  });

  it('ends a memory bomb with an OOM kill at the memory limit', async () => {
    const script = 'blocks = []\nwhile True:\n    blocks.append(b"x" * (8 * 1024 * 1024))\n';
    const o = await runScript(sb, 'python', script, { ...SMALL_LIMITS, memoryBytes: 64 * 1024 * 1024 });
    expect(o.limit).toBe('memory');
    expect(o.signal).toBe('SIGKILL');
    expect(o.exitCode).toBe(137);
    expect(o.usage.peak_memory_kb).toBeGreaterThan(48 * 1024);
    expect(o.usage.peak_memory_kb).toBeLessThanOrEqual(64 * 1024);
  });

  it('ends an infinite loop at the CPU time limit', async () => {
    const o = await runScript(sb, 'python', 'while True:\n    pass\n', { ...SMALL_LIMITS, cpuMs: 1000, wallMs: 10_000 });
    expect(o.limit).toBe('cpu_time');
    expect(o.usage.cpu_time_jiffies).toBeGreaterThanOrEqual(95);
    expect(o.usage.cpu_time_jiffies).toBeLessThan(200);
    expect(o.elapsedMs).toBeLessThan(5000);
  });

  it('counts CPU time over all processes of a run', async () => {
    const script = 'for i in 1 2 3; do ( while :; do :; done ) & done\nwait\n';
    const o = await runScript(sb, 'bash', script, { ...SMALL_LIMITS, cpuMs: 1500, wallMs: 20_000 });
    expect(o.limit).toBe('cpu_time');
    expect(o.usage.cpu_time_jiffies).toBeGreaterThanOrEqual(145);
    expect(o.elapsedMs).toBeLessThan(10_000);
  });

  it('ends a sleeping program at its own wall cap when nobody stops it', async () => {
    const o = await runScript(sb, 'python', 'import time\ntime.sleep(60)\n', { ...SMALL_LIMITS, wallMs: 1000 });
    expect(o.limit).toBe('wall_time');
    expect(o.stopped).toBe(false);
    expect(o.elapsedMs).toBeGreaterThanOrEqual(1000);
    expect(o.elapsedMs).toBeLessThan(3000);
    expect(o.usage.execution_time_wall_seconds).toBeGreaterThanOrEqual(1);
  });

  it('ends a program writing a file past the file size limit with SIGXFSZ', async () => {
    const o = await runScript(sb, 'bash', 'head -c 3000000 /dev/zero > /sandbox/big\n', { ...SMALL_LIMITS, fileBytes: 1024 * 1024 });
    expect(o.limit).toBe('file_size');
    expect(o.signal).toBe('SIGXFSZ');
  });

  it('truncates 50 MB of output to the cap, draining the rest', async () => {
    const script = 'import sys\nchunk = "x" * 1048576\nfor _ in range(50):\n    sys.stdout.write(chunk)\nsys.stdout.flush()\nsys.stderr.write("done")\n';
    const o = await runScript(sb, 'python', script, { outputBytes: 256 * 1024 });
    expect(o.exitCode).toBe(0);
    expect(o.stdout.length).toBe(256 * 1024);
    expect(o.stdoutTruncated).toBe(true);
    expect(o.stderr).toBe('done');
    expect(o.stderrTruncated).toBe(false);
    expect(o.chunks.filter((c) => c.stream === 'stdout').reduce((n, c) => n + c.text.length, 0)).toBe(256 * 1024);
  });
});

describe('bwrap stop', () => {
  it('stops a long-running program quickly and says so', async () => {
    const handle = await startScript(sb, 'python', 'import time\nprint("started", flush=True)\ntime.sleep(60)\n', { wallMs: 60_000 });
    let seen = '';
    const outcome = sb.watch(handle, (c) => (seen += c.text));
    await waitFor(() => seen.includes('started'), { timeoutMs: 10_000, message: 'program output' });
    const t0 = performance.now();
    await sb.stop(handle);
    const o = await outcome;
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(o.stopped).toBe(true);
    expect(o.limit).toBeNull();
    expect(o.signal).toBe('SIGKILL');
    expect(o.stdout).toBe('started\n');
    await sb.stop(handle); // idempotent
    expect(await sb.watch(handle)).toEqual(o);
  });

  it('stops every process of the run, including detached children', async () => {
    const script = 'import os, subprocess, time\nsubprocess.Popen(["/bin/sleep", "60"], start_new_session=True)\nprint("spawned", flush=True)\ntime.sleep(60)\n';
    const handle = await startScript(sb, 'python', script, { wallMs: 60_000 });
    let seen = '';
    const outcome = sb.watch(handle, (c) => (seen += c.text));
    await waitFor(() => seen.includes('spawned'), { timeoutMs: 10_000, message: 'child spawned' });
    await sb.stop(handle);
    expect((await outcome).stopped).toBe(true);
    await waitFor(() => cgroupsLeft(handle.id).length === 0, { timeoutMs: 5000, message: 'run cgroups removed' });
  });
});

describe('bwrap usage', () => {
  it('counts CPU time of a busy loop', async () => {
    const script = 'import time\nt = time.process_time()\nwhile time.process_time() - t < 0.5:\n    pass\n';
    const o = await runScript(sb, 'python', script);
    expect(o.usage.clk_tck_hertz).toBe(100);
    expect(o.usage.cpu_time_jiffies).toBeGreaterThanOrEqual(50);
    expect(o.usage.cpu_time_jiffies).toBeLessThan(150);
    expect(o.usage.execution_time_wall_seconds).toBeGreaterThanOrEqual(0.5);
  });

  it('sees peak memory grow with a 100 MB allocation', async () => {
    const small = await runScript(sb, 'python', 'print(1)\n');
    const big = await runScript(sb, 'python', 'b = b"x" * (100 * 1024 * 1024)\nprint(len(b))\n');
    expect(big.stdout).toBe(`${100 * 1024 * 1024}\n`);
    expect(small.usage.peak_memory_kb).toBeGreaterThan(0);
    expect(small.usage.peak_memory_kb).toBeLessThan(60 * 1024);
    expect(big.usage.peak_memory_kb).toBeGreaterThan(100 * 1024);
    expect(big.usage.peak_memory_kb - small.usage.peak_memory_kb).toBeGreaterThan(90 * 1024);
  });

  it('removes the cgroups of runs that ended', async () => {
    const { handle } = await runScript(sb, 'bash', 'true\n');
    expect(existsSync(join('/sys/fs/cgroup/pids', TEST_CGROUP_ROOT, ownerTag()!))).toBe(true);
    await waitFor(() => cgroupsLeft(handle.id).length === 0, { timeoutMs: 5000, message: 'no run cgroups left' });
  });
});
