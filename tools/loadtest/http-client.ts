/**
 * HTTP for virtual users on node:http: a shared connection pool (at most `concurrency` requests in flight), a
 * separate unpooled agent for SSE streams (each stream holds its own connection), a per-user cookie jar that
 * echoes the `csrf_token` cookie in `X-CSRF-Token` on writes, timeouts, and a sample recorded for every request.
 *
 * Latency is measured from the moment a request gets a pool slot to the end of its response body (for SSE
 * streams: to the response headers). Bytes are the HTTP head as serialized plus body bytes (chunked framing
 * is not counted). Requests the run cancels at its end are counted as `cancelled`, not as samples.
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { CookieJar } from './cookie-jar.js';
import { SseParser, type SseEvent } from './sse-reader.js';
import type { Recorder } from './stats.js';
import { templatePath, type RouteTemplates } from './routes.js';

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const MAX_KEPT_BODY = 4 * 1024 * 1024;

/** Counts the TCP connections to the target that are open right now. */
export class ConnectionTracker {
  open = 0;
  private readonly seen = new WeakSet<Socket>();

  constructor(private readonly onChange: (open: number) => void = () => {}) {}

  watch(socket: Socket): void {
    if (this.seen.has(socket)) return;
    this.seen.add(socket);
    this.open += 1;
    this.onChange(this.open);
    socket.once('close', () => {
      this.open -= 1;
      this.onChange(this.open);
    });
  }
}

/** A counting semaphore whose waiters can be abandoned through an AbortSignal. */
export class Semaphore {
  private readonly waiters: (() => void)[] = [];
  inUse = 0;

  constructor(private readonly size: number) {}

  get waiting(): number {
    return this.waiters.length;
  }

  /** Resolves with a release function once a slot is free; rejects if the signal aborts first. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    const release = () => {
      this.inUse -= 1;
      this.waiters.shift()?.();
    };
    if (this.inUse < this.size) {
      this.inUse += 1;
      return Promise.resolve(once(release));
    }
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new TransportError('cancelled', 'cancelled before start'));
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        this.inUse += 1;
        resolve(once(release));
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(grant);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new TransportError('cancelled', 'cancelled before start'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(grant);
    });
  }
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (!done) {
      done = true;
      fn();
    }
  };
}

/**
 * Why a request got no (complete) response. `protocol` = the response broke HTTP (node's parser refused it);
 * `client` = the request could not even be built.
 */
export type FailureKind = 'timeout' | 'network' | 'protocol' | 'cancelled' | 'client';

export class TransportError extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

export interface TransportOptions {
  /** Origin plus optional base path, e.g. `http://127.0.0.1:8080`. */
  target: URL;
  concurrency: number;
  /** Per-request timeout (whole response), ms. */
  timeoutMs: number;
  /** Aborts everything in flight (the end of the run). */
  signal: AbortSignal;
  recorder?: Recorder;
  templates?: RouteTemplates;
}

/** The connection pools and settings shared by every virtual user of a run. */
export class Transport {
  readonly agent: http.Agent;
  readonly streamAgent: http.Agent;
  readonly tracker: ConnectionTracker;
  readonly limiter: Semaphore;
  readonly basePath: string;
  readonly secure: boolean;
  templates: RouteTemplates | undefined;
  inFlight = 0;
  openStreams = 0;

  constructor(readonly opts: TransportOptions) {
    this.secure = opts.target.protocol === 'https:';
    const Agent = this.secure ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency, maxFreeSockets: opts.concurrency });
    this.streamAgent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
    this.tracker = new ConnectionTracker((open) => opts.recorder?.noteOpenConnections(open));
    this.limiter = new Semaphore(opts.concurrency);
    this.basePath = opts.target.pathname.replace(/\/+$/, '');
    this.templates = opts.templates;
  }

  get signal(): AbortSignal {
    return this.opts.signal;
  }

  route(path: string): string {
    return templatePath(path, this.templates);
  }

  /** Closes every pooled connection. */
  close(): void {
    this.agent.destroy();
    this.streamAgent.destroy();
  }
}

export interface RequestSpec {
  method: string;
  /** Path under the target, starting with `/`, query string allowed. */
  path: string;
  query?: Record<string, string | number | boolean | readonly string[]>;
  headers?: Record<string, string>;
  json?: unknown;
  form?: Record<string, string>;
  body?: string | Buffer;
  /** Report under this route instead of the templated path. */
  route?: string;
  /** Statuses the caller considers fine; others count as errors. Default: < 400, and 429. */
  expect?: (status: number) => boolean;
  timeoutMs?: number;
  /** Send X-CSRF-Token on writes (default true). */
  csrf?: boolean;
  /** Send the jar's cookies (default true). */
  cookies?: boolean;
  /** Do not record a sample (measurement overhead such as probes). */
  unrecorded?: boolean;
  /** Use a new connection, closed afterwards (nothing odd in the answer can spill into the next request). */
  fresh?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  latencyMs: number;
  text(): string;
  /** The parsed JSON body, or undefined when it is not JSON. */
  json<T = any>(): T | undefined;
}

