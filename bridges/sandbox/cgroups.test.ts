/** Real cgroup v1 tests (root, /sys/fs/cgroup) under a root of their own. */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkCgroupMount, createOwnerDirs, ownerTag, removeOwnerDirs, removeStaleCgroups } from './cgroup-owner.js';
import { CGROUP_CONTROLLERS, RunCgroup } from './cgroups.js';

const MOUNT = '/sys/fs/cgroup';
const ROOT = `integr8s-test-cg-${process.pid}`;
const self = ownerTag()!;

afterAll(() => {
  for (const c of CGROUP_CONTROLLERS) {
    try {
      rmdirSync(join(MOUNT, c, ROOT));
    } catch {
      // not created by every test
    }
  }
});

describe('ownerTag', () => {
  it('names a live process by pid and start time, and nothing for a dead one', () => {
    expect(self).toMatch(new RegExp(`^${process.pid}-\\d+$`));
    expect(ownerTag(process.pid)).toBe(self);
    expect(ownerTag(999_999_999)).toBeNull();
  });
});

describe('checkCgroupMount', () => {
  it('accepts this machine and names a missing controller', () => {
    expect(checkCgroupMount(MOUNT)).toBeNull();
    expect(checkCgroupMount('/nonexistent-cgroup-mount')).toMatch(/'memory' is not mounted/);
  });
});

describe('RunCgroup', () => {
  it('creates the run cgroups with limits, lets the given uid join, reports usage and goes away', async () => {
    const layout = { mount: MOUNT, root: ROOT, owner: self };
    createOwnerDirs(layout);
    const cg = await RunCgroup.create(layout, 'run-unit', 65534);
    cg.applyLimits({ memoryBytes: 64 * 1024 * 1024, pids: 7 });
    expect(readFileSync(join(cg.dirs.memory, 'memory.limit_in_bytes'), 'utf8').trim()).toBe(String(64 * 1024 * 1024));
    expect(readFileSync(join(cg.dirs.pids, 'pids.max'), 'utf8').trim()).toBe('7');
    for (const file of cg.procsFiles()) expect(statSync(file).uid).toBe(65534);

    const child = spawn('/bin/sh', ['-c', `${cg.procsFiles().map((f) => `echo $$ > ${f}`).join('; ')}; i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; exec sleep 60`], {
      uid: 65534,
      gid: 65534,
      stdio: 'ignore',
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(cg.pids()).toContain(child.pid);
    const exited = new Promise<string | null>((resolve) => child.on('exit', (_c, signal) => resolve(signal)));
    cg.killAll();
    expect(await exited).toBe('SIGKILL');
    expect(await cg.drain()).toBe(true);
    const stats = cg.stats();
    expect(stats.cpuNs).toBeGreaterThan(0);
    expect(stats.peakMemoryBytes).toBeGreaterThan(0);
    expect(stats.oomKills).toBe(0);
    expect(stats.pidsMaxHits).toBe(0);
    expect(await cg.remove()).toBe(true);
    for (const dir of Object.values(cg.dirs)) expect(existsSync(dir)).toBe(false);
    removeOwnerDirs(layout);
    expect(existsSync(join(MOUNT, 'memory', ROOT, self))).toBe(false);
  });

  it('keeps the owner dirs while another backend instance of the process uses them', () => {
    const layout = { mount: MOUNT, root: ROOT, owner: self };
    createOwnerDirs(layout);
    createOwnerDirs(layout);
    removeOwnerDirs(layout);
    expect(existsSync(join(MOUNT, 'pids', ROOT, self))).toBe(true);
    removeOwnerDirs(layout);
    expect(existsSync(join(MOUNT, 'pids', ROOT, self))).toBe(false);
  });
});

describe('removeStaleCgroups', () => {
  it('removes what a dead process left (killing what is inside) and keeps what live processes own', async () => {
    const dead = '999999999-12345';
    const live = ownerTag(process.ppid)!;
    for (const c of CGROUP_CONTROLLERS) {
      mkdirSync(join(MOUNT, c, ROOT, dead, 'run-stale'), { recursive: true });
      mkdirSync(join(MOUNT, c, ROOT, live, 'run-live'), { recursive: true });
    }
    const straggler = spawn('/bin/sleep', ['60'], { stdio: 'ignore' });
    await new Promise((r) => straggler.once('spawn', r));
    writeFileSync(join(MOUNT, 'pids', ROOT, dead, 'run-stale', 'cgroup.procs'), String(straggler.pid));
    const exited = new Promise<string | null>((resolve) => straggler.on('exit', (_c, signal) => resolve(signal)));

    expect(await removeStaleCgroups(MOUNT, ROOT, self)).toBe(3);
    expect(await exited).toBe('SIGKILL');
    for (const c of CGROUP_CONTROLLERS) {
      expect(existsSync(join(MOUNT, c, ROOT, dead))).toBe(false);
      expect(existsSync(join(MOUNT, c, ROOT, live, 'run-live'))).toBe(true);
      rmdirSync(join(MOUNT, c, ROOT, live, 'run-live'));
      rmdirSync(join(MOUNT, c, ROOT, live));
    }
  });
});
