/**
 * deploy/k8s: every manifest passes the Kubernetes schemas (strict fields too); the pods are hardened; the config
 * they carry is a valid node configuration; the executor NetworkPolicy is the one the backend applies; and the
 * RBAC is exactly what the backend needs: a run through the backend on the test API server, with these rules
 * enforced, is never refused and uses every right granted.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1ConfigMap, V1Deployment, V1Job, V1Namespace, V1NetworkPolicy, V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { clientNodeApi } from '../../bridges/kubernetes/kube-api.js';
import { createKubernetesSandbox } from '../../bridges/kubernetes/pod-sandbox.js';
import { buildDenyAllPolicy, RESTRICTED_NAMESPACE_LABELS } from '../../bridges/kubernetes/pod-spec.js';
import { WRAPPER_PATH } from '../../bridges/kubernetes/runtime-images.js';
import { loadConfig } from '../../system/config.js';
import { resolveLimits } from '../../system/domain/limits.js';
import { TOPICS } from '../../system/events/topics.js';
import { KubeApiServer } from '../support/kube-api-server.js';
import { ProcessKubelet } from '../support/kube-kubelet.js';
import { rbacAuthorizer } from '../support/kube-rbac.js';
import { schemaErrors } from '../support/kube-schema.js';
import { buildWrapper } from '../support/kube-wrapper.js';
import { restrictedViolations } from '../support/pod-security.js';
import { waitFor } from '../support/wait.js';

const DIR = join(import.meta.dirname, '../../deploy/k8s');
type Doc = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } } & Record<string, unknown>;

const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();
const docs: Array<{ file: string; doc: Doc }> = files.flatMap((file) =>
  parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((d) => {
    if (d.errors.length) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
    return { file, doc: d.toJS() as Doc };
  }),
);
const one = <T>(kind: string, name?: string): T => {
  const found = docs.filter((d) => d.doc.kind === kind && (!name || d.doc.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name ?? ''}, found ${found.length}`);
  return found[0]!.doc as unknown as T;
};

describe('deploy/k8s manifests', () => {
  it('has the pieces the platform needs', () => {
    expect(docs.map((d) => d.doc.kind).sort()).toEqual(
      ['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Deployment', 'Job', 'Namespace', 'Namespace', 'NetworkPolicy', 'Role', 'RoleBinding', 'Secret', 'Service', 'ServiceAccount'].sort(),
    );
  });

  it.each(docs.map((d) => [`${d.file}: ${d.doc.kind} ${d.doc.metadata.name}`, d.doc] as const))('%s passes the Kubernetes schemas', async (_name, doc) => {
    expect(await schemaErrors(doc)).toEqual([]);
  });

  it('runs N hardened replicas under the platform ServiceAccount, and the topics Job is hardened too', () => {
    const dep = one<V1Deployment>('Deployment');
    expect(dep.spec!.replicas).toBeGreaterThanOrEqual(2);
    expect(dep.spec!.template.spec!.serviceAccountName).toBe(one<Doc>('ServiceAccount').metadata.name);
    expect(restrictedViolations(dep.spec!.template.spec!)).toEqual([]);
    expect(dep.spec!.template.spec!.containers[0]!.securityContext?.readOnlyRootFilesystem).toBe(true);
    const job = one<V1Job>('Job');
    expect(restrictedViolations(job.spec!.template.spec!)).toEqual([]);
    const env = Object.fromEntries((job.spec!.template.spec!.containers[0]!.env ?? []).map((e) => [e.name, e.value]));
    expect(env.TOPICS!.split(' ').sort()).toEqual(Object.values(TOPICS).sort());
    const svc = docs.find((d) => d.doc.kind === 'Service')!.doc as unknown as { spec: { selector: Record<string, string> } };
    expect(svc.spec.selector).toEqual(dep.spec!.selector.matchLabels);
  });

  it('carries a valid node configuration that selects the Kubernetes backend in the executor namespace', () => {
    const cm = one<V1ConfigMap>('ConfigMap');
    const secret = one<V1Secret>('Secret');
    const config = loadConfig({ ...cm.data, ...secret.stringData, KUBERNETES_SERVICE_HOST: '10.0.0.1' });
    const executors = docs.filter((d) => d.doc.kind === 'Namespace').map((d) => d.doc as unknown as V1Namespace).find((n) => n.metadata?.labels?.['pod-security.kubernetes.io/enforce'])!;
    expect(config.kubernetes?.namespace).toBe(executors.metadata!.name);
    expect(config.cluster).not.toBeNull();
    expect(executors.metadata!.labels).toMatchObject(RESTRICTED_NAMESPACE_LABELS);
  });

  it('ships the same deny-all NetworkPolicy the backend applies', () => {
    const policy = one<V1NetworkPolicy>('NetworkPolicy');
    const built = buildDenyAllPolicy(policy.metadata!.namespace!);
    expect(policy.spec).toEqual(built.spec);
    expect(policy.metadata!.name).toBe(built.metadata!.name);
  });

  it('grants no wildcard and only namespaced rights, but for the one executor namespace', () => {
    for (const d of docs.filter((x) => x.doc.kind === 'Role' || x.doc.kind === 'ClusterRole')) {
      const rules = (d.doc as unknown as { rules: Array<{ verbs: string[]; resources: string[]; resourceNames?: string[] }> }).rules;
      for (const r of rules) {
        expect(r.verbs).not.toContain('*');
        expect(r.resources).not.toContain('*');
        if (d.doc.kind === 'ClusterRole') expect(r.resourceNames).toEqual([one<V1ConfigMap>('ConfigMap').data!.K8S_NAMESPACE]);
      }
    }
  });
});

describe('deploy/k8s RBAC, enforced on the test API server while the backend works', () => {
  let server: KubeApiServer;
  let kubelet: ProcessKubelet;
  let rbac: ReturnType<typeof rbacAuthorizer>;
  const namespace = one<V1ConfigMap>('ConfigMap').data!.K8S_NAMESPACE!;

  beforeAll(async () => {
    server = await new KubeApiServer([namespace]).start();
    kubelet = new ProcessKubelet(server, { wrapper: { hostPath: await buildWrapper(), imagePath: WRAPPER_PATH } }).attach();
    const sa = one<Doc>('ServiceAccount');
    rbac = rbacAuthorizer(docs.map((d) => d.doc), { name: sa.metadata.name, namespace: sa.metadata.namespace! });
    server.authorize = rbac.authorize;
  }, 300_000);
  afterAll(async () => {
    await kubelet.stop();
    await server.close();
  });

  it('is never refused and every right is used', async () => {
    const make = () =>
      createKubernetesSandbox({ api: clientNodeApi(server.kubeConfig(namespace), namespace), partitions: 4, imagePrefix: '', runtimeClassName: null, cpuMillicores: () => 500, retryMs: 50, sweepEveryMs: 0, orphanGraceMs: 0, executionLive: async () => false });
    const a = await make();
    const b = await make(); // a second node re-applies the policy (get + update)
    const spec = { lang: 'bash' as const, langVersion: '5.2', limits: resolveLimits({ wallMs: 20_000 }) };
    const done = await a.start({ ...spec, executionId: 'rbac-1', script: 'echo hello' });
    expect((await a.watch(done)).stdout).toBe('hello\n');
    const typed = await a.start({ ...spec, executionId: 'rbac-2', script: 'read line; echo "got $line"', keepStdinOpen: true });
    const typedOutcome = a.watch(typed);
    await a.write(typed, 'it\n', true);
    expect((await typedOutcome).stdout).toBe('got it\n');
    const long = await a.start({ ...spec, executionId: 'rbac-3', script: 'echo up; sleep 60' });
    let seen = '';
    const longOutcome = a.watch(long, (c) => (seen += c.text));
    await waitFor(() => seen.includes('up'), { timeoutMs: 20_000, message: 'running' });
    expect(await b.reattach(long)).toEqual(long); // a node taking over reads the pod
    await a.stop(long);
    expect((await longOutcome).stopped).toBe(true);
    await b.sweep();
    await Promise.all([a.close(), b.close()]);
    expect(server.denied).toEqual([]);
    // 'pods/attach get' is granted for API servers before 1.30, which authorised WebSocket attach as get
    const unused = [...rbac.granted].filter((g) => !rbac.used.has(g) && g !== 'pods/attach get');
    expect(unused).toEqual([]);
  }, 120_000);
});
