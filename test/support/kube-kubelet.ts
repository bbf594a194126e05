/**
 * A kubelet for the test API server: it moves each created pod through Pending (scheduled, ContainerCreating)
 * to Running and on to Succeeded or Failed, running the pod's container command for real inside bubblewrap on
 * this machine — the script's ConfigMap mounted at its mountPath, the wrapper binary at its image path, the
 * container's env, uid 65532, no network, a read-only root when the container asks for one — with stdout and stderr merged into the pod log as a container
 * runtime does, stdin attachable when the container asks for it, activeDeadlineSeconds enforced (Failed,
 * DeadlineExceeded), and deletion killing the process.
 *
 * What it does not do, and tests that need it drive the status by hand instead: pull images (every image runs
 * this machine's interpreters: python3 3.11, node, bash, whatever the image tag says, plus what `binds` adds),
 * enforce the memory limit (no OOMKilled), evict.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Container, V1ContainerStatus, V1Pod, V1PodStatus } from '@kubernetes/client-node';
import type { KubeApiServer } from './kube-api-server.js';

export interface KubeletOptions {
  /** The wrapper binary (built from deploy/runtimes/wrapper) and where images have it. */
  wrapper: { hostPath: string; imagePath: string };
  /** Delay before each phase change, like a real node's latency; default 20 ms. */
  stepMs?: number;
  /** Files the images have that this machine keeps elsewhere (e.g. esbuild), bound read-only into every pod. */
  binds?: ReadonlyArray<{ src: string; dest: string }>;
  /** Directories put before the standard PATH (where `binds` put commands). */
  pathPrefix?: string;
}

interface Running {
  child: ChildProcess | null;
  dir: string | null;
  deadline: NodeJS.Timeout | undefined;
  deleted: boolean;
  deadlineExceeded: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the pods of one test API server. */
export class ProcessKubelet {
  private readonly pods = new Map<string, Running>();

  constructor(
    private readonly server: KubeApiServer,
    private readonly o: KubeletOptions,
  ) {}

  /** Takes over the server's pod hooks. */
  attach(): this {
    this.server.onPodCreated = (pod) => void this.run(pod).catch((err: unknown) => console.error('test kubelet:', err));
    this.server.onPodDeleted = (pod) => this.kill(pod);
    this.server.onAttach = (ns, name) => {
      const child = this.pods.get(`${ns}/${name}`)?.child;
      return child?.stdin ?? null;
    };
    return this;
  }

  /** Kills every process it started. */
  async stop(): Promise<void> {
    for (const r of this.pods.values()) {
      r.deleted = true;
      r.child?.kill('SIGKILL');
    }
    await Promise.all([...this.pods.values()].map((r) => (r.dir ? rm(r.dir, { recursive: true, force: true }) : undefined)));
    this.pods.clear();
  }

