/**
 * One run in one pod, from creation (or re-attachment) to outcome: fed the pod's changes by the informer, it
 * follows the pod's log once the container runs (re-reading it from the start if the stream drops, duplicates
 * skipped by frame number), turns the frames into live output, and settles the outcome when the pod has ended
 * or was deleted; then it deletes the pod and its ConfigMap.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { Limits } from '../../system/domain/limits.js';
import { SandboxFault, type OutputChunk, type SandboxHandle, type SandboxOutcome } from '../../system/ports/sandbox.js';
import { CappedOutput } from '../sandbox/output.js';
import { FrameParser } from './frames.js';
import type { KubeApi } from './kube-api.js';
import { outcomeOf } from './outcome.js';
import { podState, type PodState } from './pod-status.js';
import { PodStdin } from './stdin.js';

export interface PodRunOptions {
  api: KubeApi;
  handle: SandboxHandle;
  frameKey: string;
  /** What the run checks the wrapper's report against (the pod enforces the rest). */
  limits: Pick<Limits, 'cpuMs' | 'outputBytes'>;
  /** A pod still not running after this long is given up as a fault (unschedulable, image pull hanging). */
  startTimeoutMs: number;
  /** How long to wait for the log stream to end once the pod has ended. */
  logDrainMs: number;
  /** The program's stdin stays open for write() (SandboxSpec.keepStdinOpen). */
  keepStdinOpen: boolean;
  onError: (err: unknown, what: string) => void;
}

type Ended = Extract<PodState, { kind: 'ended' }>;

/** The lifecycle of one executor pod. */
export class PodRun {
  readonly outcome: Promise<SandboxOutcome>;
  private resolve!: (o: SandboxOutcome) => void;
  private reject!: (e: unknown) => void;
  private readonly parser: FrameParser;
  private readonly stdout: CappedOutput;
  private readonly stderr: CappedOutput;
  private readonly listeners = new Set<(chunk: OutputChunk) => void>();
  private readonly createdAt = Date.now();
  private log: { stop: () => void; ended: Promise<void> } | null = null;
  private ended: Ended | null = null;
  private stopRequested = false;
  /** A delete request is in flight / was accepted by the API (a refused one may be tried again). */
  private deleting = false;
  private deleteAccepted = false;
  private settling = false;
  private done = false;
  /** Let go of by detach(): the outcome never settles here. */
  detached = false;
  private startTimer: NodeJS.Timeout | undefined;
  private markRunning!: (running: boolean) => void;
  private readonly runningOnce = new Promise<boolean>((resolve) => (this.markRunning = resolve));
  /** The input channel, when the run keeps stdin open; null otherwise (input ended at start). */
  readonly stdin: PodStdin | null;

  constructor(private readonly o: PodRunOptions) {
    this.outcome = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.outcome.catch(() => {}); // watchers get the rejection; nobody watching is not an unhandled error
    const tell = (stream: OutputChunk['stream']) => (text: string) => {
      for (const l of this.listeners) l({ stream, text });
    };
    this.stdout = new CappedOutput(o.limits.outputBytes, tell('stdout'));
    this.stderr = new CappedOutput(o.limits.outputBytes, tell('stderr'));
    this.parser = new FrameParser(o.frameKey, (e) => {
      if (e.kind === 'output') (e.stream === 'stdout' ? this.stdout : this.stderr).push(e.bytes);
    });
    this.startTimer = setTimeout(() => {
      if (!this.log && !this.ended) void this.fail(new SandboxFault(`pod ${this.name} did not start within ${o.startTimeoutMs} ms`));
    }, o.startTimeoutMs);
    this.startTimer.unref();
    this.stdin = o.keepStdinOpen ? new PodStdin(o.api, o.handle.id, () => this.runningOnce) : null;
  }

  get name(): string {
    return this.o.handle.id;
  }

  get handle(): SandboxHandle {
    return this.o.handle;
  }

  get isDone(): boolean {
    return this.done;
  }

  /** Resolves true once the container runs, false if the run ended before (then see outcome). */
  started(): Promise<boolean> {
    return this.runningOnce;
  }

