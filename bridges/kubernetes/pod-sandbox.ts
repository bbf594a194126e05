/**
 * The Kubernetes sandbox backend: one hardened pod per run (its script in a ConfigMap owned by the pod), watched
 * by one informer per node scoped to the partitions the node owns, logs followed for live output, pod and
 * ConfigMap deleted afterwards, orphans swept. See docs/kubernetes.md.
 */
import { randomBytes } from 'node:crypto';
import type { Limits } from '../../system/domain/limits.js';
import { partitionOf } from '../../system/domain/partition.js';
import { SandboxFault, watchRun, type OutputChunk, type Sandbox, type SandboxHandle, type SandboxOutcome, type SandboxSpec } from '../../system/ports/sandbox.js';
import { FRAME_KEY_ENV } from './frames.js';
import { PodInformer } from './informer.js';
import type { KubeApi } from './kube-api.js';
import { CONTAINER, executorSelector, LABELS, labelValue, podName } from './labels.js';
import { hardenNamespace } from './namespace.js';
import { PodRun } from './pod-run.js';
import { buildConfigMap, buildPodSpec, MAX_SCRIPT_BYTES, ownerReference, type PodInput } from './pod-spec.js';
import { ImageCatalogue, RUNTIME_IMAGES, type RuntimeImage } from './runtime-images.js';
import { sweepOrphans } from './sweep.js';

/** The backend's name in handles. */
export const KUBERNETES_BACKEND = 'kubernetes';

/** Settings of the Kubernetes backend. */
export interface KubernetesSandboxOptions {
  api: KubeApi;
  /** The event log's partition count: a pod's partition label is partitionOf(execution id, partitions). */
  partitions: number;
  /** Registry prefix of the runtime images ("" for none). */
  imagePrefix: string;
  runtimeClassName: string | null;
  /** CPU request and limit of a pod, in millicores (admin settings). */
  cpuMillicores: () => number;
  /** Apply the deny-all NetworkPolicy and the Pod Security labels at start; default true. */
  hardenNamespace?: boolean;
  images?: readonly RuntimeImage[];
  /** A pod not running after this long is a fault; default 2 minutes. */
  startTimeoutMs?: number;
  /** How long to wait for an ended pod's log to be complete; default 5 s. */
  logDrainMs?: number;
  /** How long an ended run stays watchable and re-attachable here; default 5 minutes. */
  retainMs?: number;
  /** Period of the orphan sweep (0: none); default 1 minute. */
  sweepEveryMs?: number;
  /** Pods and ConfigMaps younger than this are never swept; default 5 minutes. */
  orphanGraceMs?: number;
  /** Whether an execution still needs its pod; lets the sweep delete pods of finished executions. */
  executionLive?: (executionId: string) => Promise<boolean>;
  /** The informer's pause before re-listing or re-watching after an error; default 1 s. */
  retryMs?: number;
  onError?: (err: unknown, what: string) => void;
}

/** The Kubernetes backend is a Sandbox whose informer can be narrowed to the partitions this node owns. */
export interface KubernetesSandbox extends Sandbox {
  scope(partitions: readonly number[] | null): void;
  /** One orphan sweep now (it also runs periodically). */
  sweep(): Promise<{ pods: string[]; configMaps: string[] }>;
  readonly informer: PodInformer;
}

/** Creates the backend: hardens the namespace, lists executor pods, starts the informer and the sweep. */
export async function createKubernetesSandbox(opts: KubernetesSandboxOptions): Promise<KubernetesSandbox> {
  if (opts.hardenNamespace ?? true) {
    await hardenNamespace(opts.api).catch((err: unknown) => {
      throw new SandboxFault(String(err instanceof Error ? err.message : err), { cause: err });
    });
  }
  const backend = new PodSandbox(opts);
  await backend.begin();
  return backend;
}

class PodSandbox implements KubernetesSandbox {
  readonly backend = KUBERNETES_BACKEND;
  /** A pod runs on without its watcher: the partition's next owner, on any node, re-attaches to it. */
  readonly reattachableElsewhere = true;
  readonly runtimes: ImageCatalogue;
  readonly informer: PodInformer;
  private readonly runs = new Map<string, PodRun>();
  private partitionScope: readonly number[] | null = null;
  private sweeper: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly onError: (err: unknown, what: string) => void;

  constructor(private readonly o: KubernetesSandboxOptions) {
    this.runtimes = new ImageCatalogue(o.images ?? RUNTIME_IMAGES);
    this.onError = o.onError ?? (() => {});
    this.informer = new PodInformer(
      o.api,
      (change) => {
        const run = this.runs.get(change.pod.metadata?.name ?? '');
        if (!run) return;
        if (change.type === 'upsert') run.onPod(change.pod);
        else run.onDeleted();
      },
      { retryMs: o.retryMs ?? 1000, onError: this.onError },
    );
  }

