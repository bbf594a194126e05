/** Namespace hardening applied when the backend starts: deny-all NetworkPolicy for executors, PSA `restricted`. */
import type { KubeApi } from './kube-api.js';
import { buildDenyAllPolicy, RESTRICTED_NAMESPACE_LABELS } from './pod-spec.js';

/** Applies both; throws (naming the step) when the cluster refuses, e.g. for want of RBAC rights. */
export async function hardenNamespace(api: KubeApi): Promise<void> {
  try {
    await api.applyNetworkPolicy(buildDenyAllPolicy(api.namespace));
  } catch (err) {
    throw new Error(`cannot apply the deny-all NetworkPolicy in namespace ${api.namespace}: ${String(err)}`, { cause: err });
  }
  try {
    await api.labelNamespace(RESTRICTED_NAMESPACE_LABELS);
  } catch (err) {
    throw new Error(`cannot set the Pod Security labels on namespace ${api.namespace}: ${String(err)}`, { cause: err });
  }
}
