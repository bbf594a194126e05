/**
 * Launchers started ahead of need. Moving a process into a cgroup v1 costs ~10 ms of waiting (an RCU grace
 * period); a standby launcher has paid it before a run arrives, so a run only writes its limits and go-ahead.
 * A run takes a standby if one is ready, else starts one on the spot; a replacement is started right after.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { buildLauncher } from './bwrap-args.js';
import type { CgroupPool } from './cgroup-pool.js';
import type { RunCgroup } from './cgroups.js';
import type { SpawnFn } from './process.js';

/** Launcher descriptor bwrap copies the script from (0-2 are stdio). */
export const SCRIPT_FD = 3;
/** Launcher descriptor bwrap reads the seccomp program from. */
export const SECCOMP_FD = 4;
/** Launcher descriptor carrying the go-ahead line (limits, command), then bwrap's options. */
export const ARGS_FD = 5;

/** A launcher process waiting in its own (not yet limited) cgroups. */
export interface Launcher {
  /** The run id: also the cgroup name. */
  id: string;
  child: ChildProcess;
  cgroup: RunCgroup;
  /** Gives the cgroups back once every process of the run is gone (see CgroupPool.release). */
  release: () => Promise<void>;
}

/** What starting launchers needs. */
export interface LauncherPoolConfig {
  spawn: SpawnFn;
  cgroups: CgroupPool;
  bwrapPath: string;
  /** Unprivileged host uid/gid the launcher and bwrap run as. */
  uid: number;
  gid: number;
  /** How many launchers to keep waiting (0 starts every launcher on demand). */
  size: number;
}

/** Keeps `size` launchers waiting and hands them out. */
export class LauncherPool {
  private readonly idle: Launcher[] = [];
  /** Launchers being started (cgroups taken, process spawned); close() waits for them. */
  private readonly starting = new Set<Promise<Launcher>>();
  private closed = false;
  private refill: NodeJS.Immediate | null = null;

  constructor(private readonly cfg: LauncherPoolConfig) {
    this.fill();
  }

  /** A waiting launcher, or a new one; rejects (cgroup or spawn trouble) when none can be started. */
  async take(): Promise<Launcher> {
    let launcher: Launcher | undefined;
    while ((launcher = this.idle.shift())) {
      if (isUsable(launcher.child)) break;
      void this.discard(launcher);
    }
    launcher ??= await this.startTracked();
    setRef(launcher.child, true);
    this.refill ??= setImmediate(() => {
      this.refill = null;
      this.fill();
    }); // after the caller has launched the run
    return launcher;
  }

  /** Resolves once the launchers being started have come up (or failed to). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.starting]);
  }

  /** Kills the waiting launchers and gives back their cgroups. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.refill) clearImmediate(this.refill);
    await Promise.allSettled([...this.starting]);
    await Promise.all(this.idle.splice(0).map((l) => this.discard(l)));
  }

  /** Starts launchers in the background until `size` are waiting or on their way. */
  private fill(): void {
    while (!this.closed && this.idle.length + this.starting.size < this.cfg.size) {
      this.startTracked().then(
        (launcher) => this.idle.push(launcher),
        () => {}, // a run will start one on demand and report the trouble
      );
    }
  }

  /** start(), counted in `starting`; a launcher that comes up after close() is discarded (and the promise rejects). */
  private startTracked(): Promise<Launcher> {
    const p = this.start().then(async (launcher) => {
      if (!this.closed) return launcher;
      await this.discard(launcher);
      throw new Error('launcher pool is closed');
    });
    this.starting.add(p);
    const forget = (): void => void this.starting.delete(p);
    p.then(forget, forget);
    return p;
  }

  private async start(): Promise<Launcher> {
    const id = `run-${randomBytes(8).toString('hex')}`;
    const cgroup = await this.cfg.cgroups.take(id);
    const launcher = buildLauncher({
      cgroupProcs: cgroup.procsFiles(),
      bwrapPath: this.cfg.bwrapPath,
      argsFd: ARGS_FD,
      keepFds: [SCRIPT_FD, SECCOMP_FD, ARGS_FD],
    });
    let child: ChildProcess;
    try {
      child = this.cfg.spawn(launcher.file, launcher.args, {
        stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe'],
        uid: this.cfg.uid,
        gid: this.cfg.gid,
        env: { PATH: '/usr/bin:/bin' },
      });
    } catch (error) {
      void this.cfg.cgroups.release(cgroup);
      throw error;
    }
    child.on('error', () => {}); // seen through isUsable / by the run that takes it
    for (const fd of [0, SCRIPT_FD, SECCOMP_FD, ARGS_FD]) (child.stdio[fd] as NodeJS.EventEmitter).on('error', () => {});
    setRef(child, false); // a waiting launcher must not keep the node process alive
    return { id, child, cgroup, release: () => this.cfg.cgroups.release(cgroup) };
  }

  private async discard(launcher: Launcher): Promise<void> {
    launcher.child.kill('SIGKILL');
    await launcher.cgroup.drain();
    await launcher.release();
  }
}

/** Makes the child and its pipes count (or not) for keeping the event loop alive. */
function setRef(child: ChildProcess, ref: boolean): void {
  if (ref) child.ref();
  else child.unref();
  for (const stream of child.stdio) {
    const s = stream as { ref?: () => void; unref?: () => void } | null;
    if (ref) s?.ref?.();
    else s?.unref?.();
  }
}

/** True while the launcher has not exited or failed to spawn. */
function isUsable(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null && child.pid !== undefined && !child.killed;
}