  async begin(): Promise<void> {
    this.informer.setSelector(executorSelector(null));
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new SandboxFault(`cannot list pods in namespace ${this.o.api.namespace}`)), this.o.startTimeoutMs ?? 30_000).unref(),
    );
    try {
      await Promise.race([this.informer.synced(), timeout]);
    } catch (err) {
      this.informer.stop();
      throw err;
    }
    const every = this.o.sweepEveryMs ?? 60_000;
    if (every > 0) this.sweeper = setInterval(() => void this.sweep().catch((err: unknown) => this.onError(err, 'orphan sweep')), every).unref();
  }

  scope(partitions: readonly number[] | null): void {
    this.partitionScope = partitions === null ? null : [...new Set(partitions)];
    if (this.closed) return;
    const owned = this.partitionScope === null ? null : new Set(this.partitionScope);
    for (const [name, run] of this.runs) {
      const partition = partitionOf(run.handle.executionId, this.o.partitions);
      if (owned === null || owned.has(partition)) continue;
      // its pods leave the informer's view, which is not a deletion: the new owner re-attaches to them
      this.runs.delete(name);
      run.detach();
    }
    this.informer.setSelector(this.partitionScope !== null && this.partitionScope.length === 0 ? null : executorSelector(this.partitionScope));
  }

  async start(spec: SandboxSpec): Promise<SandboxHandle> {
    if (this.closed) throw new SandboxFault('sandbox backend is closed');
    const runtime = this.runtimes.resolve(spec.lang, spec.langVersion);
    if (!runtime) throw new SandboxFault(`runtime ${spec.lang} ${spec.langVersion} has no image here`);
    if (Buffer.byteLength(spec.script) > MAX_SCRIPT_BYTES) throw new SandboxFault(`script larger than ${MAX_SCRIPT_BYTES} bytes cannot go in a ConfigMap`);
    const name = podName(spec.executionId);
    const frameKey = randomBytes(16).toString('hex');
    const input: PodInput = {
      name,
      namespace: this.o.api.namespace,
      executionId: spec.executionId,
      lang: spec.lang,
      userId: spec.userId ?? null,
      partition: partitionOf(spec.executionId, this.o.partitions),
      runtime,
      imagePrefix: this.o.imagePrefix,
      limits: spec.limits,
      cpuMillicores: this.o.cpuMillicores(),
      frameKey,
      runtimeClassName: this.o.runtimeClassName,
      stdin: spec.stdin ?? null,
      keepStdinOpen: spec.keepStdinOpen ?? false,
    };
    const handle: SandboxHandle = { backend: KUBERNETES_BACKEND, id: name, executionId: spec.executionId, startedAt: new Date().toISOString() };
    const run = this.track(handle, frameKey, spec.limits, input.keepStdinOpen);
    try {
      await this.o.api.createConfigMap(buildConfigMap(input, spec.script));
      const pod = await this.o.api.createPod(buildPodSpec(input));
      const uid = pod.metadata?.uid;
      if (uid) {
        await this.o.api.setConfigMapOwner(name, ownerReference(name, uid)).catch((err: unknown) => this.onError(err, `own configmap ${name}`));
      }
      const seen = this.informer.get(name);
      if (seen) run.onPod(seen);
    } catch (err) {
      this.runs.delete(name);
      await Promise.all([this.o.api.deletePod(name).catch(() => false), this.o.api.deleteConfigMap(name).catch(() => false)]);
      throw new SandboxFault(`cannot create pod ${name}: ${String(err instanceof Error ? err.message : err)}`, { cause: err });
    }
    // the port's start() returns once the program runs: scheduling and image pulls are not the program's wall time
    if (!(await run.started())) {
      if (run.detached) throw new SandboxFault(`pod ${name} started while its partition moved to another node`);
      await run.outcome.catch((err: unknown) => {
        throw err instanceof SandboxFault ? err : new SandboxFault(String(err), { cause: err });
      });
    }
    return handle;
  }

  async watch(handle: SandboxHandle, onOutput?: (chunk: OutputChunk) => void): Promise<SandboxOutcome> {
    const run = handle.backend === KUBERNETES_BACKEND ? this.runs.get(handle.id) : undefined;
    if (!run) throw new SandboxFault(`unknown sandbox ${handle.backend}/${handle.id}`);
    return watchRun(run, onOutput);
  }

  /** Stops a run of this node; a pod no run here tracks (its run was not re-attached) is deleted by name. */
  async stop(handle: SandboxHandle): Promise<void> {
    if (handle.backend !== KUBERNETES_BACKEND) return;
    const run = this.runs.get(handle.id);
    if (run) return run.stop();
    await this.o.api.deletePod(handle.id).catch((err: unknown) => this.onError(err, `delete pod ${handle.id}`));
  }

  async write(handle: SandboxHandle, data: string, eof: boolean): Promise<void> {
    const run = handle.backend === KUBERNETES_BACKEND ? this.runs.get(handle.id) : undefined;
    if (!run) throw new SandboxFault(`unknown sandbox ${handle.backend}/${handle.id}`);
    if (run.isDone || !run.stdin) return;
    await run.stdin.write(data, eof);
  }

  async reattach(handle: SandboxHandle): Promise<SandboxHandle | null> {
    if (handle.backend !== KUBERNETES_BACKEND || this.closed) return null;
    if (this.runs.has(handle.id)) return handle;
    let pod;
    try {
      pod = await this.o.api.readPod(handle.id);
    } catch (err) {
      throw new SandboxFault(`cannot read pod ${handle.id}: ${String(err)}`, { cause: err });
    }
    if (!pod || pod.metadata?.deletionTimestamp) return null;
    const labels = pod.metadata?.labels ?? {};
    if (labels[LABELS.execution] !== labelValue(handle.executionId)) return null;
    const container = pod.spec?.containers.find((c) => c.name === CONTAINER);
    const frameKey = container?.env?.find((e) => e.name === FRAME_KEY_ENV)?.value;
    const limits = limitsFromPod(container?.env ?? []);
    if (!frameKey || !limits) return null;
    if (this.runs.has(handle.id)) return handle;
    const keepStdinOpen = container?.env?.some((e) => e.name === 'I8S_STDIN_OPEN' && e.value === '1') ?? false;
    const run = this.track(handle, frameKey, limits, keepStdinOpen);
    run.onPod(this.informer.get(handle.id) ?? pod);
    return handle;
  }

  async ready(): Promise<{ ok: boolean; detail: string }> {
    if (this.closed) return { ok: false, detail: 'closed' };
    try {
      await this.o.api.readNamespace();
    } catch (err) {
      return { ok: false, detail: `cannot reach namespace ${this.o.api.namespace}: ${String(err)}` };
    }
    const scope = this.partitionScope === null ? 'all partitions' : `partitions ${this.partitionScope.join(',') || 'none'}`;
    const running = [...this.runs.values()].filter((r) => !r.isDone).length;
    return { ok: true, detail: `kubernetes namespace ${this.o.api.namespace}; watching ${scope}; running: ${running}` };
  }

  async sweep(): Promise<{ pods: string[]; configMaps: string[] }> {
    return sweepOrphans({
      api: this.o.api,
      selector: () => (this.partitionScope !== null && this.partitionScope.length === 0 ? null : executorSelector(this.partitionScope)),
      tracked: (name) => this.runs.has(name),
      executionLive: this.o.executionLive ?? null,
      graceMs: this.o.orphanGraceMs ?? 5 * 60_000,
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    const runs = [...this.runs.values()].filter((r) => !r.isDone);
    await Promise.all(runs.map((r) => r.abandon()));
    this.informer.stop();
    this.runs.clear();
  }

  /** Keeps a run watchable until retainMs after it ended. */
  private track(handle: SandboxHandle, frameKey: string, limits: Pick<Limits, 'cpuMs' | 'outputBytes'>, keepStdinOpen: boolean): PodRun {
    const run = new PodRun({
      api: this.o.api,
      handle,
      frameKey,
      limits,
      keepStdinOpen,
      startTimeoutMs: this.o.startTimeoutMs ?? 120_000,
      logDrainMs: this.o.logDrainMs ?? 5_000,
      onError: this.onError,
    });
    this.runs.set(handle.id, run);
    const forget = (): void => {
      setTimeout(() => this.runs.get(handle.id) === run && this.runs.delete(handle.id), this.o.retainMs ?? 5 * 60_000).unref();
    };
    run.outcome.then(forget, forget);
    return run;
  }
}

/** The limits a pod was started with, read back from its env (for a run re-attached on another node). */
function limitsFromPod(env: ReadonlyArray<{ name: string; value?: string }>): Pick<Limits, 'cpuMs' | 'outputBytes'> | null {
  const num = (name: string): number | null => {
    const v = Number(env.find((e) => e.name === name)?.value);
    return Number.isFinite(v) && v > 0 ? v : null;
  };
  const cpuMs = num('I8S_CPU_MS');
  const outputBytes = num('I8S_OUTPUT_BYTES');
  return cpuMs === null || outputBytes === null ? null : { cpuMs, outputBytes };
}
