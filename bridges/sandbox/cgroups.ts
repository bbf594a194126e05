/**
 * Per-run cgroups (v1: memory, pids, cpuacct) at <mount>/<controller>/<root>/<owner>/<run>. The owner level
 * names the node process (see cgroup-owner.ts); a run's cgroups are named after the run, and recycled for later
 * runs (see cgroup-pool.ts).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { chown, mkdir, rename, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

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

/** The cgroups of one run; renamed and reset when recycled for another (see cgroup-pool.ts). */
export class RunCgroup {
  /** Directory per controller. */
  dirs: Readonly<Record<Controller, string>>;
  /**
   * Cumulative counters as they stood when the cgroup was last reset, and the memory a previous run left charged
   * (see cgroup-pool.ts); stats() reports what came after.
   */
  private base = { oomKills: 0, pidsMaxHits: 0, residualBytes: 0 };

  private constructor(private readonly layout: CgroupLayout, name: string) {
    this.dirs = runDirs(layout, name);
  }

  /** Makes the run's cgroups, without limits yet; `uid` may then move itself in. */
  static async create(layout: CgroupLayout, runId: string, uid: number): Promise<RunCgroup> {
    const cg = new RunCgroup(layout, runId);
    const dirs = cg.dirs;
    try {
      for (const c of CGROUP_CONTROLLERS) {
        await mkdir(dirname(dirs[c]), { recursive: true }); // the owner dir: another backend of this process may have removed it
        await mkdir(dirs[c]);
        await chown(join(dirs[c], 'cgroup.procs'), uid, -1);
      }
      await writeFile(join(dirs.memory, 'memory.swappiness'), '0').catch(() => {}); // not every kernel offers it
    } catch (error) {
      await cg.remove(0);
      throw error;
    }
    return cg;
  }

  /** Renames the cgroups under the same owner (cgroup v1 allows it; members stay); undone if one rename fails. */
  async rename(name: string): Promise<void> {
    const next = runDirs(this.layout, name);
    const done: Controller[] = [];
    try {
      for (const c of CGROUP_CONTROLLERS) {
        await rename(this.dirs[c], next[c]);
        done.push(c);
      }
    } catch (error) {
      for (const c of done) await rename(next[c], this.dirs[c]).catch(() => {});
      throw error;
    }
    this.dirs = next;
  }

  /** True when no process is in any of the run's cgroups (a gone cgroup counts as not empty). */
  isEmpty(): boolean {
    return CGROUP_CONTROLLERS.every((c) => readOr(join(this.dirs[c], 'cgroup.procs'), null)?.trim() === '');
  }

  /** Memory still charged to the cgroup (page cache, kernel objects) once its processes are gone; NaN if unknown. */
  memoryUsageBytes(): number {
    return Number(readOr(join(this.dirs.memory, 'memory.usage_in_bytes'), 'NaN').trim());
  }

  /**
   * Readies an empty cgroup for another run: limits lifted (memory+swap first, it may not be below memory),
   * peak and failure counters and CPU time zeroed, and a new baseline taken for the counters that only grow and
   * for the memory still charged (the next run's peak leaves it out).
   * Small writes that do not wait for the cgroup mutex, so they are done in place.
   */
  reset(): void {
    const m = this.dirs.memory;
    writeOptional(join(m, 'memory.memsw.limit_in_bytes'), '-1');
    writeFileSync(join(m, 'memory.limit_in_bytes'), '-1');
    writeFileSync(join(this.dirs.pids, 'pids.max'), 'max');
    for (const f of ['memory.max_usage_in_bytes', 'memory.failcnt', 'memory.memsw.max_usage_in_bytes', 'memory.memsw.failcnt']) writeOptional(join(m, f), '0');
    writeOptional(join(this.dirs.cpuacct, 'cpuacct.usage'), '0');
    this.base = {
      oomKills: readKey(join(m, 'memory.oom_control'), 'oom_kill'),
      pidsMaxHits: readKey(join(this.dirs.pids, 'pids.events'), 'max'),
      residualBytes: readNumber(join(m, 'memory.usage_in_bytes')),
    };
  }

  /** Sets the run's memory (and memory+swap) and pids limits, and zeroes the usage counters (a few small writes). */
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
      peakMemoryBytes: Math.max(0, readNumber(join(this.dirs.memory, 'memory.max_usage_in_bytes')) - this.base.residualBytes),
      oomKills: Math.max(0, readKey(join(this.dirs.memory, 'memory.oom_control'), 'oom_kill') - this.base.oomKills),
      pidsMaxHits: Math.max(0, readKey(join(this.dirs.pids, 'pids.events'), 'max') - this.base.pidsMaxHits),
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
      if (await this.removeNow()) return true;
      if (Date.now() > deadline) return false;
      this.killAll();
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  private async removeNow(): Promise<boolean> {
    const gone = await Promise.all(CGROUP_CONTROLLERS.map((c) => rmdir(this.dirs[c]).then(() => true, (e: NodeJS.ErrnoException) => e.code === 'ENOENT')));
    return gone.every(Boolean);
  }
}

/** Pids listed in a cgroup dir's cgroup.procs; empty when it is gone. */
export function readPids(dir: string): number[] {
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
    return keyOf(readFileSync(file, 'utf8'), key);
  } catch {
    return 0; // the file is optional on older kernels
  }
}

function keyOf(text: string, key: string): number {
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k === key) return Number(v) || 0;
  }
  return 0;
}

function runDirs(layout: CgroupLayout, name: string): Record<Controller, string> {
  const dirs = {} as Record<Controller, string>;
  for (const c of CGROUP_CONTROLLERS) dirs[c] = join(layout.mount, c, layout.root, layout.owner, name);
  return dirs;
}

function writeOptional(file: string, value: string): void {
  try {
    writeFileSync(file, value);
  } catch {
    // not every kernel offers every knob
  }
}

function readOr<T>(file: string, fallback: T): string | T {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

/** SIGKILLs `pid`, ignoring a process that is already gone. */
export function killQuietly(pid: number): void {
  if (!Number.isInteger(pid) || pid <= 1) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
