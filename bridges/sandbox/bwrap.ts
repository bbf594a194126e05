/**
 * The local sandbox backend: each run is a bubblewrap sandbox (all namespaces unshared, read-only system,
 * private size-limited tmpfs, unprivileged uid, no capabilities, seccomp) inside its own cgroups (memory,
 * pids, cpuacct) with rlimits for CPU time and file size. See docs/sandbox.md.
 */
import { randomBytes } from 'node:crypto';
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { SandboxFault, watchRun, type OutputChunk, type Sandbox, type SandboxHandle, type SandboxOutcome, type SandboxSpec } from '../../system/ports/sandbox.js';
import { buildBwrapArgs, buildLauncherInput, type RoBind } from './bwrap-args.js';
import { checkCgroupMount, createOwnerDirs, ownerTag, removeOwnerDirs, removeStaleCgroups } from './cgroup-owner.js';
import { CgroupPool } from './cgroup-pool.js';
import type { CgroupLayout } from './cgroups.js';
import { prepareGo, probeUlimitBlockBytes, sandboxFilesDir, type GoPrep } from './host-setup.js';
import { nodeSpawn, type SpawnFn } from './process.js';
import { BwrapRun } from './run.js';
import { probeRuntimes, RUNTIME_SPECS, type InstalledRuntime, type InstalledRuntimes, type RuntimeSpec } from './runtimes.js';
import { buildSeccompFilter } from './seccomp.js';
import { LauncherPool, SCRIPT_FD, SECCOMP_FD, type Launcher } from './standby.js';
import { transpileTypeScript } from './typescript.js';

/** Settings of the bwrap backend; only workDir is required. */
export interface BwrapSandboxOptions {
  /** A directory (under DATA_DIR) for the Go library cache and the sandbox's /etc/passwd. */
  workDir: string;
  /**
   * Used instead of workDir when the unprivileged bwrap user cannot read workDir (a 0700 DATA_DIR): bwrap binds
   * these files, so it must reach them. Default /var/cache/integr8s-sandbox.
   */
  fallbackDir?: string;
  /** Directory under each cgroup controller shared by the node processes of this host; default "integr8s". */
  cgroupRoot?: string;
  /** Where the cgroup v1 controllers are mounted; default /sys/fs/cgroup. */
  cgroupMount?: string;
  /** Unprivileged host uid/gid that bwrap and the program run as; default 65534 (nobody). */
  hostUid?: number;
  hostGid?: number;
  /** The bubblewrap binary; default /usr/bin/bwrap. */
  bwrapPath?: string;
  /** The backend's own wall cap fires this long after limits.wallMs (the caller normally stops at wallMs). */
  wallGraceMs?: number;
  /** How long an ended run stays watchable and re-attachable; default 5 minutes. */
  retainMs?: number;
  /** Launchers kept waiting in their cgroups, ready for the next run; default 1 (0: start each on demand). */
  standby?: number;
  /** Build the Go standard library cache at startup ("eager", default) or on the first Go run ("lazy"). */
  goWarmup?: 'eager' | 'lazy';
  /** Where the compiled Go standard library lives (share it between nodes and test runs); default <workDir>/go. */
  goCacheDir?: string;
  /** The process seam (tests record or break spawning through it); default child_process.spawn. */
  spawn?: SpawnFn;
  /** Runtime entries to probe; default RUNTIME_SPECS. */
  runtimeSpecs?: readonly RuntimeSpec[];
}

/** The backend's name in handles. */
export const BWRAP_BACKEND = 'bwrap';

/** Creates the bwrap backend: checks bwrap and cgroups, removes stale cgroups, probes the installed runtimes. */
export async function createBwrapSandbox(opts: BwrapSandboxOptions): Promise<Sandbox> {
  const bwrapPath = opts.bwrapPath ?? '/usr/bin/bwrap';
  await access(bwrapPath, constants.X_OK).catch(() => {
    throw new SandboxFault(`bubblewrap not found at ${bwrapPath} (Debian package: bubblewrap)`);
  });
  const mount = opts.cgroupMount ?? '/sys/fs/cgroup';
  const missing = checkCgroupMount(mount);
  if (missing) throw new SandboxFault(missing);
  const uid = opts.hostUid ?? 65534;
  const filesDir = await sandboxFilesDir([opts.workDir, opts.fallbackDir ?? '/var/cache/integr8s-sandbox'], uid, opts.hostGid ?? 65534);
  const etc = join(filesDir, 'etc');

  const [runtimes, ulimitBlockBytes] = await Promise.all([probeRuntimes(opts.runtimeSpecs ?? RUNTIME_SPECS), probeUlimitBlockBytes()]);
  const go = runtimes.list().some((r) => r.lang === 'go') ? await prepareGo(runtimes, opts.goCacheDir ?? join(filesDir, 'go'), opts.goWarmup ?? 'eager') : null;

  const owner = ownerTag();
  if (!owner) throw new SandboxFault('cannot read this process start time from /proc');
  const layout: CgroupLayout = { mount, root: opts.cgroupRoot ?? 'integr8s', owner };
  await removeStaleCgroups(mount, layout.root, owner);
  createOwnerDirs(layout);
  const backend = new BwrapSandbox({
    ...opts,
    bwrapPath,
    layout,
    runtimes,
    ulimitBlockBytes,
    go,
    etcBinds: [
      { src: join(etc, 'passwd'), dest: '/etc/passwd' },
      { src: join(etc, 'group'), dest: '/etc/group' },
    ],
  });
  await backend.standbyStarted();
  return backend;
}

