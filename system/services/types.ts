import type { DomainEvent } from '../domain/events.js';
import type { ExecutionResult, ExecutionStatus } from '../domain/execution.js';
import type { EventType } from '../domain/events.js';
import type { Language } from '../domain/runtimes.js';
import type { EncodedSseFrame } from './sse-encoding.js';

/** Who is asking: resolved by the HTTP pipeline's auth step from the session cookie; anonymous without one. */
export interface Caller {
  userId: string | null;
  role: 'anonymous' | 'user' | 'admin';
  ip: string;
}

/** A caller whose address is read from the request only if something asks for it. */
export function callerOf(request: { readonly ip: string }, userId: string | null, role: Caller['role']): Caller {
  return new RequestCaller(request, userId, role);
}

class RequestCaller implements Caller {
  constructor(
    private readonly request: { readonly ip: string },
    readonly userId: string | null,
    readonly role: Caller['role'],
  ) {}

  get ip(): string {
    return this.request.ip;
  }
}

/** POST /execute, already shape-checked by the wire schema. */
export interface SubmitRequest {
  script: string;
  lang: string;
  lang_version: string;
  /** Fed to the program's standard input as it starts. */
  stdin?: string;
  /** Keeps standard input open after `stdin` for POST /executions/{id}/stdin. */
  interactive?: boolean;
  idempotencyKey?: string;
}

/** POST /executions/{id}/stdin, shape-checked. */
export interface StdinRequest {
  data: string;
  eof: boolean;
}

/** The answer to a stdin write: accepted and on its way to the program (writes reach it in order). */
export interface StdinResponse {
  execution_id: string;
  status: 'accepted';
  event_id: string;
}

export interface SubmitResponse {
  execution_id: string;
  status: 'queued';
}

export interface CancelResponse {
  execution_id: string;
  status: 'cancellation_requested' | 'already_cancelled';
  message: string;
  event_id: string | null;
}

/** One SSE frame as the transport writes it. */
export interface SseFrame {
  id?: string;
  event?: string;
  data: string;
}

/** Where a stream writes frames; implemented by the HTTP transport (which owns heartbeats and backpressure). */
export interface SseSink {
  /** Queues a frame; the transport closes the stream itself if the client cannot keep up. */
  send(frame: SseFrame): void;
  /** Queues a frame serialised once for many streams (fan-out): the same bytes go to every stream. */
  sendEncoded(frame: EncodedSseFrame): void;
  /** Ends the stream from the server side. */
  end(): void;
  /** Sends a last frame (serialised once for many streams) and ends the stream: one socket write when it can. */
  endWith(frame: EncodedSseFrame): void;
  readonly closed: boolean;
  /** Called once when the stream ends for any reason (client gone, end(), overflow). */
  onClosed(listener: () => void): void;
}

export interface K8sLimits {
  cpu_limit: string;
  memory_limit: string;
  cpu_request: string;
  memory_request: string;
  execution_timeout: number;
  supported_runtimes: Record<string, { versions: string[]; file_ext: string }>;
}

/** GET /user/executions filters, validated; `from`/`to` bound `created_at` (ISO instants, inclusive). */
export interface ExecutionListQuery {
  status?: ExecutionStatus;
  lang?: Language;
  from?: string;
  to?: string;
  limit: number;
  skip: number;
}

/** One execution in a history list: its result plus the script that produced it. */
export type ExecutionSummary = ExecutionResult & { script: string; user_id: string | null; updated_at: string };

/** A page of a list, as the API returns lists of executions. */
export interface ExecutionPage<T> {
  executions: T[];
  total: number;
  limit: number;
  skip: number;
  has_more: boolean;
}

/** DELETE /executions/{id}. */
export interface DeleteExecutionResponse {
  message: string;
  execution_id: string;
}

/** The execution use cases the HTTP layer calls. Throws AppError from the catalogue. */
export interface ExecutionService {
  submit(req: SubmitRequest, caller: Caller): Promise<SubmitResponse>;
  result(executionId: string, caller: Caller): Promise<ExecutionResult>;
  cancel(executionId: string, reason: string, caller: Caller): Promise<CancelResponse>;
  /** Sends standard input to the caller's own running, interactive execution (403 others, 409 not running or not interactive). */
  writeStdin(executionId: string, input: StdinRequest, caller: Caller): Promise<StdinResponse>;
  events(executionId: string, caller: Caller, opts: { eventTypes?: EventType[]; limit: number }): Promise<DomainEvent[]>;
  /** Checks access (throws 404/403 before anything is streamed), then streams the execution's frames into the sink. */
  openStream(executionId: string, caller: Caller, lastEventId: string | null, sink: SseSink): Promise<void>;
  /** The caller's own executions, newest first (401 without a user). */
  listOwn(caller: Caller, query: ExecutionListQuery): Promise<ExecutionPage<ExecutionSummary>>;
  /** A new execution with the same script, language and version, owned by the original's owner; 400 unless it ended. */
  retry(executionId: string, caller: Caller): Promise<SubmitResponse>;
  /** Removes a finished execution's record (admin only; 400 unless it ended). Its stored events stay. */
  remove(executionId: string, caller: Caller): Promise<DeleteExecutionResponse>;
  exampleScripts(): Record<string, string>;
  limits(): K8sLimits;
}

/** Liveness and readiness. */
export interface HealthService {
  live(): { status: 'ok'; uptime_seconds: number; timestamp: string };
  ready(): Promise<{ status: 'ok' | 'unavailable'; checks: Record<string, { ok: boolean; detail: string }> }>;
}