  /** Live output from now on; returns the unsubscribe function. */
  subscribe(listener: (chunk: OutputChunk) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The pod changed (from the informer, or read directly on re-attach). */
  onPod(pod: V1Pod): void {
    if (this.done) return;
    const state = podState(pod);
    switch (state.kind) {
      case 'pending':
        return;
      case 'running':
        this.follow();
        return;
      case 'ended':
        this.ended = state;
        void this.settle();
        return;
      case 'fault':
        void this.fail(new SandboxFault(state.message));
        return;
    }
  }

  /** The pod is gone. */
  onDeleted(): void {
    if (this.done || this.ended) return;
    if (this.stopRequested) void this.settle();
    else void this.fail(new SandboxFault(`pod ${this.name} was deleted before it ended`));
  }

  /**
   * Ends the run: deletes the pod (idempotent; nothing happens once the run has ended or the delete was accepted).
   * A delete the API refused or never answered is tried again by the next stop() (the saga's deadline asks again).
   */
  async stop(): Promise<void> {
    if (this.done || this.ended || this.deleting || this.deleteAccepted) return;
    this.stopRequested = true;
    this.deleting = true;
    try {
      await this.o.api.deletePod(this.name);
      this.deleteAccepted = true;
    } catch (err) {
      this.o.onError(err, `delete pod ${this.name}`);
    } finally {
      this.deleting = false;
    }
    // the informer normally reports the deletion; if it cannot (a dropped watch), look once
    const check = setTimeout(() => {
      if (this.done || this.ended) return;
      void this.o.api.readPod(this.name).then((pod) => (pod ? undefined : this.onDeleted()), () => undefined);
    }, 2000);
    check.unref();
  }

  /**
   * Lets go of the run without touching the pod (its partition moved to another node, which re-attaches): the
   * log is no longer followed and the pod and ConfigMap stay. Watchers are not told anything: their actors are
   * being stopped with the partition, and a failure reaching them first would end the execution as an error.
   */
  detach(): void {
    if (this.done) return;
    this.done = true;
    this.detached = true;
    this.markRunning(false);
    clearTimeout(this.startTimer);
    this.log?.stop();
    this.listeners.clear();
    this.stdin?.dispose();
  }

  /** Settles the run as stopped now, whatever the cluster says later (the backend is closing). */
  async abandon(): Promise<void> {
    await this.stop();
    if (!this.done) await this.settle();
  }

  private follow(): void {
    if (this.log || this.done) return;
    this.markRunning(true);
    this.parser.restart();
    const pending = { stop: () => {}, ended: Promise.resolve() };
    this.log = pending;
    this.o.api.streamLog(this.name, true, (text) => this.parser.push(text)).then(
      (stream) => {
        this.log = stream;
        if (this.done) stream.stop();
        void stream.ended.then(() => this.logEnded());
      },
      (err: unknown) => {
        this.o.onError(err, `follow the log of ${this.name}`);
        this.logEnded();
      },
    );
  }

  /** A log stream ended: at the pod's end that is expected; while it runs, follow again from the start. */
  private logEnded(): void {
    if (this.done || this.ended || this.stopRequested || this.parser.report) return;
    setTimeout(() => {
      this.log = null;
      if (!this.done && !this.ended) this.follow();
    }, 200).unref();
  }

  private async settle(): Promise<void> {
    if (this.settling || this.done) return;
    this.settling = true;
    clearTimeout(this.startTimer);
    if (this.log && !this.stopRequested) {
      await Promise.race([this.log.ended, new Promise((r) => setTimeout(r, this.o.logDrainMs).unref())]);
    }
    if (this.ended && !this.parser.report && !this.parser.corrupt && !this.stopRequested) await this.readWholeLog();
    this.log?.stop();
    this.stdout.end();
    this.stderr.end();
    const observedWallMs =
      this.ended?.startedAt && this.ended.finishedAt ? this.ended.finishedAt.getTime() - this.ended.startedAt.getTime() : Date.now() - this.createdAt;
    let settleWith: () => void;
    try {
      const outcome = outcomeOf({
        report: this.parser.report,
        ended: this.ended,
        stopped: this.stopRequested,
        corrupt: this.parser.corrupt,
        stdout: this.stdout.text(),
        stderr: this.stderr.text(),
        stdoutTruncated: this.stdout.truncated,
        stderrTruncated: this.stderr.truncated,
        limits: this.o.limits,
        observedWallMs: Math.max(0, observedWallMs),
      });
      settleWith = () => this.resolve(outcome);
    } catch (err) {
      settleWith = () => this.reject(err);
    }
    this.finish(settleWith);
    await this.cleanUp();
  }

  /** Reads the ended pod's log once more from the start (the follow stream may have missed its end). */
  private async readWholeLog(): Promise<void> {
    try {
      this.parser.restart();
      const stream = await this.o.api.streamLog(this.name, false, (text) => this.parser.push(text));
      await Promise.race([stream.ended, new Promise((r) => setTimeout(r, this.o.logDrainMs).unref())]);
      stream.stop();
    } catch (err) {
      this.o.onError(err, `read the log of ${this.name}`);
    }
  }

  private async fail(err: unknown): Promise<void> {
    if (this.done) return;
    clearTimeout(this.startTimer);
    this.log?.stop();
    this.finish(() => this.reject(err));
    await this.cleanUp();
  }

  private finish(settle: () => void): void {
    if (this.done) return;
    this.done = true;
    this.markRunning(false);
    this.stdin?.dispose();
    this.listeners.clear();
    settle();
  }

  private async cleanUp(): Promise<void> {
    const { api } = this.o;
    await Promise.all([
      api.deletePod(this.name).catch((err: unknown) => this.o.onError(err, `delete pod ${this.name}`)),
      api.deleteConfigMap(this.name).catch((err: unknown) => this.o.onError(err, `delete configmap ${this.name}`)),
    ]);
  }
}
