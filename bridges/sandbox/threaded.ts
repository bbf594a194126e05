/**
 * The bwrap backend run in a worker thread, behind the same Sandbox port. Spawning a launcher forks the whole
 * node process and blocks the forking thread for milliseconds; cgroup and pipe work add to it. Here all of that
 * happens in the worker (sandbox-worker.ts), and the caller's thread only passes messages (worker-messages.ts).
 */
import { Worker } from 'node:worker_threads';
import type { RuntimeCatalogue } from '../../system/domain/runtimes.js';
import { SandboxFault, type OutputChunk, type Sandbox, type SandboxHandle, type SandboxOutcome, type SandboxSpec } from '../../system/ports/sandbox.js';
import { BWRAP_BACKEND, type BwrapSandboxOptions } from './bwrap.js';
import { ownerTag, removeRunCgroups } from './cgroup-owner.js';
import type { CgroupLayout } from './cgroups.js';
import { catalogueOf, fromWire, type WorkerReply, type WorkerRequest, type WorkerResults } from './worker-messages.js';

/** Options of the threaded backend: those of the bwrap backend that can be copied to another thread. */
export type ThreadedBwrapOptions = Omit<BwrapSandboxOptions, 'spawn' | 'runtimeSpecs'>;

/** Starts a worker thread hosting createBwrapSandbox(opts); rejects with SandboxFault when the backend cannot start. */
export async function createThreadedBwrapSandbox(opts: ThreadedBwrapOptions): Promise<Sandbox> {
  const worker = startWorker(opts);
  const first = await firstReply(worker).catch(async (error: unknown) => {
    await worker.terminate();
    throw error;
  });
  if (first.type !== 'up') {
    await worker.terminate();
    throw first.type === 'down' ? fromWire(first.error) : new SandboxFault(`sandbox worker sent ${first.type} before starting`);
  }
  const owner = ownerTag();
  const layout = owner ? { mount: opts.cgroupMount ?? '/sys/fs/cgroup', root: opts.cgroupRoot ?? 'integr8s', owner } : null;
  return new ThreadedSandbox(worker, catalogueOf(first.runtimes), layout);
}

/** The worker's first message (up or down); rejects with SandboxFault when it dies first. */
function firstReply(worker: Worker): Promise<WorkerReply> {
  return new Promise<WorkerReply>((resolve, reject) => {
    const onMessage = (reply: WorkerReply): void => done(() => resolve(reply));
    const onError = (error: Error): void => done(() => reject(new SandboxFault(`sandbox worker failed to start: ${error.message}`, { cause: error })));
    const onExit = (code: number): void => done(() => reject(new SandboxFault(`sandbox worker exited with code ${code} before starting`)));
    const done = (settle: () => void): void => {
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      settle();
    };
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
  });
}

/** Data the worker finds in workerData. */
export interface SandboxWorkerData {
  opts: ThreadedBwrapOptions;
}

/**
 * Starts the worker on sandbox-worker, next to this file. Compiled, that is a .js file; from source it is .ts, and
 * a worker does not get the TypeScript loader from its execArgv on Node 20 (`--import tsx` is not applied to a
 * worker's entry), so a small script loads the entry through tsx's API, resolved from here, not from the cwd.
 */
