/**
 * Reads a pod's status as the backend needs it: still starting, running, ended (with what the kubelet says about
 * how), or broken in a way that is our fault (the image cannot be pulled, the container cannot be created).
 */
import type { V1ContainerStateTerminated, V1Pod } from '@kubernetes/client-node';
import type { LimitReason } from '../../system/ports/sandbox.js';
import { signalName } from '../sandbox/outcome.js';
import { CONTAINER } from './labels.js';

/** A pod's state, by what the backend does next. */
export type PodState =
  | { kind: 'pending'; scheduled: boolean; detail: string | null }
  | { kind: 'running' }
  | {
      kind: 'ended';
      /** The container's exit code as the kubelet saw it (the wrapper's, not the program's), null if it never ran. */
      exitCode: number | null;
      /** A limit the kubelet enforced (OOM kill, eviction, activeDeadlineSeconds). */
      limit: LimitReason | null;
      /** "phase/reason: message" for logs and faults. */
      detail: string;
      startedAt: Date | null;
      finishedAt: Date | null;
    }
  | { kind: 'fault'; message: string };

/** Waiting reasons that mean the pod will not start without someone fixing the cluster or the image. */
const FATAL_WAITING = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
  'CrashLoopBackOff',
]);

const date = (v: Date | string | undefined | null): Date | null => (v ? new Date(v) : null);

/** How the kubelet ended the pod, when it enforced a limit. */
function kubeletLimit(pod: V1Pod, term: V1ContainerStateTerminated | undefined): LimitReason | null {
  const reason = pod.status?.reason ?? '';
  if (reason === 'DeadlineExceeded') return 'wall_time';
  if (reason === 'Evicted') return /ephemeral|storage|emptydir/i.test(pod.status?.message ?? '') ? 'file_size' : 'memory';
  if (term?.reason === 'OOMKilled') return 'memory';
  return null;
}

/** The state of an executor pod. */
export function podState(pod: V1Pod): PodState {
  const status = pod.status ?? {};
  const container = status.containerStatuses?.find((c) => c.name === CONTAINER);
  const waiting = container?.state?.waiting;
  const term = container?.state?.terminated;
  const phase = status.phase ?? 'Pending';
  if (phase === 'Succeeded' || phase === 'Failed' || term) {
    const reason = status.reason ?? term?.reason ?? '';
    const message = status.message ?? term?.message ?? '';
    return {
      kind: 'ended',
      exitCode: term ? term.exitCode : null,
      limit: kubeletLimit(pod, term),
      detail: `${phase}${reason ? `/${reason}` : ''}${message ? `: ${message}` : ''}`,
      startedAt: date(term?.startedAt ?? status.startTime),
      finishedAt: date(term?.finishedAt),
    };
  }
  if (waiting?.reason && FATAL_WAITING.has(waiting.reason)) {
    return { kind: 'fault', message: `pod cannot start: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}` };
  }
  if (phase === 'Running' && container?.state?.running) return { kind: 'running' };
  const scheduled = status.conditions?.find((c) => c.type === 'PodScheduled');
  return {
    kind: 'pending',
    scheduled: scheduled?.status === 'True',
    detail: scheduled?.status === 'False' ? `${scheduled.reason ?? 'unschedulable'}: ${scheduled.message ?? ''}` : (waiting?.reason ?? null),
  };
}

/** The signal in a container exit code above 128 (137 → SIGKILL), or null. */
export function signalOfExitCode(code: number | null): string | null {
  return code !== null && code > 128 && code <= 192 ? signalName(code - 128) : null;
}
