/**
 * Per-run cgroups (v1: memory, pids, cpuacct) at <mount>/<controller>/<root>/<owner>/<run>. The owner level
 * names the node process (pid and start time), so a later process can tell which cgroups a crashed one left
 * behind and remove them, while cgroups of other live processes sharing the root are left alone.
 */
import { chownSync, existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The cgroup v1 controllers every run is placed in. */
export const CGROUP_CONTROLLERS = ['memory', 'pids', 'cpuacct'] as const;
/** One of CGROUP_CONTROLLERS. */
export type Controller = (typeof CGROUP_CONTROLLERS)[number];

/** Where a process's run cgroups live. */
export interface CgroupLayout {
  /** Where the v1 controllers are mounted, normally /sys/fs/cgroup. */
  mount: string;
  /** Directory under each controller shared by every node process on this host. */
  root: string;
  /** This process's directory under root (see ownerTag). */
  owner: string;
}

/** What the kernel counted for one run. */
export interface CgroupStats {
  cpuNs: number;
  peakMemoryBytes: number;
  /** OOM kills inside the cgroup (memory.oom_control oom_kill). */
  oomKills: number;
  /** Forks refused because pids.max was reached (pids.events max). */
  pidsMaxHits: number;
}

/** The name of a live process's owner directory: "<pid>-<start time in clock ticks>"; null if it is gone. */
export function ownerTag(pid: number = process.pid): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return `${pid}-${fields[19]}`; // field 22 (starttime); fields[0] is field 3
  } catch {
    return null;
  }
}

/** Checks the v1 controllers are mounted and writable; returns what is missing, or null when all is well. */
export function checkCgroupMount(mount: string): string | null {
  for (const c of CGROUP_CONTROLLERS) {
    if (!existsSync(join(mount, c, 'cgroup.procs'))) return `cgroup v1 controller '${c}' is not mounted at ${join(mount, c)}`;
  }
  return null;
}

/** Backends of this process using each owner dir, so closing one does not pull the dirs from under another. */
const ownerUsers = new Map<string, number>();
const ownerKey = (l: CgroupLayout): string => join(l.mount, l.root, l.owner);

/** Creates <root>/<owner> under every controller (counted per backend instance). */
export function createOwnerDirs(layout: CgroupLayout): void {
  for (const c of CGROUP_CONTROLLERS) mkdirSync(join(layout.mount, c, layout.root, layout.owner), { recursive: true });
  ownerUsers.set(ownerKey(layout), (ownerUsers.get(ownerKey(layout)) ?? 0) + 1);
}

/** The cgroups of one run. */
export class RunCgroup {
  /** Directory per controller. */
  readonly dirs: Readonly<Record<Controller, string>>;

  private constructor(dirs: Record<Controller, string>) {
    this.dirs = dirs;
  }

  /** Makes the run's cgroups, without limits yet; `uid` may then move itself in. */
  static create(layout: CgroupLayout, runId: string, uid: number): RunCgroup {
    const dirs = {} as Record<Controller, string>;
    for (const c of CGROUP_CONTROLLERS) dirs[c] = join(layout.mount, c, layout.root, layout.owner, runId);
    const cg = new RunCgroup(dirs);
    try {
      for (const c of CGROUP_CONTROLLERS) {
        mkdirSync(dirs[c]);
        chownSync(join(dirs[c], 'cgroup.procs'), uid, -1);
      }
      writeOptional(join(dirs.memory, 'memory.swappiness'), '0');
    } catch (error) {
      cg.removeNow();
      throw error;
    }
    return cg;
  }

  /** Sets the run's memory (and memory+swap) and pids limits, and zeroes the usage counters. */
  applyLimits(limits: { memoryBytes: number; pids: number }): void {
    const mem = String(limits.memoryBytes);
    writeFileSync(join(this.dirs.memory, 'memory.limit_in_bytes'), mem);
    const memsw = join(this.dirs.memory, 'memory.memsw.limit_in_bytes');
    if (existsSync(memsw)) writeFileSync(memsw, mem);
    writeFileSync(join(this.dirs.pids, 'pids.max'), String(limits.pids));
    writeOptional(join(this.dirs.memory, 'memory.max_usage_in_bytes'), '0');
    writeOptional(join(this.dirs.cpuacct, 'cpuacct.usage'), '0');
  }