function startWorker(opts: ThreadedBwrapOptions): Worker {
  const workerData: SandboxWorkerData = { opts };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./sandbox-worker.js', import.meta.url), { workerData });
  const entry = new URL('./sandbox-worker.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const load = `import(${JSON.stringify(tsx)}).then((tsx) => tsx.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(entry)}));`;
  return new Worker(load, { eval: true, workerData });
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  onOutput?: (chunk: OutputChunk) => void;
}

class ThreadedSandbox implements Sandbox {
  readonly backend = BWRAP_BACKEND;
  /** A run lives in this process: no other node can reach it, so a passivating watcher stops it. */
  readonly reattachableElsewhere = false;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Runs started and not yet seen to end: what to kill should the worker die. */
  private readonly live = new Set<string>();
  /** Set once close() began, or the worker died (with why). */
  private down: string | null = null;

  constructor(
    private readonly worker: Worker,
    readonly runtimes: RuntimeCatalogue,
    private readonly layout: CgroupLayout | null,
  ) {
    worker.on('message', (reply: WorkerReply) => this.receive(reply));
    worker.on('error', (error) => this.lost(`sandbox worker failed: ${error.message}`));
    worker.on('exit', (code) => this.lost(`sandbox worker exited with code ${code}`));
    worker.unref(); // only calls under way keep the process alive (see call)
  }

  async start(spec: SandboxSpec): Promise<SandboxHandle> {
    const handle = await this.call({ type: 'start', spec });
    this.live.add(handle.id);
    return handle;
  }

  async watch(handle: SandboxHandle, onOutput?: (chunk: OutputChunk) => void): Promise<SandboxOutcome> {
    const outcome = await this.call({ type: 'watch', handle, live: onOutput !== undefined }, onOutput);
    this.live.delete(handle.id);
    return outcome;
  }

  async stop(handle: SandboxHandle): Promise<void> {
    if (this.down) return; // close() stopped every run, or they were killed when the worker died
    await this.call({ type: 'stop', handle });
    this.live.delete(handle.id);
  }

  async write(handle: SandboxHandle, data: string, eof: boolean): Promise<void> {
    await this.call({ type: 'write', handle, data, eof });
  }

  async reattach(handle: SandboxHandle): Promise<SandboxHandle | null> {
    if (this.down || handle.backend !== BWRAP_BACKEND) return null;
    return this.call({ type: 'reattach', handle });
  }

  async ready(): Promise<{ ok: boolean; detail: string }> {
    if (this.down) return { ok: false, detail: this.down };
    const r = await this.call({ type: 'ready' });
    return { ok: r.ok, detail: `${r.detail} (worker thread)` };
  }

  async close(): Promise<void> {
    if (this.down) return;
    this.down = 'closed';
    try {
      await this.call({ type: 'close' }, undefined, true);
    } finally {
      await this.worker.terminate();
    }
  }

  /** Sends one request and resolves with its reply; the worker is kept referenced while calls are under way. */
  private call<T extends WorkerRequest['type']>(
    req: { type: T } & Omit<Extract<WorkerRequest, { type: T }>, 'id' | 'type'>,
    onOutput?: (chunk: OutputChunk) => void,
    closing = false,
  ): Promise<WorkerResults[T]> {
    if (this.down && !closing) return Promise.reject(new SandboxFault(this.down === 'closed' ? 'sandbox backend is closed' : this.down));
    const id = this.nextId++;
    return new Promise<WorkerResults[T]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onOutput });
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ ...req, id } as WorkerRequest);
    });
  }

  private receive(reply: WorkerReply): void {
    if (reply.type === 'up' || reply.type === 'down') return;
    const p = this.pending.get(reply.id);
    if (!p) return;
    if (reply.type === 'output') {
      p.onOutput?.(reply.chunk);
      return;
    }
    this.settled(reply.id);
    if (reply.type === 'result') p.resolve(reply.value);
    else p.reject(fromWire(reply.error));
  }

  private settled(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
  }

  /**
   * The worker is gone: every call under way fails with a SandboxFault, and so will later ones. Runs it left are
   * killed through their cgroups (bwrap's --die-with-parent is tied to the process, which lives on); the spare
   * cgroups stay until the next start removes them as stale.
   */
  private lost(why: string): void {
    if (!this.down) {
      this.down = why;
      if (this.layout) void removeRunCgroups(this.layout, [...this.live]);
    }
    const fault = new SandboxFault(this.down === 'closed' ? 'sandbox backend is closed' : why);
    for (const [id, p] of [...this.pending]) {
      this.settled(id);
      p.reject(fault);
    }
  }
}
