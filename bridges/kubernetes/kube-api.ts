/**
 * The seam between the backend and the Kubernetes API: the few calls it makes, on @kubernetes/client-node.
 * Everything the backend does to a cluster goes through this interface, in one namespace.
 */
import http from 'node:http';
import https from 'node:https';
import { PassThrough } from 'node:stream';
import { ApiException, Attach, CoreV1Api, KubeConfig, NetworkingV1Api, Watch, type V1ConfigMap, type V1NetworkPolicy, type V1OwnerReference, type V1Pod } from '@kubernetes/client-node';
import { CONTAINER } from './labels.js';

/** One event of a watch, as the API sends it (ERROR carries a Status, e.g. 410 Gone). */
export type WatchEvent =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; pod: V1Pod }
  | { type: 'BOOKMARK'; resourceVersion: string }
  | { type: 'ERROR'; code: number; message: string };

/** A list with the resourceVersion to watch from. */
export interface PodList {
  items: V1Pod[];
  resourceVersion: string;
}

/** An attached stdin. */
export interface StdinConnection {
  write(data: string): Promise<void>;
  close(): Promise<void>;
}

/** What the backend asks of the cluster. */
export interface KubeApi {
  readonly namespace: string;
  createConfigMap(cm: V1ConfigMap): Promise<void>;
  setConfigMapOwner(name: string, owner: V1OwnerReference): Promise<void>;
  createPod(pod: V1Pod): Promise<V1Pod>;
  /** The pod, or null when it does not exist. */
  readPod(name: string): Promise<V1Pod | null>;
  /** Deletes now (no grace period); resolves false when it was already gone. */
  deletePod(name: string): Promise<boolean>;
  deleteConfigMap(name: string): Promise<boolean>;
  listPods(labelSelector: string): Promise<PodList>;
  listConfigMaps(labelSelector: string): Promise<V1ConfigMap[]>;
  /** Starts a watch; `done` is called once when it ends (null: closed by the server). Returns a stop function. */
  watchPods(labelSelector: string, resourceVersion: string, onEvent: (e: WatchEvent) => void, done: (err: unknown) => void): Promise<() => void>;
  /** Streams the container's log from its start; resolves when the stream ends. Returns a stop function first. */
  streamLog(name: string, follow: boolean, onText: (text: string) => void): Promise<{ stop: () => void; ended: Promise<void> }>;
  /** Attaches to the container's stdin (it must be running); writes arrive in order, close() ends the input. */
  attachStdin(name: string): Promise<StdinConnection>;
  /** Creates the policy, or replaces it when one of that name exists. */
  applyNetworkPolicy(policy: V1NetworkPolicy): Promise<void>;
  /** Adds (or overwrites) labels on the namespace. */
  labelNamespace(labels: Readonly<Record<string, string>>): Promise<void>;
  /** Reads the namespace (a cheap readiness check); throws when it cannot. */
  readNamespace(): Promise<void>;
}

