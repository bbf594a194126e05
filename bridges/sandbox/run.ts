/**
 * One sandboxed run from launch to outcome: feeds limits, args, script and seccomp program through fds, feeds
 * standard input (at start and through write()), keeps capped output, enforces the backend's own wall cap and the cgroup-wide CPU limit, and reads the kernel's
 * counters once every process of the run is gone.
 */
import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import type { Writable } from 'node:stream';
import type { Limits } from '../../system/domain/limits.js';
import { SandboxFault, type OutputChunk, type SandboxHandle, type SandboxOutcome } from '../../system/ports/sandbox.js';
import { LAUNCHER_ERROR_PREFIX, LAUNCHER_FAILED_EXIT } from './bwrap-args.js';
import type { RunCgroup } from './cgroups.js';
import { limitOf, signalOf, usageOf } from './outcome.js';
import { CappedOutput } from './output.js';
import { ARGS_FD, SCRIPT_FD, SECCOMP_FD, type Launcher } from './standby.js';

/** How often the cgroup's total CPU time is compared with the limit. */
export const CPU_POLL_MS = 50;

/** What launching a run needs. */
export interface LaunchInput {
  handle: SandboxHandle;
  /** A launcher waiting in the run's cgroups (see standby.ts). */
  launcher: Launcher;
  /** The limits line and bwrap's args, for ARGS_FD. */
  launcherInput: Buffer;
  script: string;
  seccomp: Buffer;
  limits: Limits;
  /** The backend's own wall cap fires at limits.wallMs + this. */
  wallGraceMs: number;
  /** Written to the program's standard input at once. */
  stdin: string;
  /** Leaves standard input open after `stdin` for write(); otherwise it is closed after it. */
  keepStdinOpen: boolean;
}

/** A run of one script: started, or already finished without a sandbox (a compile error found on the host). */
export class BwrapRun {
  /** Resolves with the outcome; rejects with SandboxFault when the sandbox itself failed. */
  readonly outcome: Promise<SandboxOutcome>;
  private readonly listeners = new Set<(chunk: OutputChunk) => void>();
  private readonly stdout: CappedOutput;
  private readonly stderr: CappedOutput;
  private child: ChildProcess | null = null;
  /** The program's standard input while it is open. */
  private stdin: Writable | null = null;
  private cgroup: RunCgroup | null = null;
  private release: () => Promise<void> = async () => {};
  private settle!: { resolve: (o: SandboxOutcome) => void; reject: (e: unknown) => void };
  private ended = false;
  private stopped = false;
  private wallCapFired = false;
  private cpuCapFired = false;
  private timers: NodeJS.Timeout[] = [];
  private removal: Promise<unknown> = Promise.resolve();

  private constructor(readonly handle: SandboxHandle, outputBytes: number) {
    this.outcome = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.outcome.catch(() => {}); // a fault nobody watches must not become an unhandled rejection
    this.stdout = new CappedOutput(outputBytes, (text) => this.emit({ stream: 'stdout', text }));
    this.stderr = new CappedOutput(outputBytes, (text) => this.emit({ stream: 'stderr', text }));
  }

  /** A run that never started a sandbox: its outcome is the host-side diagnostics (exit code 1). */
  static finished(handle: SandboxHandle, stderr: string, limits: Limits): BwrapRun {
    const run = new BwrapRun(handle, limits.outputBytes);
    run.stderr.push(Buffer.from(stderr));
    run.stderr.end();
    run.stdout.end();
    run.ended = true;
    run.settle.resolve({
      exitCode: 1,
      signal: null,
      stdout: '',
      stderr: run.stderr.text(),
      stdoutTruncated: false,
      stderrTruncated: run.stderr.truncated,
      limit: null,
      stopped: false,
      usage: usageOf({ cpuNs: 0, peakMemoryBytes: 0 }, 0),
    });
    return run;
  }

