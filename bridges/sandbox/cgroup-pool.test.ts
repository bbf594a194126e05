/** Real cgroup v1 tests (root, /sys/fs/cgroup) of recycling run cgroups, under a root of their own. */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOwnerDirs, ownerTag, removeOwnerDirs } from './cgroup-owner.js';
import { CgroupPool, MAX_RESIDUAL_BYTES } from './cgroup-pool.js';
import { CGROUP_CONTROLLERS, type RunCgroup } from './cgroups.js';

const MOUNT = '/sys/fs/cgroup';
const ROOT = `integr8s-test-pool-${process.pid}`;
const layout = { mount: MOUNT, root: ROOT, owner: ownerTag()! };
const runsIn = (c: string): string[] =>
  readdirSync(join(MOUNT, c, ROOT, layout.owner), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
const read = (dir: string, file: string): string => readFileSync(join(dir, file), 'utf8').trim();

/** Runs `script` (sh, as root) inside the run's cgroups and resolves when it has exited. */
function runIn(cg: RunCgroup, script: string): Promise<void> {
  const join = cg.procsFiles().map((f) => `echo $$ > ${f}`).join('; ');
  const child = spawn('/bin/sh', ['-c', `${join}; ${script}`], { stdio: 'ignore' });
  return new Promise((resolve) => child.on('close', () => resolve()));
}

beforeAll(() => createOwnerDirs(layout));
afterAll(() => {
  removeOwnerDirs(layout);
  for (const c of CGROUP_CONTROLLERS) if (existsSync(join(MOUNT, c, ROOT))) rmdirSync(join(MOUNT, c, ROOT));
});

describe('CgroupPool', () => {
  it('recycles an ended run: renamed to the next run, limits lifted, counters start again from zero', async () => {
    // What the OOM-killed program leaves charged (page cache, kernel memory) varies with the machine's load; the
    // residual rule has its own test below, so here any residue is accepted.
    const pool = new CgroupPool(layout, 65534, { restMs: 0, maxResidualBytes: Number.MAX_SAFE_INTEGER });
    const first = await pool.take('run-a');
    expect(runsIn('pids')).toEqual(['run-a']);
    first.applyLimits({ memoryBytes: 32 * 1024 * 1024, pids: 1 });
    await runIn(first, 'i=0; while [ $i -lt 3 ]; do /bin/true & i=$((i+1)); done; wait');
    await runIn(first, 'exec /usr/bin/python3 -c "b = bytearray(256 * 1024 * 1024)"');
    expect(first.stats().pidsMaxHits).toBeGreaterThan(0);
    expect(first.stats().oomKills).toBeGreaterThan(0);
    expect(await first.drain()).toBe(true);

    await pool.release(first);
    expect(pool.counts.spares).toBe(1);
    expect(runsIn('memory')).toEqual([expect.stringMatching(/^spare-/)]);
    const second = await pool.take('run-b');
    expect(second).toBe(first);
    for (const c of CGROUP_CONTROLLERS) expect(runsIn(c)).toEqual(['run-b']);
    expect(second.dirs.pids).toBe(join(MOUNT, 'pids', ROOT, layout.owner, 'run-b'));
    expect(read(second.dirs.pids, 'pids.max')).toBe('max');
    expect(Number(read(second.dirs.memory, 'memory.limit_in_bytes'))).toBeGreaterThan(2 ** 60);
    expect(read(second.dirs.memory, 'memory.failcnt')).toBe('0');
    expect(second.stats()).toMatchObject({ oomKills: 0, pidsMaxHits: 0 });
    expect(second.stats().cpuNs).toBeLessThan(1e6);
    expect(readFileSync(join(second.dirs.pids, 'cgroup.procs')).length).toBe(0);
    expect(pool.counts.reused).toBe(1);

    second.applyLimits({ memoryBytes: 64 * 1024 * 1024, pids: 8 });
    await runIn(second, 'true');
    expect(second.stats()).toMatchObject({ oomKills: 0, pidsMaxHits: 0 });
    await pool.release(second);
    await pool.close();
    for (const c of CGROUP_CONTROLLERS) expect(runsIn(c)).toEqual([]);
  });

  it('never reuses a cgroup that still holds a process: it is removed, the process killed', async () => {
    const pool = new CgroupPool(layout, 65534, { restMs: 0 });
    const cg = await pool.take('run-busy');
    const child = spawn('/bin/sh', ['-c', `${cg.procsFiles().map((f) => `echo $$ > ${f}`).join('; ')}; exec sleep 60`], { stdio: 'ignore' });
    const exited = new Promise<string | null>((resolve) => child.on('exit', (_c, signal) => resolve(signal)));
    for (let i = 0; i < 200 && cg.pids().length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(cg.pids()).toEqual([child.pid]);
    await pool.release(cg);
    expect(await exited).toBe('SIGKILL');
    expect(pool.counts.spares).toBe(0);
    for (const c of CGROUP_CONTROLLERS) expect(runsIn(c)).toEqual([]);
    await pool.close();
  });

  it('keeps cgroups given back twice only once, so two runs never share them', async () => {
    const pool = new CgroupPool(layout, 65534, { restMs: 0 });
    const cg = await pool.take('run-twice');
    await Promise.all([pool.release(cg), pool.release(cg)]);
    await pool.release(cg);
    expect(pool.counts.spares).toBe(1);
    const [a, b] = await Promise.all([pool.take('run-x'), pool.take('run-y')]);
    expect(a).not.toBe(b);
    await Promise.all([pool.release(a!), pool.release(b!)]);
    await pool.close();
  });

  it('keeps at most maxSpares, and removes whatever comes back after close', async () => {
    const pool = new CgroupPool(layout, 65534, { maxSpares: 1, restMs: 0 });
    const [a, b, c] = await Promise.all(['run-1', 'run-2', 'run-3'].map((n) => pool.take(n)));
    await Promise.all([pool.release(a!), pool.release(b!)]);
    expect(pool.counts.spares).toBe(1);
    expect(runsIn('cpuacct')).toEqual(['run-3', expect.stringMatching(/^spare-/)]);
    const closing = pool.close();
    await pool.release(c!);
    await closing;
    for (const ctl of CGROUP_CONTROLLERS) expect(runsIn(ctl)).toEqual([]);
  });

  it('lets an ended run rest under its name, then leaves what it left charged out of the next run’s peak', async () => {
    const pool = new CgroupPool(layout, 65534, { restMs: 200, maxResidualBytes: 64 * 1024 * 1024 });
    const cg = await pool.take('run-rest');
    await runIn(cg, `head -c 1000000 /dev/zero > /dev/shm/${ROOT}-left`); // ~1 MB of shmem stays charged
    const releasing = pool.release(cg);
    await new Promise((r) => setTimeout(r, 50));
    expect(runsIn('pids')).toEqual(['run-rest']);
    await releasing;
    expect(pool.counts.spares).toBe(1);
    const again = await pool.take('run-next');
    expect(again).toBe(cg);
    expect(again.memoryUsageBytes()).toBeGreaterThanOrEqual(1_000_000);
    expect(again.stats().peakMemoryBytes).toBeLessThan(500_000);
    await pool.release(again);
    rmSync(`/dev/shm/${ROOT}-left`);
    await pool.close();
    for (const c of CGROUP_CONTROLLERS) expect(runsIn(c)).toEqual([]);
  });

  it('removes an ended run’s cgroup that still has more than maxResidualBytes charged', async () => {
    const pool = new CgroupPool(layout, 65534, { restMs: 0 });
    const cg = await pool.take('run-heavy');
    await runIn(cg, `head -c ${4 * MAX_RESIDUAL_BYTES} /dev/zero > /dev/shm/${ROOT}-heavy`);
    await pool.release(cg);
    expect(pool.counts.spares).toBe(0);
    for (const c of CGROUP_CONTROLLERS) expect(runsIn(c)).toEqual([]);
    rmSync(`/dev/shm/${ROOT}-heavy`);
    await pool.close();
  });

  it('cuts rests short on close and removes what was resting', async () => {
    const pool = new CgroupPool(layout, 65534, { restMs: 60_000 });
    const cg = await pool.take('run-long-rest');
    const releasing = pool.release(cg);
    const t0 = Date.now();
    await pool.close();
    await releasing;
    expect(Date.now() - t0).toBeLessThan(2_000);
    for (const c of CGROUP_CONTROLLERS) expect(runsIn(c)).toEqual([]);
  });
});
