/** A test cluster: the test API server with a process kubelet (or none), and the backend connected to it. */
import { join } from 'node:path';
import { KubeApiServer } from '../../test/support/kube-api-server.js';
import { ProcessKubelet } from '../../test/support/kube-kubelet.js';
import { buildGoStd } from '../../test/support/kube-go-std.js';
import { buildWrapper } from '../../test/support/kube-wrapper.js';
import { clientNodeApi, type KubeApi } from './kube-api.js';
import { createKubernetesSandbox, type KubernetesSandbox, type KubernetesSandboxOptions } from './pod-sandbox.js';
import { WRAPPER_PATH } from './runtime-images.js';

export const TEST_NAMESPACE = 'executors';
const ESBUILD = join(import.meta.dirname, '../../node_modules/esbuild/bin/esbuild');

export interface TestCluster {
  server: KubeApiServer;
  kubelet: ProcessKubelet | null;
  api: KubeApi;
  /** A backend on this cluster (several may share it, like the nodes of a deployment). */
  sandbox(opts?: Partial<KubernetesSandboxOptions>): Promise<KubernetesSandbox>;
  close(): Promise<void>;
}

/**
 * Starts the server; `kubelet: 'process'` runs pods for real, 'none' leaves their status to the test.
 * `goStd` also gives pods the go image's precompiled standard library (slow to build the first time).
 */
export async function startTestCluster(kubelet: 'process' | 'none' = 'process', opts: { goStd?: boolean } = {}): Promise<TestCluster> {
  const server = await new KubeApiServer([TEST_NAMESPACE]).start();
  const k =
    kubelet === 'process'
      ? new ProcessKubelet(server, {
          wrapper: { hostPath: await buildWrapper(), imagePath: WRAPPER_PATH },
          // the typescript image's esbuild: the project's own (same version), a static binary
          binds: [{ src: ESBUILD, dest: '/opt/bin/esbuild' }, ...(opts.goStd ? [{ src: await buildGoStd(), dest: '/opt/go-std' }] : [])],
          pathPrefix: '/opt/bin',
        }).attach()
      : null;
  const api = clientNodeApi(server.kubeConfig(TEST_NAMESPACE), TEST_NAMESPACE);
  const made: KubernetesSandbox[] = [];
  return {
    server,
    kubelet: k,
    api,
    async sandbox(opts = {}) {
      const sb = await createKubernetesSandbox({
        api: clientNodeApi(server.kubeConfig(TEST_NAMESPACE), TEST_NAMESPACE),
        partitions: 4,
        imagePrefix: 'registry.test/',
        runtimeClassName: null,
        cpuMillicores: () => 500,
        retryMs: 50,
        logDrainMs: 2000,
        ...opts,
      });
      made.push(sb);
      return sb;
    },
    async close() {
      await Promise.all(made.map((s) => s.close().catch(() => {})));
      await k?.stop();
      await server.close();
    },
  };
}
