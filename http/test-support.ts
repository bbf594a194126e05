/** Test doubles and helpers for the transport tests: an in-memory application layer and raw HTTP clients. */
import net from 'node:net';
import { errors } from '../system/domain/errors.js';
import type { DomainEvent, EventType } from '../system/domain/events.js';
import type { ExecutionResult } from '../system/domain/execution.js';
import type {
  Caller,
  CancelResponse,
  DeleteExecutionResponse,
  ExecutionPage,
  ExecutionService,
  ExecutionSummary,
  HealthService,
  K8sLimits,
  SseSink,
  StdinRequest,
  StdinResponse,
  SubmitRequest,
  SubmitResponse,
} from '../system/services/types.js';
import type { HttpLogger } from './log.js';
import { createHttpServer, type HttpServer, type HttpServerDeps } from './server.js';
import { testCallerResolver } from './test-caller.js';

type StreamScript = (sink: SseSink, lastEventId: string | null) => void | Promise<void>;

/** An ExecutionService that keeps everything in memory and records what the transport passed in. */
export class FakeExecutions implements ExecutionService {
  readonly submitted: Array<{ req: SubmitRequest; caller: Caller }> = [];
  readonly cancelled: Array<{ id: string; reason: string }> = [];
  readonly stdinWrites: Array<{ id: string; input: StdinRequest }> = [];
  readonly eventQueries: Array<{ id: string; opts: { eventTypes?: EventType[]; limit: number } }> = [];
  readonly streams: Array<{ id: string; lastEventId: string | null; sink: SseSink }> = [];
  /** What an open stream does after the access check; default: one status frame, then stay open. */
  streamScript: StreamScript = (sink) => sink.send({ id: 'evt-1', event: 'status', data: '{"status":"queued"}' });
  /** Thrown by submit when set (to test unexpected failures). */
  submitFailure: unknown = null;

  async submit(req: SubmitRequest, caller: Caller): Promise<SubmitResponse> {
    if (this.submitFailure) throw this.submitFailure;
    if (req.lang !== 'python') throw errors.validation([{ field: 'lang', message: `unsupported language '${req.lang}'` }]);
    if (req.lang_version !== '3.11') throw errors.validation([{ field: 'lang_version', message: 'unsupported version' }]);
    this.submitted.push({ req, caller });
    return { execution_id: `exec-${this.submitted.length}`, status: 'queued' };
  }

  async result(id: string): Promise<ExecutionResult> {
    this.checkAccess(id);
    return {
      execution_id: id,
      status: 'completed',
      stdout: 'hi\n',
      stderr: '',
      lang: 'python',
      lang_version: '3.11',
      resource_usage: null,
      exit_code: 0,
      error_type: null,
      priority: 'normal',
      stdout_truncated: false,
      stderr_truncated: false,
      created_at: '2024-01-01T00:00:00.000Z',
      start_time: null,
      end_time: null,
    };
  }

  async cancel(id: string, reason: string): Promise<CancelResponse> {
    this.checkAccess(id);
    if (id === 'done') throw errors.invalidState('Cannot cancel execution in completed state');
    this.cancelled.push({ id, reason });
    return { execution_id: id, status: 'cancellation_requested', message: 'Cancellation request submitted', event_id: 'evt-9' };
  }

  async writeStdin(id: string, input: StdinRequest): Promise<StdinResponse> {
    this.checkAccess(id);
    if (id === 'done') throw errors.conflict('Execution is completed, not running');
    this.stdinWrites.push({ id, input });
    return { execution_id: id, status: 'accepted', event_id: 'evt-10' };
  }

  async events(id: string, _caller: Caller, opts: { eventTypes?: EventType[]; limit: number }): Promise<DomainEvent[]> {
    this.checkAccess(id);
    this.eventQueries.push({ id, opts });
    return [];
  }

  async openStream(id: string, _caller: Caller, lastEventId: string | null, sink: SseSink): Promise<void> {
    this.checkAccess(id);
    this.streams.push({ id, lastEventId, sink });
    await this.streamScript(sink, lastEventId);
  }

  async listOwn(_caller: Caller, q: { limit: number; skip: number }): Promise<ExecutionPage<ExecutionSummary>> {
    return { executions: [], total: 0, limit: q.limit, skip: q.skip, has_more: false };
  }

  async retry(id: string): Promise<SubmitResponse> {
    this.checkAccess(id);
    return { execution_id: `${id}-retry`, status: 'queued' };
  }

