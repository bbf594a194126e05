/** Connects the Kubernetes backend from the node's configuration: a kubeconfig file, or the in-cluster account. */
import { KubeConfig } from '@kubernetes/client-node';
import type { KubernetesConfig } from '../../system/config.js';
import { SandboxFault } from '../../system/ports/sandbox.js';
import { clientNodeApi } from './kube-api.js';
import { createKubernetesSandbox, type KubernetesSandbox, type KubernetesSandboxOptions } from './pod-sandbox.js';

/** What the node supplies besides the configuration. */
export type KubernetesDeps = Pick<KubernetesSandboxOptions, 'partitions' | 'cpuMillicores' | 'executionLive' | 'onError'>;

/** Loads the kubeconfig (or in-cluster config) and creates the backend in the configured namespace. */
export async function connectKubernetesSandbox(config: KubernetesConfig, deps: KubernetesDeps): Promise<KubernetesSandbox> {
  const kc = new KubeConfig();
  try {
    if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
    else kc.loadFromCluster();
  } catch (err) {
    throw new SandboxFault(`cannot load the Kubernetes config from ${config.kubeconfig ?? 'the in-cluster service account'}: ${String(err)}`, { cause: err });
  }
  if (!kc.getCurrentCluster()) throw new SandboxFault(`no current cluster in ${config.kubeconfig ?? 'the in-cluster config'}`);
  return createKubernetesSandbox({
    ...deps,
    api: clientNodeApi(kc, config.namespace),
    imagePrefix: config.imagePrefix,
    runtimeClassName: config.runtimeClassName,
    hardenNamespace: config.hardenNamespace,
  });
}
