/**
 * The owner level of the run cgroups: <root>/<owner> names the node process (pid and start time), so a later
 * process can tell which cgroups a crashed one left behind and remove them, while cgroups of other live
 * processes sharing the root are left alone.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { CGROUP_CONTROLLERS, killQuietly, readPids, type CgroupLayout } from './cgroups.js';

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
      for (const run of listDirs(join(base, owner))) if (await removeRunDir(join(base, owner, run))) removed++;
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

/**
 * Kills the processes of the given runs of this owner and removes their cgroups: for runs whose backend is gone
 * (a sandbox worker thread that died) while the node process lives on. Returns how many run cgroups were removed.
 */
export async function removeRunCgroups(layout: CgroupLayout, runIds: Iterable<string>): Promise<number> {
  let removed = 0;
  for (const run of runIds) {
    for (const c of CGROUP_CONTROLLERS) {
      const dir = join(layout.mount, c, layout.root, layout.owner, run);
      if (existsSync(dir) && (await removeRunDir(dir))) removed++;
    }
  }
  return removed;
}

/** Removes one run's cgroup dir of one controller, killing what is inside until it goes (about a second at most). */
async function removeRunDir(dir: string): Promise<boolean> {
  for (let i = 0; i < 200 && !rmdirQuietly(dir); i++) {
    for (const pid of readPids(dir)) killQuietly(pid);
    await new Promise((r) => setTimeout(r, 5));
  }
  return !existsSync(dir);
}

function listDirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return [];
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