/** A script ready to run: what to deliver, plus binds and env of the runtime's host step. */
interface Prepared {
  ok: true;
  script: string;
  binds: RoBind[];
  env: Record<string, string>;
}

interface BackendConfig extends BwrapSandboxOptions {
  bwrapPath: string;
  layout: CgroupLayout;
  runtimes: InstalledRuntimes;
  ulimitBlockBytes: number;
  go: GoPrep | null;
  etcBinds: RoBind[];
}

class BwrapSandbox implements Sandbox {
  readonly backend = BWRAP_BACKEND;
  /** A run lives in this process: no other node can reach it, so a passivating watcher stops it. */
  readonly reattachableElsewhere = false;
  readonly runtimes: InstalledRuntimes;
  private readonly runs = new Map<string, BwrapRun>();
  private readonly seccomp = buildSeccompFilter();
  private readonly cgroups: CgroupPool;
  private readonly launchers: LauncherPool;
  private readonly launching = new Set<Promise<SandboxHandle>>();
  private closed = false;

  constructor(private readonly cfg: BackendConfig) {
    this.runtimes = cfg.runtimes;
    this.cgroups = new CgroupPool(cfg.layout, cfg.hostUid ?? 65534);
    this.launchers = new LauncherPool({
      spawn: cfg.spawn ?? nodeSpawn,
      cgroups: this.cgroups,
      bwrapPath: cfg.bwrapPath,
      uid: cfg.hostUid ?? 65534,
      gid: cfg.hostGid ?? 65534,
      size: cfg.standby ?? 1,
    });
  }

  /** Resolves once the first standby launchers are waiting (or failed to start). */
  standbyStarted(): Promise<void> {
    return this.launchers.settled();
  }

  async start(spec: SandboxSpec): Promise<SandboxHandle> {
    if (this.closed) throw new SandboxFault('sandbox backend is closed');
    const runtime = this.runtimes.resolve(spec.lang, spec.langVersion);
    if (!runtime) throw new SandboxFault(`runtime ${spec.lang} ${spec.langVersion} is not installed here`);
    const prepared = await this.prepare(runtime, spec.script).catch((error: unknown) => {
      throw error instanceof SandboxFault ? error : new SandboxFault(`cannot prepare the ${spec.lang} script: ${String(error)}`, { cause: error });
    });
    if (this.closed) throw new SandboxFault('sandbox backend is closed');
    if (!prepared.ok) {
      const handle = this.handleFor(spec, `run-${randomBytes(8).toString('hex')}`);
      this.track(BwrapRun.finished(handle, prepared.diagnostics, spec.limits));
      return handle;
    }
    const launching = this.launch(spec, runtime, prepared);
    this.launching.add(launching);
    const forget = (): void => void this.launching.delete(launching);
    launching.then(forget, forget);
    return launching;
  }

  /** Builds the command, takes a launcher and lets it go (close() waits for launches under way, then stops them). */
  private async launch(spec: SandboxSpec, runtime: InstalledRuntime, prepared: Prepared): Promise<SandboxHandle> {
    let launcherInput: Buffer;
    try {
      const bwrapArgs = buildBwrapArgs({
        command: runtime.spec.command(runtime.binary),
        scriptName: runtime.spec.fileName,
        tmpfsBytes: spec.limits.tmpfsBytes,
        env: { ...runtime.spec.env, ...prepared.env },
        roBinds: [...this.cfg.etcBinds, ...prepared.binds],
        fds: { script: SCRIPT_FD, seccomp: SECCOMP_FD },
      });
      const rlimits = { cpuMs: spec.limits.cpuMs, fileBytes: spec.limits.fileBytes, ulimitBlockBytes: this.cfg.ulimitBlockBytes };
      launcherInput = buildLauncherInput(rlimits, bwrapArgs);
    } catch (error) {
      throw new SandboxFault(`cannot build the sandbox command: ${String(error)}`, { cause: error });
    }
    let launcher: Launcher;
    try {
      launcher = await this.launchers.take();
    } catch (error) {
      throw new SandboxFault(`cannot start a sandbox launcher: ${String(error)}`, { cause: error });
    }
    const handle = this.handleFor(spec, launcher.id);
    const run = BwrapRun.launch({
      handle,
      launcher,
      launcherInput,
      script: prepared.script,
      seccomp: this.seccomp,
      limits: spec.limits,
      wallGraceMs: this.cfg.wallGraceMs ?? 500,
      stdin: spec.stdin ?? '',
      keepStdinOpen: spec.keepStdinOpen ?? false,
    });
    this.track(run);
    return handle;
  }