export interface StreamHandlers {
  /** Called with the response once headers of an event stream arrive. */
  onOpen?(res: http.IncomingMessage): void;
  /** Called for each frame; return `'stop'` to close the stream from this side. */
  onEvent?(ev: SseEvent): 'stop' | void;
  /** Close after this long without any byte (ms). */
  idleTimeoutMs?: number;
  /** Close from this side this long after an event stream opened (ms): just check that it opens. */
  maxOpenMs?: number;
}

export interface StreamResult {
  status: number | null;
  /** True when the response was text/event-stream. */
  streamed: boolean;
  /** server: the server ended it; client: a handler stopped it; timeout / network / cancelled: failed. */
  end: 'server' | 'client' | 'timeout' | 'network' | 'protocol' | 'cancelled';
  events: number;
  /** Headers latency, ms. */
  latencyMs: number;
  body: Buffer;
  error?: string;
}

const defaultExpect = (status: number) => status < 400 || status === 429;

/** One virtual user's view of the target: its cookie jar over the shared transport. */
export class HttpClient {
  readonly jar = new CookieJar();

  constructor(readonly transport: Transport) {}

  private buildHeaders(spec: RequestSpec, body: Buffer | undefined, contentType: string | undefined, path: string): Record<string, string> {
    const t = this.transport;
    const headers: Record<string, string> = {
      host: t.opts.target.host,
      connection: 'keep-alive',
      'user-agent': 'integr8s-loadtest/1',
      accept: 'application/json',
    };
    if (contentType) headers['content-type'] = contentType;
    if (body !== undefined || WRITE_METHODS.has(spec.method.toUpperCase())) headers['content-length'] = String(body?.length ?? 0);
    if (spec.cookies !== false) {
      const cookie = this.jar.header(path);
      if (cookie) headers['cookie'] = cookie;
      const csrf = this.jar.get('csrf_token');
      if (csrf && spec.csrf !== false && WRITE_METHODS.has(spec.method.toUpperCase())) headers['x-csrf-token'] = csrf;
    }
    for (const [k, v] of Object.entries(spec.headers ?? {})) headers[k.toLowerCase()] = v;
    return headers;
  }