  /** The cgroup.procs files a process writes its pid into to join. */
  procsFiles(): string[] {
    return CGROUP_CONTROLLERS.map((c) => join(this.dirs[c], 'cgroup.procs'));
  }

  /** Pids of the processes in the run (pids controller); empty when the run is over or the cgroup is gone. */
  pids(): number[] {
    return readPids(this.dirs.pids);
  }

  /** SIGKILLs every process in the run. */
  killAll(): void {
    for (const pid of this.pids()) killQuietly(pid);
  }

  /** CPU time so far, in ns. */
  cpuNs(): number {
    return readNumber(join(this.dirs.cpuacct, 'cpuacct.usage'));
  }

  /** Reads what the kernel counted. */
  stats(): CgroupStats {
    return {
      cpuNs: this.cpuNs(),
      peakMemoryBytes: readNumber(join(this.dirs.memory, 'memory.max_usage_in_bytes')),
      oomKills: readKey(join(this.dirs.memory, 'memory.oom_control'), 'oom_kill'),
      pidsMaxHits: readKey(join(this.dirs.pids, 'pids.events'), 'max'),
    };
  }

  /** Waits (up to timeoutMs) until no process is left, killing stragglers; true when empty. */
  async drain(timeoutMs = 2000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; ; i++) {
      if (this.pids().length === 0) return true;
      if (Date.now() > deadline) return false;
      if (i > 20) this.killAll();
      await new Promise((r) => setTimeout(r, i < 20 ? 0 : 5));
    }
  }

  /** Removes the cgroups, retrying while the kernel still reports them busy; true when all are gone. */
  async remove(timeoutMs = 2000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.removeNow()) return true;
      if (Date.now() > deadline) return false;
      this.killAll();
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  private removeNow(): boolean {
    let all = true;
    for (const c of CGROUP_CONTROLLERS) all = rmdirQuietly(this.dirs[c]) && all;
    return all;
  }
}

/**
 * Removes cgroups under `root` left by node processes that are gone (owner dirs whose process died), killing
 * anything still inside. Returns how many run cgroups were removed.
 */
export async function removeStaleCgroups(mount: string, root: string, self: string): Promise<number> {
  let removed = 0;
  for (const c of CGROUP_CONTROLLERS) {
    const base = join(mount, c, root);
    for (const owner of listDirs(base)) {
      if (owner === self) continue;
      const m = /^(\d+)-(\d+)$/.exec(owner);
      if (!m || ownerTag(Number(m[1])) === owner) continue;
      for (const run of listDirs(join(base, owner))) {
        const dir = join(base, owner, run);
        for (let i = 0; i < 200 && !rmdirQuietly(dir); i++) {
          for (const pid of readPids(dir)) killQuietly(pid);
          await new Promise((r) => setTimeout(r, 5));
        }
        if (!existsSync(dir)) removed++;
      }
      rmdirQuietly(join(base, owner));
    }
  }
  return removed;
}

/** Removes this process's owner dirs once the last backend instance using them is closed. */
export function removeOwnerDirs(layout: CgroupLayout): void {
  const users = (ownerUsers.get(ownerKey(layout)) ?? 1) - 1;
  if (users > 0) {
    ownerUsers.set(ownerKey(layout), users);
    return;
  }
  ownerUsers.delete(ownerKey(layout));
  for (const c of CGROUP_CONTROLLERS) rmdirQuietly(join(layout.mount, c, layout.root, layout.owner));
}

function listDirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return [];
  }
}

function readPids(dir: string): number[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function readNumber(file: string): number {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isFinite(n) ? n : 0;
  } catch {
    return 0;
  }
}

/** Reads `key value` lines (memory.oom_control, pids.events) and returns the value of `key`, 0 if absent. */
function readKey(file: string, key: string): number {
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [k, v] = line.trim().split(/\s+/);
      if (k === key) return Number(v) || 0;
    }
  } catch {
    // the file is optional on older kernels
  }
  return 0;
}

function writeOptional(file: string, value: string): void {
  try {
    writeFileSync(file, value);
  } catch {
    // not every kernel offers every knob
  }
}

function rmdirQuietly(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

function killQuietly(pid: number): void {
  if (!Number.isInteger(pid) || pid <= 1) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