  async remove(id: string): Promise<DeleteExecutionResponse> {
    this.checkAccess(id);
    return { message: 'Execution deleted successfully', execution_id: id };
  }

  exampleScripts(): Record<string, string> {
    return { python: 'print("hi")' };
  }

  limits(): K8sLimits {
    return {
      cpu_limit: '1000m',
      memory_limit: '256Mi',
      cpu_request: '100m',
      memory_request: '64Mi',
      execution_timeout: 10,
      supported_runtimes: { python: { versions: ['3.11'], file_ext: 'py' } },
    };
  }

  private checkAccess(id: string): void {
    if (id === 'missing') throw errors.notFound('Execution');
    if (id === 'private') throw errors.forbidden('Access denied');
  }
}

/** A HealthService whose readiness the test sets. */
export class FakeHealth implements HealthService {
  ready_ = true;
  live() {
    return { status: 'ok' as const, uptime_seconds: 1, timestamp: new Date().toISOString() };
  }
  async ready() {
    return this.ready_
      ? { status: 'ok' as const, checks: { store: { ok: true, detail: 'ok' } } }
      : { status: 'unavailable' as const, checks: { store: { ok: false, detail: 'connection refused' } } };
  }
}

/** A logger that keeps lines for assertions. */
export class MemoryLog implements HttpLogger {
  readonly lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
  info(fields: Record<string, unknown>, message: string) {
    this.lines.push({ level: 'info', message, fields });
  }
  warn(fields: Record<string, unknown>, message: string) {
    this.lines.push({ level: 'warn', message, fields });
  }
  error(fields: Record<string, unknown>, message: string) {
    this.lines.push({ level: 'error', message, fields });
  }
}

/** A started server on a free port with fakes behind it. */
export interface Harness {
  server: HttpServer;
  port: number;
  base: string;
  executions: FakeExecutions;
  health: FakeHealth;
  log: MemoryLog;
}

/**
 * Starts the real uWS server on port 0; `overrides` replace deps or config fields. Callers are signed in as
 * `user-1` (role user) unless a test header says otherwise (see test-caller.ts) or `resolveCaller` is overridden.
 */
export async function startHarness(
  overrides: Partial<Omit<HttpServerDeps, 'config'>> & { config?: Partial<HttpServerDeps['config']> } = {},
): Promise<Harness> {
  const executions = new FakeExecutions();
  const health = new FakeHealth();
  const log = new MemoryLog();
  const { config, ...rest } = overrides;
  const server = createHttpServer({
    executions,
    health,
    log,
    resolveCaller: testCallerResolver({ userId: 'user-1', role: 'user' }),
    ...rest,
    config: {
      host: '127.0.0.1',
      port: 0,
      maxBodyBytes: 10 * 1024 * 1024,
      corsOrigins: ['http://app.example'],
      sseHeartbeatMs: 15_000,
      sseMaxBufferedBytes: 256 * 1024,
      shutdownGraceMs: 500,
      ...config,
    },
  });
  const { port } = await server.listen();
  return { server, port, base: `http://127.0.0.1:${port}`, executions, health, log };
}

/** Parsed head of a raw HTTP response. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  raw: string;
}

/** Parses the status line and headers of a raw response text. */
export function parseHead(raw: string): RawResponse {
  const head = raw.slice(0, raw.indexOf('\r\n\r\n'));
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, raw };
}

/** Opens a raw TCP connection to the server. */
export function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Collects what a socket receives until `done(text)` is true; rejects after `timeoutMs`. */
export function readUntil(socket: net.Socket, done: (text: string) => boolean, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => finish(new Error(`timed out; received so far: ${text.slice(0, 500)}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (done(text)) finish(null);
    };
    const onEnd = () => finish(done(text) ? null : new Error(`connection ended; received: ${text.slice(0, 500)}`));
    function finish(err: Error | null) {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      if (err) reject(err);
      else resolve(text);
    }
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
  });
}

/** Reads an SSE response body (fetch) until `done(text)`; returns the text so far. */
export async function readStream(body: ReadableStream<Uint8Array>, done: (text: string) => boolean, timeoutMs = 5000): Promise<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + timeoutMs;
  try {
    while (!done(text)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; received: ${text.slice(0, 500)}`);
      const next = await Promise.race([
        reader.read(),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out; received: ${text.slice(0, 500)}`)), left)),
      ]);
      if (next.done) break;
      text += decoder.decode(next.value, { stream: true });
    }
  } finally {
    reader.releaseLock();
  }
  return text;
}

/** Waits until `check()` is true, polling; fails after `timeoutMs`. */
export async function eventually(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