  private prepare(spec: RequestSpec): { path: string; body: Buffer | undefined; headers: Record<string, string>; route: string } {
    let path = spec.path;
    if (spec.query) {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(spec.query)) {
        if (Array.isArray(v)) for (const item of v) qs.append(k, String(item));
        else qs.append(k, String(v));
      }
      const s = qs.toString();
      if (s) path += (path.includes('?') ? '&' : '?') + s;
    }
    let body: Buffer | undefined;
    let contentType: string | undefined;
    if (spec.json !== undefined) {
      body = Buffer.from(JSON.stringify(spec.json));
      contentType = 'application/json';
    } else if (spec.form !== undefined) {
      body = Buffer.from(new URLSearchParams(spec.form).toString());
      contentType = 'application/x-www-form-urlencoded';
    } else if (spec.body !== undefined) {
      body = typeof spec.body === 'string' ? Buffer.from(spec.body) : spec.body;
    }
    const fullPath = this.transport.basePath + path;
    return { path: fullPath, body, headers: this.buildHeaders(spec, body, contentType, fullPath), route: spec.route ?? this.transport.route(path) };
  }

  /**
   * Sends a request and reads the whole response. Records a sample; throws a TransportError when no response
   * came (after recording it, unless the run cancelled it).
   */
  async request(spec: RequestSpec): Promise<HttpResponse> {
    const t = this.transport;
    const method = spec.method.toUpperCase();
    const prep = this.prepare(spec);
    if (spec.fresh) prep.headers['connection'] = 'close';
    const release = await t.limiter.acquire(t.signal);
    t.inFlight += 1;
    const started = performance.now();
    const bytesOut = headBytes(method, prep.path, prep.headers) + (prep.body?.length ?? 0);
    try {
      const res = await exchange(t, method, prep.path, prep.headers, prep.body, spec.timeoutMs ?? t.opts.timeoutMs, spec.fresh === true, undefined);
      const latencyMs = performance.now() - started;
      this.jar.update(res.headers['set-cookie']);
      if (!spec.unrecorded) {
        const expect = spec.expect ?? defaultExpect;
        t.opts.recorder?.record({
          method,
          route: prep.route,
          status: res.status,
          latencyMs,
          bytesIn: res.bytesIn,
          bytesOut,
          error: res.status >= 500 || !expect(res.status),
        });
      }
      const body = res.body;
      return {
        status: res.status,
        headers: res.headers,
        body,
        latencyMs,
        text: () => body.toString('utf8'),
        json: () => parseJson(body),
      };
    } catch (err) {
      const e = err instanceof TransportError ? err : new TransportError('network', String(err));
      if (!spec.unrecorded) {
        if (e.kind === 'cancelled') {
          if (t.opts.recorder) t.opts.recorder.cancelled += 1;
        } else if (e.kind !== 'client')
          t.opts.recorder?.record({
            method,
            route: prep.route,
            status: null,
            failure: e.kind === 'timeout' || e.kind === 'protocol' ? e.kind : 'network',
            latencyMs: performance.now() - started,
            bytesIn: 0,
            bytesOut,
            error: true,
          });
      }
      throw e;
    } finally {
      t.inFlight -= 1;
      release();
    }
  }

  /**
   * Opens an SSE stream on its own connection and reads frames until the server ends it, a handler stops it,
   * it times out (`timeoutMs` overall, `idleTimeoutMs` without a byte) or the run ends. A non-stream answer
   * (an error status) is read whole. Never throws for transport failures: the result says how it ended.
   */
  async stream(spec: RequestSpec, handlers: StreamHandlers = {}): Promise<StreamResult> {
    const t = this.transport;
    const method = spec.method.toUpperCase();
    const prep = this.prepare({ ...spec, headers: { accept: 'text/event-stream', ...spec.headers } });
    prep.headers['connection'] = 'close';
    const started = performance.now();
    const bytesOut = headBytes(method, prep.path, prep.headers) + (prep.body?.length ?? 0);
    let latencyMs = Number.NaN;
    let events = 0;
    let streamed = false;
    t.openStreams += 1;
    const parser = new SseParser();
    const hooks: StreamHooks = {
      idleTimeoutMs: handlers.idleTimeoutMs,
      maxOpenMs: handlers.maxOpenMs,
      onHeaders: (res) => {
        latencyMs = performance.now() - started;
        streamed = (res.headers['content-type'] ?? '').includes('text/event-stream') && (res.statusCode ?? 0) < 300;
        if (streamed) handlers.onOpen?.(res);
        return streamed;
      },
      onChunk: (chunk) => {
        if (!streamed) return;
        for (const ev of parser.push(chunk)) {
          events += 1;
          if (handlers.onEvent?.(ev) === 'stop') return 'stop';
        }
      },
    };
    const record = (status: number | null, bytesIn: number, error: boolean, failure?: 'timeout' | 'network' | 'protocol') => {
      if (spec.unrecorded) return;
      t.opts.recorder?.record({
        method,
        route: prep.route,
        status,
        ...(failure ? { failure } : {}),
        latencyMs: Number.isNaN(latencyMs) ? performance.now() - started : latencyMs,
        bytesIn,
        bytesOut,
        error,
      });
    };
    try {
      const res = await exchange(t, method, prep.path, prep.headers, prep.body, spec.timeoutMs ?? t.opts.timeoutMs, true, hooks);
      this.jar.update(res.headers['set-cookie']);
      const expect = spec.expect ?? defaultExpect;
      record(res.status, res.bytesIn, res.status >= 500 || !expect(res.status));
      return { status: res.status, streamed, end: res.stopped ? 'client' : 'server', events, latencyMs, body: res.body };
    } catch (err) {
      const e = err instanceof TransportError ? err : new TransportError('network', String(err));
      const partial = err instanceof PartialError ? err : undefined;
      const status = partial?.status ?? null;
      if (e.kind === 'cancelled' && status === null) {
        if (t.opts.recorder) t.opts.recorder.cancelled += 1;
      } else if (e.kind === 'cancelled') {
        record(status, partial?.bytesIn ?? 0, false); // an open stream ended by the run: fine
      } else if (e.kind !== 'client') {
        record(status, partial?.bytesIn ?? 0, true, e.kind === 'timeout' || e.kind === 'protocol' ? e.kind : 'network');
      }
      return { status, streamed, end: e.kind === 'client' ? 'network' : e.kind, events, latencyMs, body: Buffer.alloc(0), error: e.message };
    } finally {
      t.openStreams -= 1;
    }
  }
}

