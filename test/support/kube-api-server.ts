/**
 * A Kubernetes API server for tests: node http speaking the real REST paths, JSON shapes and watch protocol for
 * the resources the sandbox backend uses — pods (with log, log?follow=true, and attach over the channel
 * WebSocket protocol), configmaps, namespaces, networkpolicies. Every change gets a resourceVersion and is kept
 * in a history that watches replay from; compact() forgets the history, so older versions get 410 Gone as an
 * ERROR event, as a real API server does. No scheduler or kubelet: tests drive pod status and logs through
 * the control methods, or attach a kubelet (kube-kubelet.ts) that runs the pods' commands.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Writable } from 'node:stream';
import { KubeConfig, type V1Pod, type V1PodStatus } from '@kubernetes/client-node';
import { WebSocketServer } from 'ws';
import { applyJsonPatch, attributesOf, readJson, type RequestAttributes } from './kube-api-request.js';
import { parseSelector } from './kube-label-selector.js';

export type { RequestAttributes } from './kube-api-request.js';

type Resource = 'pods' | 'configmaps' | 'networkpolicies' | 'namespaces';

/** A stored object: any Kubernetes object as JSON. */
export type KObject = { apiVersion?: string; kind?: string; metadata: Record<string, unknown> & { name: string; namespace?: string; labels?: Record<string, string>; resourceVersion?: string } } & Record<string, unknown>;
type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface HistoryEntry {
  rv: number;
  resource: Resource;
  ns: string;
  type: EventType;
  object: KObject;
}
interface OpenWatch {
  resource: Resource;
  ns: string;
  match: (labels: Record<string, string> | undefined) => boolean;
  res: ServerResponse;
}
interface PodLog {
  text: string;
  ended: boolean;
  followers: Set<ServerResponse>;
}

const KINDS: Record<Resource, { apiVersion: string; kind: string }> = {
  pods: { apiVersion: 'v1', kind: 'Pod' },
  configmaps: { apiVersion: 'v1', kind: 'ConfigMap' },
  networkpolicies: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' },
  namespaces: { apiVersion: 'v1', kind: 'Namespace' },
};

const clone = <T>(v: T): T => structuredClone(v);

/** The test API server. */
export class KubeApiServer {
  private readonly server: Server;
  private readonly ws = new WebSocketServer({ noServer: true, handleProtocols: (p) => (p.has('v5.channel.k8s.io') ? 'v5.channel.k8s.io' : 'v4.channel.k8s.io') });
  private readonly objects = new Map<string, KObject>();
  private history: HistoryEntry[] = [];
  private compactedRv = 0;
  private rv = 1;
  private readonly watches = new Set<OpenWatch>();
  private readonly logs = new Map<string, PodLog>();
  private readonly failures: Array<{ method: string; path: RegExp; code: number; times: number }> = [];
  /** "METHOD /path?query" of every request, in order. */
  readonly requests: string[] = [];
  /** Called after a pod is created (the kubelet's cue). */
  onPodCreated: (pod: V1Pod) => void = () => {};
  /** Called after a pod is deleted through the API. */
  onPodDeleted: (pod: V1Pod) => void = () => {};
  /** Decides each request (RBAC); denied ones get 403. Default: allow all. */
  authorize: (a: RequestAttributes) => boolean = () => true;
  /** Requests the authorizer denied. */
  readonly denied: RequestAttributes[] = [];
  /** Where attached stdin goes; null refuses the attach. */
  onAttach: (ns: string, name: string) => Writable | null = () => null;
  url = '';

