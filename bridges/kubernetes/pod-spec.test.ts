import { describe, expect, it } from 'vitest';
import { schemaErrors } from '../../test/support/kube-schema.js';
import { restrictedViolations } from '../../test/support/pod-security.js';
import { resolveLimits } from '../../system/domain/limits.js';
import { FRAME_KEY_ENV } from './frames.js';
import { EXECUTOR_SELECTOR, executorSelector, LABELS, labelValue, podName } from './labels.js';
import { buildConfigMap, buildDenyAllPolicy, buildPodSpec, DEADLINE_GRACE_SECONDS, ownerReference, WRAPPER_MEMORY_BYTES, type PodInput } from './pod-spec.js';
import { RUNTIME_IMAGES, WRAPPER_PATH } from './runtime-images.js';

const input = (over: Partial<PodInput> = {}): PodInput => ({
  name: 'i8s-abc-12345678',
  namespace: 'executors',
  executionId: '0b7c5a8e-1f7e-4d3c-9a51-2f6f0f1d2c3b',
  lang: 'python',
  userId: 'user-42',
  partition: 3,
  runtime: RUNTIME_IMAGES[0]!,
  imagePrefix: 'registry.example.com/integr8s/',
  limits: resolveLimits({ wallMs: 7_500, memoryBytes: 128 * 1024 * 1024, tmpfsBytes: 32 * 1024 * 1024, outputBytes: 4096, cpuMs: 3000, fileBytes: 1024 }),
  cpuMillicores: 750,
  frameKey: 'a'.repeat(32),
  runtimeClassName: null,
  stdin: null,
  keepStdinOpen: false,
  ...over,
});

