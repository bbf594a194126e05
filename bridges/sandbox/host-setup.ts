/** One-time host preparation of the bwrap backend: files bwrap binds, the shell's ulimit unit, the Go cache. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SandboxFault } from '../../system/ports/sandbox.js';
import { LAUNCHER_SHELL } from './bwrap-args.js';
import { ensureGoStdlib, probeGo, type GoStdlib } from './go-stdlib.js';
import { runHost } from './process.js';
import type { InstalledRuntimes } from './runtimes.js';

/** The sandbox's /etc/passwd: its own user and nobody (whom unmapped host files belong to). */
const PASSWD = 'sandbox:x:1000:1000:sandbox:/sandbox:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n';
/** The sandbox's /etc/group. */
const GROUP = 'sandbox:x:1000:\nnogroup:x:65534:\n';

/** The first of `dirs` where the sandbox's /etc files can be written and read back by the bwrap user. */
export async function sandboxFilesDir(dirs: string[], uid: number, gid: number): Promise<string> {
  for (const dir of dirs) {
    const etc = join(dir, 'etc');
    try {
      await mkdir(etc, { recursive: true, mode: 0o755 });
      await writeFile(join(etc, 'passwd'), PASSWD);
      await writeFile(join(etc, 'group'), GROUP);
    } catch {
      continue;
    }
    const r = await runHost('/bin/sh', ['-c', 'test -r "$1"', 'sh', join(etc, 'passwd')], { uid, gid });
    if (r.code === 0) return dir;
  }
  throw new SandboxFault(`none of ${dirs.join(', ')} is readable by uid ${uid}, which runs bwrap`);
}

/** Bytes per unit of the launcher shell's `ulimit -f` (1024 for bash, 512 for dash), read back from /proc. */
export async function probeUlimitBlockBytes(): Promise<number> {
  const r = await runHost(LAUNCHER_SHELL, ['-c', 'ulimit -f 2 && exec cat /proc/self/limits']);
  const m = /^Max file size\s+(\d+)/m.exec(r.stdout);
  if (!m) throw new SandboxFault(`cannot probe ulimit -f units: ${r.stderr}`);
  return Number(m[1]) / 2;
}

/** The Go library cache, built now (eager) or on first use (lazy); a failed build is retried next time. */
export async function prepareGo(runtimes: InstalledRuntimes, dir: string, mode: 'eager' | 'lazy'): Promise<GoPrep> {
  const go = runtimes.list().find((r) => r.lang === 'go')!;
  const installed = runtimes.resolve('go', go.versions[0]!)!;
  const toolchain = await probeGo(installed.binary, dir);
  let pending: Promise<GoStdlib> | null = null;
  let state = 'not built yet';
  const get = (): Promise<GoStdlib> => {
    if (!toolchain) return Promise.reject(new SandboxFault(`go env failed for ${installed.binary}`));
    if (!pending) {
      state = 'building';
      pending = ensureGoStdlib(toolchain, dir).then(
        (std) => ((state = 'ready'), std),
        (error: unknown) => {
          pending = null;
          state = `failed: ${String(error).slice(0, 200)}`;
          throw new SandboxFault(`cannot build the Go standard library cache: ${String(error)}`, { cause: error });
        },
      );
    }
    return pending;
  };
  if (mode === 'eager') get().catch(() => {});
  return { get, state: () => state };
}

/** The Go standard library cache on demand, and what it is doing (for ready()). */
export interface GoPrep {
  get(): Promise<GoStdlib>;
  state(): string;
}