  constructor(namespaces: string[] = ['default']) {
    for (const ns of namespaces) this.put('namespaces', '', { metadata: { name: ns } }, 'ADDED');
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.dropWatches();
    for (const log of this.logs.values()) for (const f of log.followers) f.destroy();
    for (const c of this.ws.clients) c.terminate();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** A KubeConfig pointing at this server, with `namespace` as its context's namespace. */
  kubeConfig(namespace = 'default'): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'test', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'test', token: 'test-token' }],
      contexts: [{ name: 'test', cluster: 'test', user: 'test', namespace }],
      currentContext: 'test',
    });
    return kc;
  }

  // ---- control methods for tests and the test kubelet ----

  /** Objects of a resource in a namespace. */
  list(resource: Resource, ns: string): KObject[] {
    return [...this.objects.entries()].filter(([k]) => k.startsWith(`${resource}:${ns}/`)).map(([, v]) => clone(v));
  }

  get(resource: Resource, ns: string, name: string): KObject | undefined {
    const o = this.objects.get(`${resource}:${ns}/${name}`);
    return o ? clone(o) : undefined;
  }

  /** Replaces a pod's status (as the kubelet would); returns false when the pod does not exist. */
  setPodStatus(ns: string, name: string, status: V1PodStatus): boolean {
    const pod = this.objects.get(`pods:${ns}/${name}`);
    if (!pod) return false;
    this.put('pods', ns, { ...pod, status: clone(status) as Record<string, unknown> }, 'MODIFIED');
    const term = status.containerStatuses?.[0]?.state?.terminated;
    if (term || status.phase === 'Succeeded' || status.phase === 'Failed') this.endLog(ns, name);
    return true;
  }

  /** Adds text to a pod's container log (and to every follower). */
  appendLog(ns: string, name: string, text: string): void {
    const log = this.logOf(ns, name);
    if (log.ended) return;
    log.text += text;
    for (const f of log.followers) f.write(text);
  }

  /** The container ended: followers' streams end. */
  endLog(ns: string, name: string): void {
    const log = this.logOf(ns, name);
    log.ended = true;
    for (const f of log.followers) f.end();
    log.followers.clear();
  }

  /** Ends every open watch (as a restarting API server or a dropped connection would). */
  dropWatches(): void {
    for (const w of this.watches) w.res.destroy();
    this.watches.clear();
  }

  /** Cuts every open log stream without ending the log (a dropped connection). */
  dropLogStreams(): void {
    for (const log of this.logs.values()) {
      for (const f of log.followers) f.destroy();
      log.followers.clear();
    }
  }

  /** Forgets the watch history: a watch from any version seen so far gets 410 Gone. */
  compact(): void {
    this.history = [];
    this.compactedRv = this.rv;
  }

  /** The next `times` requests matching method and path are answered with `code`. */
  failNext(method: string, path: RegExp, code: number, times = 1): void {
    this.failures.push({ method, path, code, times });
  }

  /** Watches open right now. */
  get openWatches(): number {
    return this.watches.size;
  }

  // ---- storage ----

  private logOf(ns: string, name: string): PodLog {
    const key = `${ns}/${name}`;
    let log = this.logs.get(key);
    if (!log) this.logs.set(key, (log = { text: '', ended: false, followers: new Set() }));
    return log;
  }

  private put(resource: Resource, ns: string, obj: KObject, type: EventType): KObject {
    const rv = ++this.rv;
    const stored: KObject = { ...KINDS[resource], ...clone(obj), metadata: { ...clone(obj.metadata), resourceVersion: String(rv) } };
    if (ns) stored.metadata.namespace = ns;
    const key = `${resource}:${ns}/${stored.metadata.name}`;
    if (type === 'DELETED') this.objects.delete(key);
    else this.objects.set(key, stored);
    this.history.push({ rv, resource, ns, type, object: clone(stored) });
    for (const w of this.watches) {
      if (w.resource === resource && w.ns === ns && w.match(stored.metadata.labels)) this.send(w.res, type, stored);
    }
    return stored;
  }

  private send(res: ServerResponse, type: string, object: unknown): void {
    res.write(`${JSON.stringify({ type, object })}\n`);
  }

  // ---- HTTP ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const method = req.method ?? 'GET';
    this.requests.push(`${method} ${url.pathname}${url.search}`);
    const failure = this.failures.find((f) => f.method === method && f.path.test(url.pathname) && f.times > 0);
    if (failure) {
      failure.times--;
      return this.status(res, failure.code, 'injected failure');
    }
    const attrs = attributesOf(method, url);
    if (attrs && !this.authorize(attrs)) {
      this.denied.push(attrs);
      return this.status(res, 403, `forbidden: cannot ${attrs.verb} ${attrs.resource}${attrs.subresource ? `/${attrs.subresource}` : ''}`, 'Forbidden');
    }
    const body = method === 'POST' || method === 'PUT' || method === 'PATCH' ? await readJson(req) : undefined;
    let m: RegExpExecArray | null;
    try {
      if ((m = /^\/api\/v1\/namespaces\/([^/]+)$/.exec(url.pathname))) return this.item(req, res, 'namespaces', '', m[1]!, body);
      if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/.exec(url.pathname))) return this.log(res, m[1]!, m[2]!, url);
      if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/(pods|configmaps)$/.exec(url.pathname))) return this.collection(req, res, m[2] as Resource, m[1]!, url, body);
      if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/(pods|configmaps)\/([^/]+)$/.exec(url.pathname))) return this.item(req, res, m[2] as Resource, m[1]!, m[3]!, body);
      if ((m = /^\/apis\/networking\.k8s\.io\/v1\/namespaces\/([^/]+)\/networkpolicies$/.exec(url.pathname))) return this.collection(req, res, 'networkpolicies', m[1]!, url, body);
      if ((m = /^\/apis\/networking\.k8s\.io\/v1\/namespaces\/([^/]+)\/networkpolicies\/([^/]+)$/.exec(url.pathname))) return this.item(req, res, 'networkpolicies', m[1]!, m[2]!, body);
      return this.status(res, 404, `the server could not find the requested resource (${url.pathname})`);
    } catch (err) {
      return this.status(res, 400, String(err instanceof Error ? err.message : err));
    }
  }

  private collection(req: IncomingMessage, res: ServerResponse, resource: Resource, ns: string, url: URL, body: unknown): void {
    if (!this.objects.has(`namespaces:/${ns}`)) return this.status(res, 404, `namespaces "${ns}" not found`);
    const match = parseSelector(url.searchParams.get('labelSelector'));
    if (req.method === 'GET' && url.searchParams.get('watch') === 'true') return this.watch(res, resource, ns, match, url);
    if (req.method === 'GET') {
      const items = this.list(resource, ns).filter((o) => match(o.metadata.labels));
      const { kind, apiVersion } = KINDS[resource];
      return this.json(res, 200, { kind: `${kind}List`, apiVersion, metadata: { resourceVersion: String(this.rv) }, items });
    }
    if (req.method === 'POST') {
      const obj = body as KObject;
      const name = obj?.metadata?.name;
      if (!name) return this.status(res, 422, 'metadata.name: Required value');
      if (this.objects.has(`${resource}:${ns}/${name}`)) return this.status(res, 409, `${resource} "${name}" already exists`, 'AlreadyExists');
      const created = { ...obj, metadata: { ...obj.metadata, uid: randomUUID(), creationTimestamp: new Date().toISOString() } };
      if (resource === 'pods') (created as KObject).status = { phase: 'Pending', qosClass: 'Guaranteed' };
      const stored = this.put(resource, ns, created as KObject, 'ADDED');
      this.json(res, 201, stored);
      if (resource === 'pods') queueMicrotask(() => this.onPodCreated(clone(stored) as V1Pod));
      return;
    }
    return this.status(res, 405, 'method not allowed');
  }

  private item(req: IncomingMessage, res: ServerResponse, resource: Resource, ns: string, name: string, body: unknown): void {
    const key = `${resource}:${ns}/${name}`;
    const current = this.objects.get(key);
    if (!current) return this.status(res, 404, `${resource} "${name}" not found`, 'NotFound');
    switch (req.method) {
      case 'GET':
        return this.json(res, 200, current);
      case 'DELETE': {
        const deleted = this.put(resource, ns, { ...current, metadata: { ...current.metadata, deletionTimestamp: new Date().toISOString() } }, 'DELETED');
        this.json(res, 200, deleted);
        if (resource === 'pods') queueMicrotask(() => this.onPodDeleted(clone(deleted) as V1Pod));
        return;
      }
      case 'PATCH': {
        if ((req.headers['content-type'] ?? '') !== 'application/json-patch+json') return this.status(res, 415, 'only json-patch in this test server');
        return this.json(res, 200, this.put(resource, ns, applyJsonPatch(current, body), 'MODIFIED'));
      }
      case 'PUT': {
        const obj = body as KObject;
        if (obj.metadata.resourceVersion !== current.metadata.resourceVersion) return this.status(res, 409, 'the object has been modified', 'Conflict');
        return this.json(res, 200, this.put(resource, ns, { ...obj, metadata: { ...current.metadata, ...obj.metadata } }, 'MODIFIED'));
      }
      default:
        return this.status(res, 405, 'method not allowed');
    }
  }

  private watch(res: ServerResponse, resource: Resource, ns: string, match: OpenWatch['match'], url: URL): void {
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const from = Number(url.searchParams.get('resourceVersion') || '0');
    if (from > 0 && from < this.compactedRv) {
      this.send(res, 'ERROR', { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${from} (${this.compactedRv})`, reason: 'Expired', code: 410 });
      res.end();
      return;
    }
    for (const e of this.history) {
      if (e.rv > from && e.resource === resource && e.ns === ns && match(e.object.metadata.labels)) this.send(res, e.type, e.object);
    }
    const w: OpenWatch = { resource, ns, match, res };
    this.watches.add(w);
    const timeout = Number(url.searchParams.get('timeoutSeconds') || '0');
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    const bookmarks = url.searchParams.get('allowWatchBookmarks') === 'true' ? setInterval(() => this.send(res, 'BOOKMARK', { kind: KINDS[resource].kind, apiVersion: KINDS[resource].apiVersion, metadata: { resourceVersion: String(this.rv) } }), 5_000) : undefined;
    res.on('close', () => {
      clearTimeout(timer);
      clearInterval(bookmarks);
      this.watches.delete(w);
    });
  }

  private log(res: ServerResponse, ns: string, name: string, url: URL): void {
    const pod = this.objects.get(`pods:${ns}/${name}`);
    if (!pod) return this.status(res, 404, `pods "${name}" not found`, 'NotFound');
    const status = (pod.status ?? {}) as V1PodStatus;
    const state = status.containerStatuses?.[0]?.state;
    if (!state?.running && !state?.terminated) {
      return this.status(res, 400, `container "${url.searchParams.get('container') ?? ''}" in pod "${name}" is waiting to start: ContainerCreating`, 'BadRequest');
    }
    const log = this.logOf(ns, name);
    res.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' });
    if (log.text) res.write(log.text);
    if (url.searchParams.get('follow') !== 'true' || log.ended) return void res.end();
    log.followers.add(res);
    res.on('close', () => log.followers.delete(res));
  }

  private upgrade(req: IncomingMessage, socket: import('node:stream').Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push(`UPGRADE ${url.pathname}${url.search}`);
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/attach$/.exec(url.pathname);
    const attrs: RequestAttributes | null = m ? { verb: 'create', apiGroup: '', resource: 'pods', subresource: 'attach', namespace: m[1]!, name: m[2]! } : null;
    if (attrs && !this.authorize(attrs)) {
      this.denied.push(attrs);
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const target = m ? this.onAttach(m[1]!, m[2]!) : null;
    if (!target) {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    this.ws.handleUpgrade(req, socket, head, (client) => {
      const end = () => {
        if (!target.writableEnded) target.end();
      };
      client.on('message', (data: Buffer) => {
        const buf = Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
        if (buf[0] === 0) target.write(buf.subarray(1));
        else if (buf[0] === 255 && buf[1] === 0) end();
      });
      client.on('close', end); // stdinOnce: the input ends with the attach
    });
  }

  private json(res: ServerResponse, code: number, body: unknown): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private status(res: ServerResponse, code: number, message: string, reason = 'Failure'): void {
    this.json(res, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
  }
}
