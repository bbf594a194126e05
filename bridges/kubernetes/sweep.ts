/**
 * The orphan sweep: executor pods and ConfigMaps no run of this node is tracking, whose execution is finished or
 * unknown (or, without a way to ask, whose pod ended long enough ago that a re-attach would have claimed it).
 */
import type { V1ConfigMap, V1Pod } from '@kubernetes/client-node';
import type { KubeApi } from './kube-api.js';
import { LABELS } from './labels.js';
import { podState } from './pod-status.js';

export interface SweepOptions {
  api: KubeApi;
  selector: () => string | null;
  /** Pods this node is running or keeping (never swept). */
  tracked: (podName: string) => boolean;
  /** Whether the execution still needs its pod (not finished); null: the backend cannot tell. */
  executionLive: ((executionId: string) => Promise<boolean>) | null;
  /** Objects younger than this are left alone (a run being created, a take-over about to re-attach). */
  graceMs: number;
  now?: () => number;
}

const age = (obj: V1Pod | V1ConfigMap, now: number): number => {
  const created = obj.metadata?.creationTimestamp;
  return created ? now - new Date(created).getTime() : Number.POSITIVE_INFINITY;
};

/** One pass; returns the names of the pods and ConfigMaps it deleted. */
export async function sweepOrphans(o: SweepOptions): Promise<{ pods: string[]; configMaps: string[] }> {
  const selector = o.selector();
  if (selector === null) return { pods: [], configMaps: [] };
  const now = (o.now ?? Date.now)();
  const { items } = await o.api.listPods(selector);
  const podNames = new Set(items.map((p) => p.metadata?.name ?? ''));
  const pods: string[] = [];
  for (const pod of items) {
    const name = pod.metadata?.name ?? '';
    if (!name || o.tracked(name) || age(pod, now) < o.graceMs) continue;
    const executionId = pod.metadata?.labels?.[LABELS.execution] ?? '';
    const live = o.executionLive && executionId ? await o.executionLive(executionId) : null;
    const ended = podState(pod).kind === 'ended';
    if (live === false || (live === null && ended)) {
      if (await o.api.deletePod(name)) pods.push(name);
      podNames.delete(name);
    }
  }
  const configMaps: string[] = [];
  for (const cm of await o.api.listConfigMaps(selector)) {
    const name = cm.metadata?.name ?? '';
    if (!name || podNames.has(name) || o.tracked(name) || age(cm, now) < o.graceMs) continue;
    if (await o.api.deleteConfigMap(name)) configMaps.push(name);
  }
  return { pods, configMaps };
}
