import type { Limits } from '../domain/limits.js';
import type { Language, RuntimeCatalogue } from '../domain/runtimes.js';

/** What to run: one script in one runtime under one set of limits. */
export interface SandboxSpec {
  executionId: string;
  lang: Language;
  langVersion: string;
  script: string;
  limits: Limits;
  /** Fed to the program's standard input as it starts; absent: nothing. */
  stdin?: string;
  /** Keeps standard input open after `stdin` for write(); otherwise the program reads end of input after it. */
  keepStdinOpen?: boolean;
  /** Who asked for the run, for backends that label what they create (Kubernetes pods); optional. */
  userId?: string | null;
}

/** A started sandbox, serialisable so it can be stored and re-attached after a restart. */
export interface SandboxHandle {
  backend: string;
  /** Backend-specific id (a cgroup name, a pod name). */
  id: string;
  executionId: string;
  startedAt: string;
}

/** Why the sandbox ended the program early, when it did. */
export type LimitReason = 'memory' | 'pids' | 'cpu_time' | 'file_size' | 'wall_time';

export interface ResourceUsage {
  execution_time_wall_seconds: number;
  cpu_time_jiffies: number;
  clk_tck_hertz: number;
  peak_memory_kb: number;
}

/** What one run produced. A program that could not even be compiled still ends here (exitCode != 0). */
export interface SandboxOutcome {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  /** Set when a limit stopped the program; null when it ended on its own. */
  limit: LimitReason | null;
  /** True when stop() ended the run (cancel or deadline), as opposed to the program exiting. */
  stopped: boolean;
  usage: ResourceUsage;
}

/** A chunk of live output, delivered while the run is going. */
export interface OutputChunk {
  stream: 'stdout' | 'stderr';
  text: string;
}

/** A run as backends keep it: live output to subscribe to, and its outcome. */
export interface WatchableRun {
  subscribe(listener: (chunk: OutputChunk) => void): () => void;
  readonly outcome: Promise<SandboxOutcome>;
}

/** Sandbox.watch for a backend's run: live output goes to `onOutput` until the outcome is in. */
export async function watchRun(run: WatchableRun, onOutput?: (chunk: OutputChunk) => void): Promise<SandboxOutcome> {
  const unsubscribe = onOutput ? run.subscribe(onOutput) : () => {};
  try {
    return await run.outcome;
  } finally {
    unsubscribe();
  }
}

/** Raised for our own faults (cannot start, backend broken); never for what the user's code did. */
export class SandboxFault extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SandboxFault';
  }
}

/**
 * Runs untrusted code in isolation. Implemented by the local bubblewrap backend and the Kubernetes pod backend.
 * start() returns once the program is running; watch() resolves when it has ended, with its logs;
 * stop() ends it early and is idempotent; reattach() finds a sandbox started before a restart (null if gone);
 * write() feeds a running program's standard input (kept open by SandboxSpec.keepStdinOpen).
 */
export interface Sandbox {
  readonly backend: string;
  /**
   * Whether a run goes on when its watcher passivates (its partition moved, its node stops), so that the partition's
   * next owner, possibly on another node, re-attaches to it: true for Kubernetes pods. False for the local
   * sandbox, whose runs no other node can reach: a passivating watcher stops them and the next owner runs again.
   */
  readonly reattachableElsewhere: boolean;
  readonly runtimes: RuntimeCatalogue;
  start(spec: SandboxSpec): Promise<SandboxHandle>;
  watch(handle: SandboxHandle, onOutput?: (chunk: OutputChunk) => void): Promise<SandboxOutcome>;
  stop(handle: SandboxHandle): Promise<void>;
  /**
   * Writes `data` to the program's standard input, then closes it when `eof`. Writes arrive in call order. A no-op
   * once input is closed or the program has ended; a SandboxFault for a handle this backend does not know.
   */
  write(handle: SandboxHandle, data: string, eof: boolean): Promise<void>;
  reattach(handle: SandboxHandle): Promise<SandboxHandle | null>;
  /**
   * The partitions this node owns changed (null: all). Backends that watch shared infrastructure (the Kubernetes
   * informer) narrow what they watch to them; others need not implement it.
   */
  scope?(partitions: readonly number[] | null): void;
  /** Checks the backend can run code now (for /health/ready). */
  ready(): Promise<{ ok: boolean; detail: string }>;
  close(): Promise<void>;
}
