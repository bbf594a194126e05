/**
 * Run cgroups kept for reuse. Making and removing a cgroup v1 takes the kernel's cgroup mutex, which waits behind
 * every launcher joining its cgroups (an RCU grace period each), so runs recycle them instead: a cgroup whose run
 * has ended and which holds no process is reset and renamed to a spare name; the next launcher renames a spare to
 * its run id. A cgroup that still holds a process, or still has much memory charged, is removed instead.
 */
import { randomBytes } from 'node:crypto';
import { RunCgroup, type CgroupLayout } from './cgroups.js';

/** Spare cgroups kept at most; more are removed. */
export const MAX_SPARE_CGROUPS = 32;
/**
 * How long an ended run's cgroup rests before it is checked and reset: the kernel frees what the sandbox's
 * namespaces and mounts held over an RCU grace period or two, so the ~0.5-1.5 MiB a python run still has charged
 * when it exits falls to ~30-250 KiB within ~300 ms.
 */
export const REST_MS = 300;
/**
 * Memory still charged to a rested cgroup (page cache it read first, kernel objects) above which it is removed
 * rather than reused: the next run's peak memory would count it.
 */
export const MAX_RESIDUAL_BYTES = 256 * 1024;

/** The pool's limits (tests shorten or lengthen them); defaults are the constants above. */
export interface CgroupPoolTuning {
  maxSpares?: number;
  restMs?: number;
  maxResidualBytes?: number;
}

/** Hands out run cgroups named after their runs and takes them back when the runs have ended. */
export class CgroupPool {
  private readonly spares: RunCgroup[] = [];
  private readonly pending = new Set<Promise<void>>();
  /** Cgroups given back and not taken since: resting, spare or removed. */
  private readonly returned = new WeakMap<RunCgroup, Promise<void>>();
  private closed = false;
  private recycled = 0;
  /** Resolves when close() begins, cutting rests short. */
  private readonly closing: Promise<void>;
  private endRests!: () => void;

  private readonly tuning: Required<CgroupPoolTuning>;

  constructor(
    private readonly layout: CgroupLayout,
    private readonly uid: number,
    tuning: CgroupPoolTuning = {},
  ) {
    this.tuning = { maxSpares: MAX_SPARE_CGROUPS, restMs: REST_MS, maxResidualBytes: MAX_RESIDUAL_BYTES, ...tuning };
    this.closing = new Promise((resolve) => (this.endRests = resolve));
  }

  /** How many cgroups were reused so far and how many spares are waiting (for tests). */
  get counts(): { reused: number; spares: number } {
    return { reused: this.recycled, spares: this.spares.length };
  }

  /** Run cgroups named `name`, with no limits: a spare renamed, or new ones; `uid` may move itself in. */
  async take(name: string): Promise<RunCgroup> {
    let cg: RunCgroup | undefined;
    while ((cg = this.spares.pop())) {
      try {
        await cg.rename(name);
        this.returned.delete(cg);
        this.recycled++;
        return cg;
      } catch {
        this.track(cg.remove().then(() => undefined));
      }
    }
    return RunCgroup.create(this.layout, name, this.uid);
  }

  /**
   * Takes back the cgroups of an ended run: kept as a spare when empty and reset, else removed (killing stragglers).
   * Giving back the same cgroups twice before they are taken again changes nothing (two runs must never share them).
   */
  release(cg: RunCgroup): Promise<void> {
    const already = this.returned.get(cg);
    if (already) return already;
    const p = this.track(this.recycle(cg));
    this.returned.set(cg, p);
    return p;
  }

  /** Removes the spares, and from now on every released cgroup; resolves once pending releases are done. */
  async close(): Promise<void> {
    this.closed = true;
    this.endRests();
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    await Promise.all(this.spares.splice(0).map((cg) => cg.remove()));
  }

  private async recycle(cg: RunCgroup): Promise<void> {
    if (this.keeping() && cg.isEmpty()) await Promise.race([this.closing, new Promise((r) => setTimeout(r, this.tuning.restMs).unref())]);
    if (this.keeping() && cg.isEmpty() && cg.memoryUsageBytes() <= this.tuning.maxResidualBytes) {
      try {
        cg.reset();
        await cg.rename(`spare-${randomBytes(8).toString('hex')}`); // waits for the cgroup mutex: off the thread
        if (cg.isEmpty() && this.keeping()) {
          this.spares.push(cg);
          return;
        }
      } catch {
        // removed below
      }
    }
    await cg.remove();
  }

  private keeping(): boolean {
    return !this.closed && this.spares.length < this.tuning.maxSpares;
  }

  private track(p: Promise<void>): Promise<void> {
    const tracked = p.catch(() => {});
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
    return tracked;
  }
}