  private async run(pod: V1Pod): Promise<void> {
    const ns = pod.metadata!.namespace!;
    const name = pod.metadata!.name!;
    const key = `${ns}/${name}`;
    const state: Running = { child: null, dir: null, deadline: undefined, deleted: false, deadlineExceeded: false };
    this.pods.set(key, state);
    const step = this.o.stepMs ?? 20;
    const container = pod.spec!.containers[0]!;
    const base = (s: V1ContainerStatus['state']): V1ContainerStatus => ({ name: container.name, image: container.image ?? '', imageID: '', ready: false, restartCount: 0, state: s });
    const scheduled = { type: 'PodScheduled', status: 'True', lastTransitionTime: new Date() };

    await sleep(step);
    if (state.deleted) return;
    this.server.setPodStatus(ns, name, { phase: 'Pending', conditions: [scheduled], containerStatuses: [base({ waiting: { reason: 'ContainerCreating' } })] });

    const dir = await this.mountConfigMap(pod, ns);
    state.dir = dir;
    await sleep(step);
    if (state.deleted || !dir) return;

    const startedAt = new Date();
    const child = spawn('/usr/bin/bwrap', this.bwrapArgs(pod, container, dir), { stdio: [container.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    state.child = child;
    child.stdin?.on('error', () => {});
    child.stdout!.on('data', (b: Buffer) => this.server.appendLog(ns, name, b.toString('utf8')));
    child.stderr!.on('data', (b: Buffer) => this.server.appendLog(ns, name, b.toString('utf8')));
    const running: V1PodStatus = { phase: 'Running', startTime: startedAt, conditions: [scheduled], containerStatuses: [{ ...base({ running: { startedAt } }), ready: true, started: true }] };
    this.server.setPodStatus(ns, name, running);
    const deadlineS = pod.spec!.activeDeadlineSeconds;
    if (deadlineS) {
      state.deadline = setTimeout(() => {
        state.deadlineExceeded = true;
        child.kill('SIGKILL');
      }, deadlineS * 1000);
    }
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    clearTimeout(state.deadline);
    if (state.deleted) return;
    const exitCode = exit.code ?? 128 + 9;
    const terminated = { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt, finishedAt: new Date() };
    const final: V1PodStatus = {
      phase: exitCode === 0 && !state.deadlineExceeded ? 'Succeeded' : 'Failed',
      startTime: startedAt,
      conditions: [scheduled],
      containerStatuses: [base({ terminated })],
      ...(state.deadlineExceeded ? { reason: 'DeadlineExceeded', message: `Pod was active on the node longer than the specified deadline` } : {}),
    };
    this.server.setPodStatus(ns, name, final);
    await rm(dir, { recursive: true, force: true });
  }

  /** Writes the ConfigMap's items into a directory (waiting a little for the ConfigMap, as the kubelet's volume manager does). */
  private async mountConfigMap(pod: V1Pod, ns: string): Promise<string | null> {
    const volume = pod.spec!.volumes?.find((v) => v.configMap);
    if (!volume?.configMap?.name) return null;
    for (let i = 0; i < 100; i++) {
      const cm = this.server.get('configmaps', ns, volume.configMap.name);
      if (cm) {
        const dir = await mkdtemp(join(tmpdir(), 'kubelet-'));
        const data = (cm.data ?? {}) as Record<string, string>;
        for (const item of volume.configMap.items ?? Object.keys(data).map((k) => ({ key: k, path: k }))) {
          await writeFile(join(dir, item.path), data[item.key] ?? '', { mode: 0o444 });
        }
        await chmod(dir, 0o755);
        return dir;
      }
      await sleep(50);
    }
    return null;
  }

  private bwrapArgs(pod: V1Pod, container: V1Container, dir: string): string[] {
    const codeMount = container.volumeMounts?.find((m) => m.name === pod.spec!.volumes?.find((v) => v.configMap)?.name)?.mountPath ?? '/code';
    const tmpMount = container.volumeMounts?.find((m) => m.name !== undefined && pod.spec!.volumes?.find((v) => v.name === m.name)?.emptyDir)?.mountPath ?? '/tmp';
    const uid = String(container.securityContext?.runAsUser ?? pod.spec!.securityContext?.runAsUser ?? 65532);
    const env: Record<string, string> = { PATH: `${this.o.pathPrefix ? `${this.o.pathPrefix}:` : ''}/usr/local/bin:/usr/bin:/bin`, HOSTNAME: pod.metadata!.name! };
    for (const e of container.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
    return [
      '--unshare-all',
      '--die-with-parent',
      '--new-session',
      '--uid', uid,
      '--gid', uid,
      '--ro-bind', '/usr', '/usr',
      '--symlink', 'usr/bin', '/bin',
      '--symlink', 'usr/lib', '/lib',
      '--symlink', 'usr/lib64', '/lib64',
      '--symlink', 'usr/sbin', '/sbin',
      '--proc', '/proc',
      '--dev', '/dev',
      '--tmpfs', tmpMount,
      '--ro-bind', dir, codeMount,
      '--ro-bind', this.o.wrapper.hostPath, this.o.wrapper.imagePath,
      ...(this.o.binds ?? []).flatMap((b) => ['--ro-bind', b.src, b.dest]),
      ...(container.securityContext?.readOnlyRootFilesystem ? ['--remount-ro', '/'] : []),
      '--chdir', container.workingDir ?? '/',
      '--cap-drop', 'ALL',
      '--clearenv',
      ...Object.entries(env).flatMap(([k, v]) => ['--setenv', k, v]),
      '--',
      ...(container.command ?? []),
      ...(container.args ?? []),
    ];
  }

  private kill(pod: V1Pod): void {
    const r = this.pods.get(`${pod.metadata!.namespace}/${pod.metadata!.name}`);
    if (!r) return;
    r.deleted = true;
    clearTimeout(r.deadline);
    r.child?.kill('SIGKILL');
    this.server.endLog(pod.metadata!.namespace!, pod.metadata!.name!);
  }
}