/** The HTTP status of an API error, or null when it is not one. */
export function statusOf(err: unknown): number | null {
  if (err instanceof ApiException) return err.code;
  const code = (err as { statusCode?: unknown; code?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : null;
}

const ignore404 = async (call: Promise<unknown>): Promise<boolean> => {
  try {
    await call;
    return true;
  } catch (err) {
    if (statusOf(err) === 404) return false;
    throw err;
  }
};

/** Escapes a key for a JSON pointer (RFC 6901). */
const pointer = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

/** The KubeApi on a KubeConfig (a kubeconfig file, or the in-cluster service account). */
export function clientNodeApi(kc: KubeConfig, namespace: string): KubeApi {
  const core = kc.makeApiClient(CoreV1Api);
  const net = kc.makeApiClient(NetworkingV1Api);
  const watch = new Watch(kc);
  const attach = new Attach(kc);
  return {
    namespace,
    async createConfigMap(body) {
      await core.createNamespacedConfigMap({ namespace, body });
    },
    async setConfigMapOwner(name, owner) {
      await core.patchNamespacedConfigMap({ name, namespace, body: [{ op: 'add', path: '/metadata/ownerReferences', value: [owner] }] });
    },
    createPod: (body) => core.createNamespacedPod({ namespace, body }),
    async readPod(name) {
      try {
        return await core.readNamespacedPod({ name, namespace });
      } catch (err) {
        if (statusOf(err) === 404) return null;
        throw err;
      }
    },
    deletePod: (name) => ignore404(core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0, propagationPolicy: 'Background' })),
    deleteConfigMap: (name) => ignore404(core.deleteNamespacedConfigMap({ name, namespace })),
    async listPods(labelSelector) {
      const list = await core.listNamespacedPod({ namespace, labelSelector });
      return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
    },
    async listConfigMaps(labelSelector) {
      return (await core.listNamespacedConfigMap({ namespace, labelSelector })).items;
    },
    async watchPods(labelSelector, resourceVersion, onEvent, done) {
      const controller = await watch.watch(
        `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
        { labelSelector, resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 300 },
        (type: string, obj: unknown) => onEvent(toWatchEvent(type, obj)),
        done,
      );
      return () => controller.abort();
    },
    async streamLog(name, follow, onText) {
      // not client-node's Log: it pipes the response into the sink, so a dropped connection never ends the stream
      const server = kc.getCurrentCluster()?.server;
      if (!server) throw new Error('no current cluster in the kubeconfig');
      const url = new URL(`${server}/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}/log`);
      url.searchParams.set('container', CONTAINER);
      if (follow) url.searchParams.set('follow', 'true');
      const opts: https.RequestOptions = {};
      await kc.applyToHTTPSOptions(opts);
      const request = url.protocol === 'https:' ? https.request : http.request;
      return new Promise((resolve, reject) => {
        const req = request(url, { ...opts, method: 'GET' }, (res) => {
          if (res.statusCode !== 200) {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (t: string) => (body += t.slice(0, 4096)));
            res.on('end', () => reject(Object.assign(new Error(`log of ${name}: HTTP ${res.statusCode}: ${body.slice(0, 500)}`), { statusCode: res.statusCode })));
            return;
          }
          res.setEncoding('utf8');
          const ended = new Promise<void>((done) => {
            res.on('end', () => done());
            res.on('close', () => done());
            res.on('error', () => done());
          });
          res.on('data', (text: string) => onText(text));
          resolve({ stop: () => req.destroy(), ended });
        });
        req.on('error', reject);
        req.end();
      });
    },
    async attachStdin(name) {
      const input = new PassThrough();
      const socket = await attach.attach(namespace, name, CONTAINER, null, null, input, false);
      return {
        write: (data) => new Promise<void>((resolve, reject) => input.write(data, (err) => (err ? reject(err) : resolve()))),
        close: async () => {
          input.end();
          // v4 ends the input by closing the socket: give the last frames a moment to leave first
          if (socket.protocol !== 'v5.channel.k8s.io') setTimeout(() => socket.close(), 50).unref();
        },
      };
    },
    async applyNetworkPolicy(body) {
      const name = body.metadata?.name ?? '';
      try {
        await net.createNamespacedNetworkPolicy({ namespace, body });
      } catch (err) {
        if (statusOf(err) !== 409) throw err;
        const current = await net.readNamespacedNetworkPolicy({ name, namespace });
        await net.replaceNamespacedNetworkPolicy({ name, namespace, body: { ...body, metadata: { ...body.metadata, resourceVersion: current.metadata?.resourceVersion } } });
      }
    },
    async labelNamespace(labels) {
      const ns = await core.readNamespace({ name: namespace });
      const ops = ns.metadata?.labels
        ? Object.entries(labels).map(([k, v]) => ({ op: 'add', path: `/metadata/labels/${pointer(k)}`, value: v }))
        : [{ op: 'add', path: '/metadata/labels', value: { ...labels } }];
      await core.patchNamespace({ name: namespace, body: ops });
    },
    async readNamespace() {
      await core.readNamespace({ name: namespace });
    },
  };
}

function toWatchEvent(type: string, obj: unknown): WatchEvent {
  const o = (obj ?? {}) as { code?: unknown; message?: unknown; metadata?: { resourceVersion?: string } };
  switch (type) {
    case 'ADDED':
    case 'MODIFIED':
    case 'DELETED':
      return { type, pod: obj as V1Pod };
    case 'BOOKMARK':
      return { type, resourceVersion: o.metadata?.resourceVersion ?? '' };
    default:
      return { type: 'ERROR', code: typeof o.code === 'number' ? o.code : 500, message: typeof o.message === 'string' ? o.message : `watch event ${type}` };
  }
}