function parseJson(body: Buffer): any {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Size of the request head as node:http writes it (we set every header it would add). */
function headBytes(method: string, path: string, headers: Record<string, string>): number {
  let n = Buffer.byteLength(`${method} ${path} HTTP/1.1\r\n`) + 2;
  for (const [k, v] of Object.entries(headers)) n += Buffer.byteLength(`${k}: ${v}\r\n`);
  return n;
}

function responseHeadBytes(res: http.IncomingMessage): number {
  let n = Buffer.byteLength(`HTTP/${res.httpVersion} ${res.statusCode} ${res.statusMessage}\r\n`) + 2;
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) n += Buffer.byteLength(`${raw[i]}: ${raw[i + 1]}\r\n`);
  return n;
}

interface StreamHooks {
  idleTimeoutMs: number | undefined;
  maxOpenMs: number | undefined;
  /** Returns true when the body is a stream to hand to onChunk. */
  onHeaders(res: http.IncomingMessage): boolean;
  onChunk(chunk: Buffer): 'stop' | void;
}

interface Exchanged {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  bytesIn: number;
  stopped: boolean;
}

/** A failure after the response headers arrived (a stream cut short): keeps what was known. */
class PartialError extends TransportError {
  constructor(
    kind: FailureKind,
    message: string,
    readonly status: number,
    readonly bytesIn: number,
  ) {
    super(kind, message);
  }
}

function exchange(
  t: Transport,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
  timeoutMs: number,
  stream: boolean,
  hooks: StreamHooks | undefined,
): Promise<Exchanged> {
  return new Promise<Exchanged>((resolve, reject) => {
    if (t.signal.aborted) return reject(new TransportError('cancelled', 'run ended'));
    const target = t.opts.target;
    let req: http.ClientRequest;
    let status: number | null = null;
    let bytesIn = 0;
    let settled = false;
    let idle: NodeJS.Timeout | undefined;
    let openTimer: NodeJS.Timeout | undefined;
    const finish = (err: TransportError | null, value?: Exchanged) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(idle);
      clearTimeout(openTimer);
      t.signal.removeEventListener('abort', onAbort);
      if (err) reject(status === null ? err : new PartialError(err.kind, err.message, status, bytesIn));
      else resolve(value!);
    };
    const fail = (kind: FailureKind, message: string) => {
      finish(new TransportError(kind, message));
      req?.destroy();
    };
    const onAbort = () => fail('cancelled', 'run ended');
    const timer = setTimeout(() => fail('timeout', `no complete response within ${timeoutMs} ms`), timeoutMs);
    const armIdle = () => {
      if (!hooks?.idleTimeoutMs) return;
      clearTimeout(idle);
      idle = setTimeout(() => fail('timeout', `stream idle for ${hooks.idleTimeoutMs} ms`), hooks.idleTimeoutMs);
    };
    t.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const mod = t.secure ? https : http;
      req = mod.request({
        protocol: target.protocol,
        hostname: target.hostname.replace(/^\[|\]$/g, ''),
        port: target.port || (t.secure ? 443 : 80),
        method,
        path,
        headers,
        agent: stream ? t.streamAgent : t.agent,
        setHost: false,
      });
    } catch (err) {
      finish(new TransportError('client', `request not sent: ${(err as Error).message}`));
      return;
    }
    req.on('socket', (socket: Socket) => t.tracker.watch(socket));
    req.on('error', (err: NodeJS.ErrnoException) => fail(err.code?.startsWith('HPE_') ? 'protocol' : 'network', `${err.code ?? 'error'}: ${err.message}`));
    req.on('response', (res) => {
      status = res.statusCode ?? 0;
      bytesIn = responseHeadBytes(res);
      const isStream = hooks ? hooks.onHeaders(res) : false;
      const kept: Buffer[] = [];
      let keptBytes = 0;
      let stopped = false;
      armIdle();
      if (isStream && hooks?.maxOpenMs !== undefined) {
        openTimer = setTimeout(() => {
          stopped = true;
          finish(null, { status: status!, headers: res.headers, body: Buffer.alloc(0), bytesIn, stopped });
          req.destroy();
        }, hooks.maxOpenMs);
      }
      res.on('data', (chunk: Buffer) => {
        bytesIn += chunk.length;
        armIdle();
        if (isStream) {
          if (hooks!.onChunk(chunk) === 'stop') {
            stopped = true;
            finish(null, { status: status!, headers: res.headers, body: Buffer.alloc(0), bytesIn, stopped });
            req.destroy();
          }
          return;
        }
        if (keptBytes < MAX_KEPT_BODY) {
          kept.push(chunk);
          keptBytes += chunk.length;
        }
      });
      res.on('end', () => finish(null, { status: status!, headers: res.headers, body: Buffer.concat(kept), bytesIn, stopped }));
      res.on('error', (err: NodeJS.ErrnoException) => fail('network', `${err.code ?? 'error'}: ${err.message}`));
      res.on('aborted', () => fail('network', 'response aborted by the server'));
    });
    req.end(body);
  });
}
