/**
 * The manifests the Kubernetes backend creates, as pure functions: the script's ConfigMap, the hardened executor
 * pod, the owner reference that ties the ConfigMap to its pod, and the namespace hardening (deny-all
 * NetworkPolicy, Pod Security Admission labels). See docs/kubernetes.md.
 */
import type { V1ConfigMap, V1NetworkPolicy, V1OwnerReference, V1Pod } from '@kubernetes/client-node';
import type { Limits } from '../../system/domain/limits.js';
import type { Language } from '../../system/domain/runtimes.js';
import { FRAME_KEY_ENV } from './frames.js';
import { CONTAINER, EXECUTOR, LABELS, MANAGED_BY, labelValue } from './labels.js';
import { CODE_DIR, WRAPPER_PATH, type RuntimeImage } from './runtime-images.js';

/** The unprivileged uid and gid every executor runs as (the images' "nonroot" user). */
export const EXECUTOR_UID = 65532;
/** The wrapper's own memory, added to the program's limit in the container's memory limit. */
export const WRAPPER_MEMORY_BYTES = 16 * 1024 * 1024;
/** How long after the wall limit the kubelet's activeDeadlineSeconds ends a pod the wrapper did not end. */
export const DEADLINE_GRACE_SECONDS = 30;
/** The largest script a ConfigMap can carry (its 1 MiB limit, less room for metadata). */
export const MAX_SCRIPT_BYTES = 1_000_000;
/** Name of the deny-all NetworkPolicy for executor pods. */
export const DENY_ALL_POLICY = 'integr8s-executors-deny-all';

/** Everything one executor pod is built from. */
export interface PodInput {
  name: string;
  namespace: string;
  executionId: string;
  lang: Language;
  userId: string | null;
  partition: number;
  runtime: RuntimeImage;
  /** Registry prefix of the runtime images, e.g. "registry.example.com/integr8s/" ("" for none). */
  imagePrefix: string;
  limits: Limits;
  cpuMillicores: number;
  /** The run's frame key (see frames.ts). */
  frameKey: string;
  /** e.g. "gvisor"; null to use the cluster default runtime. */
  runtimeClassName: string | null;
  /** Input given at start (a file in the ConfigMap), null for none. */
  stdin: string | null;
  /** Keep the program's stdin open after that input, for writes through attach. */
  keepStdinOpen: boolean;
}

/** The ConfigMap key (and file under CODE_DIR) of the input given at start. */
export const STDIN_KEY = 'stdin';

/** The labels of an executor pod and its ConfigMap. */
export function executorLabels(input: Pick<PodInput, 'executionId' | 'lang' | 'userId' | 'partition'>): Record<string, string> {
  const labels: Record<string, string> = {
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.component]: EXECUTOR,
    [LABELS.execution]: labelValue(input.executionId),
    [LABELS.language]: input.lang,
    [LABELS.partition]: String(input.partition),
  };
  const user = input.userId === null ? '' : labelValue(input.userId);
  if (user) labels[LABELS.user] = user;
  return labels;
}

/** The ConfigMap holding the script (and the input given at start), named like its pod. */
export function buildConfigMap(input: PodInput, script: string): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: input.name, namespace: input.namespace, labels: executorLabels(input) },
    data: { [input.runtime.fileName]: script, ...(input.stdin !== null ? { [STDIN_KEY]: input.stdin } : {}) },
  };
}

/** The hardened pod that runs one script through the wrapper. */
export function buildPodSpec(input: PodInput): V1Pod {
  const { limits } = input;
  const memory = String(limits.memoryBytes + WRAPPER_MEMORY_BYTES);
  const cpu = `${input.cpuMillicores}m`;
  const env: Record<string, string> = {
    ...input.runtime.env,
    HOME: '/tmp',
    TMPDIR: '/tmp',
    [FRAME_KEY_ENV]: input.frameKey,
    I8S_WALL_MS: String(limits.wallMs),
    I8S_CPU_MS: String(limits.cpuMs),
    I8S_FILE_BYTES: String(limits.fileBytes),
    I8S_OUTPUT_BYTES: String(limits.outputBytes),
    ...(input.stdin !== null ? { I8S_STDIN_FILE: `${CODE_DIR}/${STDIN_KEY}` } : {}),
    ...(input.keepStdinOpen ? { I8S_STDIN_OPEN: '1' } : {}),
  };
  const files = [input.runtime.fileName, ...(input.stdin !== null ? [STDIN_KEY] : [])];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: input.name, namespace: input.namespace, labels: executorLabels(input) },
    spec: {
      restartPolicy: 'Never',
      activeDeadlineSeconds: Math.ceil(limits.wallMs / 1000) + DEADLINE_GRACE_SECONDS,
      terminationGracePeriodSeconds: 0,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      hostNetwork: false,
      hostPID: false,
      hostIPC: false,
      ...(input.runtimeClassName ? { runtimeClassName: input.runtimeClassName } : {}),
      securityContext: {
        runAsNonRoot: true,
        runAsUser: EXECUTOR_UID,
        runAsGroup: EXECUTOR_UID,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: CONTAINER,
          image: `${input.imagePrefix}${input.runtime.image}`,
          imagePullPolicy: 'IfNotPresent',
          command: [WRAPPER_PATH, '--', ...input.runtime.command],
          workingDir: '/tmp',
          env: Object.entries(env).map(([name, value]) => ({ name, value })),
          resources: {
            requests: { cpu, memory },
            limits: { cpu, memory, 'ephemeral-storage': String(limits.tmpfsBytes) },
          },
          securityContext: {
            runAsNonRoot: true,
            runAsUser: EXECUTOR_UID,
            runAsGroup: EXECUTOR_UID,
            privileged: false,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
            seccompProfile: { type: 'RuntimeDefault' },
          },
          volumeMounts: [
            { name: 'code', mountPath: CODE_DIR, readOnly: true },
            { name: 'tmp', mountPath: '/tmp' },
          ],
          stdin: input.keepStdinOpen,
          stdinOnce: input.keepStdinOpen,
          tty: false,
          terminationMessagePolicy: 'File',
        },
      ],
      volumes: [
        { name: 'code', configMap: { name: input.name, defaultMode: 0o444, items: files.map((f) => ({ key: f, path: f })) } },
        { name: 'tmp', emptyDir: { sizeLimit: String(limits.tmpfsBytes) } },
      ],
    },
  };
}

/** The reference that makes a ConfigMap go when its pod goes (garbage collection). */
export function ownerReference(podName: string, podUid: string): V1OwnerReference {
  return { apiVersion: 'v1', kind: 'Pod', name: podName, uid: podUid, controller: false, blockOwnerDeletion: false };
}

/** Denies all ingress and egress of executor pods: matches them, lists both policy types, allows nothing. */
export function buildDenyAllPolicy(namespace: string): V1NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: DENY_ALL_POLICY, namespace, labels: { [LABELS.managedBy]: MANAGED_BY } },
    spec: {
      podSelector: { matchLabels: { [LABELS.managedBy]: MANAGED_BY, [LABELS.component]: EXECUTOR } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [],
      egress: [],
    },
  };
}

/** Pod Security Admission labels that enforce the `restricted` profile on the executor namespace. */
export const RESTRICTED_NAMESPACE_LABELS: Readonly<Record<string, string>> = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/enforce-version': 'latest',
  'pod-security.kubernetes.io/warn': 'restricted',
  'pod-security.kubernetes.io/warn-version': 'latest',
  'pod-security.kubernetes.io/audit': 'restricted',
  'pod-security.kubernetes.io/audit-version': 'latest',
};