  async watch(handle: SandboxHandle, onOutput?: (chunk: OutputChunk) => void): Promise<SandboxOutcome> {
    const run = this.runs.get(handle.id);
    if (!run || handle.backend !== BWRAP_BACKEND) throw new SandboxFault(`unknown sandbox ${handle.backend}/${handle.id}`);
    return watchRun(run, onOutput);
  }

  async stop(handle: SandboxHandle): Promise<void> {
    await this.runs.get(handle.id)?.stop();
  }

  async write(handle: SandboxHandle, data: string, eof: boolean): Promise<void> {
    const run = this.runs.get(handle.id);
    if (!run || handle.backend !== BWRAP_BACKEND) throw new SandboxFault(`unknown sandbox ${handle.backend}/${handle.id}`);
    run.write(data, eof);
  }

  async reattach(handle: SandboxHandle): Promise<SandboxHandle | null> {
    // A run being stopped (its previous watcher passivated) is as good as gone: the caller runs the script again.
    const run = handle.backend === BWRAP_BACKEND ? this.runs.get(handle.id) : undefined;
    return run && !run.stopRequested ? handle : null;
  }

  async ready(): Promise<{ ok: boolean; detail: string }> {
    if (this.closed) return { ok: false, detail: 'closed' };
    const missing = checkCgroupMount(this.cfg.layout.mount);
    if (missing) return { ok: false, detail: missing };
    const ok = await access(this.cfg.bwrapPath, constants.X_OK).then(() => true, () => false);
    if (!ok) return { ok: false, detail: `bwrap missing at ${this.cfg.bwrapPath}` };
    const langs = this.runtimes.list().map((r) => `${r.lang} ${r.versions.join('/')}`);
    const go = this.cfg.go ? `; go stdlib: ${this.cfg.go.state()}` : '';
    return { ok: langs.length > 0, detail: `bwrap; runtimes: ${langs.join(', ') || 'none'}${go}; running: ${this.running()}` };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.launching]);
    const runs = [...this.runs.values()];
    const cgroupsClosed = this.cgroups.close(); // from now on an ended run's cgroups are removed, not kept
    await this.launchers.close();
    await Promise.all(runs.map((run) => run.stop()));
    await Promise.all(runs.map((run) => run.cleanedUp));
    await cgroupsClosed;
    this.runs.clear();
    removeOwnerDirs(this.cfg.layout);
  }

  private handleFor(spec: SandboxSpec, id: string): SandboxHandle {
    return { backend: BWRAP_BACKEND, id, executionId: spec.executionId, startedAt: new Date().toISOString() };
  }

  private running(): number {
    return [...this.runs.values()].filter((r) => !r.isEnded).length;
  }

  /** Keeps a run watchable until retainMs after it ended. */
  private track(run: BwrapRun): void {
    this.runs.set(run.handle.id, run);
    const forget = (): void => {
      const timer = setTimeout(() => this.runs.delete(run.handle.id), this.cfg.retainMs ?? 5 * 60_000);
      timer.unref();
    };
    run.outcome.then(forget, forget);
  }

  /** The host step of a runtime: the script to deliver plus binds and env, or compiler diagnostics. */
  private async prepare(runtime: InstalledRuntime, script: string): Promise<Prepared | { ok: false; diagnostics: string }> {
    switch (runtime.spec.hostStep) {
      case 'typescript': {
        const t = await transpileTypeScript(script);
        return t.ok ? { ok: true, script: t.code, binds: [], env: {} } : { ok: false, diagnostics: t.diagnostics };
      }
      case 'go': {
        if (!this.cfg.go) throw new SandboxFault('Go toolchain not available');
        const std = await this.cfg.go.get();
        return { ok: true, script, binds: std.binds, env: std.env };
      }
      default:
        return { ok: true, script, binds: [], env: {} };
    }
  }
}