describe('buildPodSpec', () => {
  const pod = buildPodSpec(input());
  const spec = pod.spec!;
  const c = spec.containers[0]!;

  it('is hardened as the design lists', () => {
    expect(spec).toMatchObject({
      restartPolicy: 'Never',
      activeDeadlineSeconds: 8 + DEADLINE_GRACE_SECONDS,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      hostNetwork: false,
      hostPID: false,
      hostIPC: false,
      securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
    });
    expect(spec.runtimeClassName).toBeUndefined();
    expect(c.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(spec.volumes).toContainEqual({ name: 'tmp', emptyDir: { sizeLimit: String(32 * 1024 * 1024) } });
    expect(c.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
    expect(c.volumeMounts).toContainEqual({ name: 'code', mountPath: '/code', readOnly: true });
    expect(c.stdin).toBe(false);
  });

  it('takes requests and limits from the limits and the CPU setting', () => {
    const memory = String(128 * 1024 * 1024 + WRAPPER_MEMORY_BYTES);
    expect(c.resources).toEqual({
      requests: { cpu: '750m', memory },
      limits: { cpu: '750m', memory, 'ephemeral-storage': String(32 * 1024 * 1024) },
    });
  });

  it('runs the runtime command through the wrapper with the run settings in env', () => {
    expect(c.image).toBe('registry.example.com/integr8s/integr8s-runtime-python:3.11');
    expect(c.command).toEqual([WRAPPER_PATH, '--', 'python3', '-B', '/code/main.py']);
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ [FRAME_KEY_ENV]: 'a'.repeat(32), I8S_WALL_MS: '7500', I8S_CPU_MS: '3000', I8S_FILE_BYTES: '1024', I8S_OUTPUT_BYTES: '4096', HOME: '/tmp' });
    expect(env.I8S_STDIN_FILE).toBeUndefined();
  });

  it('labels the pod with execution, language, user and partition', () => {
    expect(pod.metadata!.labels).toEqual({
      [LABELS.managedBy]: 'integr8s',
      [LABELS.component]: 'executor',
      [LABELS.execution]: '0b7c5a8e-1f7e-4d3c-9a51-2f6f0f1d2c3b',
      [LABELS.language]: 'python',
      [LABELS.user]: 'user-42',
      [LABELS.partition]: '3',
    });
    expect(buildPodSpec(input({ userId: null })).metadata!.labels![LABELS.user]).toBeUndefined();
    expect(buildPodSpec(input({ userId: 'ann@example.com' })).metadata!.labels![LABELS.user]).toBe('ann-example.com');
  });

  it('sets the runtime class when asked', () => {
    expect(buildPodSpec(input({ runtimeClassName: 'gvisor' })).spec!.runtimeClassName).toBe('gvisor');
  });

  it('opens stdin for attach and mounts the start input when asked', () => {
    const p = buildPodSpec(input({ stdin: 'hello', keepStdinOpen: true }));
    const cc = p.spec!.containers[0]!;
    expect(cc).toMatchObject({ stdin: true, stdinOnce: true });
    const env = Object.fromEntries((cc.env ?? []).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ I8S_STDIN_FILE: '/code/stdin', I8S_STDIN_OPEN: '1' });
    expect(p.spec!.volumes![0]!.configMap!.items).toEqual([{ key: 'main.py', path: 'main.py' }, { key: 'stdin', path: 'stdin' }]);
    expect(buildConfigMap(input({ stdin: 'hello' }), 'print(1)').data).toEqual({ 'main.py': 'print(1)', stdin: 'hello' });
  });

  it('passes the Kubernetes schemas and the restricted Pod Security profile, for every runtime and option', async () => {
    for (const runtime of RUNTIME_IMAGES) {
      for (const over of [{}, { runtimeClassName: 'gvisor', userId: null, stdin: 'x', keepStdinOpen: true }]) {
        const p = buildPodSpec(input({ runtime, lang: runtime.lang, ...over }));
        expect(await schemaErrors(p), `${runtime.image}`).toEqual([]);
        expect(restrictedViolations(p.spec!), `${runtime.image}`).toEqual([]);
      }
    }
    expect(await schemaErrors(buildConfigMap(input(), 'print(1)'))).toEqual([]);
    expect(await schemaErrors(buildDenyAllPolicy('executors'))).toEqual([]);
  });

  it('the checks used above do catch what they are for', async () => {
    const p = buildPodSpec(input());
    const bad = structuredClone(p);
    bad.spec!.containers[0]!.securityContext!.allowPrivilegeEscalation = true;
    bad.spec!.securityContext!.runAsNonRoot = undefined;
    bad.spec!.containers[0]!.securityContext!.runAsNonRoot = undefined;
    bad.spec!.volumes!.push({ name: 'host', hostPath: { path: '/' } });
    expect(restrictedViolations(bad.spec!)).toEqual(expect.arrayContaining([expect.stringMatching(/allowPrivilegeEscalation/), expect.stringMatching(/runAsNonRoot/), expect.stringMatching(/hostPath/)]));
    const unknown = { ...structuredClone(p), spec: { ...p.spec!, bogus: true } };
    expect(await schemaErrors(unknown)).toContainEqual(expect.stringMatching(/spec\.bogus: unknown field/));
    const mistyped = structuredClone(p) as unknown as { spec: { activeDeadlineSeconds: unknown } };
    mistyped.spec.activeDeadlineSeconds = 'soon';
    expect((await schemaErrors(mistyped)).join()).toMatch(/activeDeadlineSeconds/);
  });
});

describe('the other manifests and names', () => {
  it('the deny-all policy selects executors, lists both policy types and allows nothing', () => {
    expect(buildDenyAllPolicy('ns').spec).toEqual({
      podSelector: { matchLabels: { [LABELS.managedBy]: 'integr8s', [LABELS.component]: 'executor' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [],
      egress: [],
    });
  });

  it('the ConfigMap is owned by its pod', () => {
    expect(ownerReference('p', 'uid-1')).toMatchObject({ apiVersion: 'v1', kind: 'Pod', name: 'p', uid: 'uid-1' });
  });

  it('selectors scope to partitions', () => {
    expect(executorSelector(null)).toBe(EXECUTOR_SELECTOR);
    expect(executorSelector([3, 1])).toBe(`${EXECUTOR_SELECTOR},${LABELS.partition} in (1,3)`);
  });

  it('pod names are DNS labels, unique per call', () => {
    const a = podName('0B7C5A8E-1F7E-4D3C-9A51-2F6F0F1D2C3B');
    expect(a).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
    expect(podName('x'.repeat(200)).length).toBeLessThanOrEqual(63);
    expect(podName('same')).not.toBe(podName('same'));
    expect(labelValue('--a b--')).toBe('a-b');
  });
});