  /** Sets the run's cgroup limits and lets the launcher go; throws SandboxFault if the launcher is unusable. */
  static launch(input: LaunchInput): BwrapRun {
    const { child, cgroup, release } = input.launcher;
    const run = new BwrapRun(input.handle, input.limits.outputBytes);
    run.child = child;
    run.cgroup = cgroup;
    let given: Promise<void> | null = null;
    run.release = () => (given ??= release()); // once: a fault after the normal end must not return the cgroups twice
    try {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) throw new Error('launcher is not running');
      // two more pids than asked: bwrap's monitor and the sandbox's init
      cgroup.applyLimits({ memoryBytes: input.limits.memoryBytes, pids: input.limits.pids + 2 });
    } catch (error) {
      child.kill('SIGKILL');
      void cgroup.drain().then(release);
      throw new SandboxFault(`cannot start sandbox ${input.handle.id}: ${String(error)}`, { cause: error });
    }
    const startedAt = performance.now();
    child.stdout!.on('data', (chunk: Buffer) => run.stdout.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => run.stderr.push(chunk));
    child.once('close', (code, signal) => void run.finish(code, signal, performance.now() - startedAt, input.limits));
    run.stdin = child.stdin;
    run.write(input.stdin, !input.keepStdinOpen);
    feed(child, ARGS_FD, input.launcherInput);
    feed(child, SCRIPT_FD, input.script);
    feed(child, SECCOMP_FD, input.seccomp);
    run.armTimers(input);
    return run;
  }

  /** Resolves once the run's cgroups are given back (recycled, removed, or removal gave up). */
  get cleanedUp(): Promise<unknown> {
    return this.outcome.then(
      () => this.removal,
      () => this.removal,
    );
  }

  /** True once the outcome is settled. */
  get isEnded(): boolean {
    return this.ended;
  }

  /** Delivers live output: first what was kept so far, then each new piece, until the returned function is called. */
  subscribe(listener: (chunk: OutputChunk) => void): () => void {
    const out = this.stdout.text();
    const err = this.stderr.text();
    if (out) listener({ stream: 'stdout', text: out });
    if (err) listener({ stream: 'stderr', text: err });
    if (this.ended) return () => {};
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Writes to the program's standard input and closes it when `eof`; ignored once input is closed or the run ended. */
  write(data: string, eof: boolean): void {
    const stdin = this.stdin;
    if (!stdin || this.ended || stdin.writableEnded) return;
    if (data) stdin.write(data);
    if (eof) {
      stdin.end();
      this.stdin = null;
    }
  }

  /** True once stop() was called: the run is ending or has ended by it. */
  get stopRequested(): boolean {
    return this.stopped;
  }

  /** Ends the run now (idempotent); resolves once it has ended. */
  async stop(): Promise<void> {
    if (!this.ended) {
      this.stopped = true;
      this.kill();
    }
    await this.outcome.then(
      () => undefined,
      () => undefined,
    );
  }

  private kill(): void {
    this.child?.kill('SIGKILL');
    this.cgroup?.killAll();
  }

  private armTimers(input: LaunchInput): void {
    const wall = setTimeout(() => {
      this.wallCapFired = true;
      this.kill();
    }, input.limits.wallMs + input.wallGraceMs);
    const cpu = setInterval(() => {
      if (this.cgroup && this.cgroup.cpuNs() >= input.limits.cpuMs * 1e6) {
        this.cpuCapFired = true;
        this.kill();
      }
    }, CPU_POLL_MS);
    this.timers.push(wall, cpu);
  }

  private emit(chunk: OutputChunk): void {
    for (const listener of this.listeners) listener(chunk);
  }

  private async finish(code: number | null, signal: NodeJS.Signals | null, wallMs: number, limits: Limits): Promise<void> {
    if (this.ended) return;
    for (const t of this.timers) clearTimeout(t);
    this.stdin?.destroy(); // input nobody will read: let it go
    this.stdin = null;
    this.stdout.end();
    this.stderr.end();
    const cgroup = this.cgroup!;
    if (!(await cgroup.drain())) {
      this.finishWithFault(new SandboxFault(`processes of sandbox ${this.handle.id} did not exit`));
      return;
    }
    const stats = cgroup.stats();
    this.removal = this.release(); // reused by a later run, or removed
    const exitCode = code ?? 128 + (signal ? constants.signals[signal] : 0);
    const stderr = this.stderr.text();
    const ownFailure =
      (exitCode === LAUNCHER_FAILED_EXIT && stderr.startsWith(LAUNCHER_ERROR_PREFIX)) ||
      (exitCode === 1 && stderr.startsWith('bwrap: ') && !this.stopped);
    if (ownFailure) {
      this.finishWithFault(new SandboxFault(`sandbox setup failed: ${stderr.slice(0, 500).trim()}`));
      return;
    }
    const observation = {
      exitCode,
      killedBy: signal,
      stopped: this.stopped,
      wallCapFired: this.wallCapFired,
      cpuCapFired: this.cpuCapFired,
      stats,
      limits,
    };
    this.ended = true;
    this.listeners.clear();
    this.settle.resolve({
      exitCode,
      signal: signalOf(observation),
      stdout: this.stdout.text(),
      stderr,
      stdoutTruncated: this.stdout.truncated,
      stderrTruncated: this.stderr.truncated,
      limit: limitOf(observation),
      stopped: this.stopped,
      usage: usageOf(stats, wallMs),
    });
  }

  private finishWithFault(fault: SandboxFault): void {
    for (const t of this.timers) clearTimeout(t);
    if (this.ended) return;
    this.ended = true;
    this.listeners.clear();
    if (this.cgroup) this.removal = this.release();
    this.settle.reject(fault);
  }
}

/** Writes `data` into the child's descriptor `fd` and closes it; a child that died early is not an error here. */
function feed(child: ChildProcess, fd: number, data: string | Buffer): void {
  const stream = child.stdio[fd] as NodeJS.WritableStream & { on(event: 'error', cb: () => void): void };
  stream.on('error', () => {});
  stream.end(data);
}
