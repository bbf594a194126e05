/** Names, labels and selectors of the Kubernetes objects the sandbox backend owns. */
import { randomBytes } from 'node:crypto';

/** Label keys set on every executor pod and ConfigMap. */
export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  component: 'app.kubernetes.io/component',
  execution: 'integr8s.io/execution-id',
  language: 'integr8s.io/language',
  user: 'integr8s.io/user',
  partition: 'integr8s.io/partition',
} as const;

/** Values of the fixed labels: what marks an object as an executor of this platform. */
export const MANAGED_BY = 'integr8s';
export const EXECUTOR = 'executor';

/** The container's name in every executor pod. */
export const CONTAINER = 'run';

/** Selects every executor object of the platform (what the deny-all NetworkPolicy and the sweep match). */
export const EXECUTOR_SELECTOR = `${LABELS.managedBy}=${MANAGED_BY},${LABELS.component}=${EXECUTOR}`;

/** Executor objects of the given partitions; null partitions means all of them. */
export function executorSelector(partitions: readonly number[] | null): string {
  if (partitions === null) return EXECUTOR_SELECTOR;
  return `${EXECUTOR_SELECTOR},${LABELS.partition} in (${[...partitions].sort((a, b) => a - b).join(',')})`;
}

/** A label value from any text: at most 63 of [A-Za-z0-9_.-], starting and ending alphanumeric ("" if none). */
export function labelValue(text: string): string {
  const cleaned = text.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 63);
  return cleaned.replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9]+$/, '');
}

/** A fresh pod name for one run of an execution: a DNS label (≤ 63), unique per attempt. */
export function podName(executionId: string): string {
  const id = executionId.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '').slice(0, 44);
  return `i8s-${id || 'run'}-${randomBytes(4).toString('hex')}`;
}
