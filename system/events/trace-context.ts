/**
 * The trace context of the work in progress, on OpenTelemetry: one AsyncLocalStorage context manager for the
 * process (installed on first import), W3C `traceparent` (version 00) to carry a context across a hop (HTTP
 * headers, event-log record headers, the execution record), and helpers to run work as a span. Spans come from the global tracer: the
 * SDK (system/telemetry/tracing.ts) records the sampled ones; without it, or for unsampled traces, spans are
 * non-recording but still carry trace and span ids, so logs and records keep them.
 */
import {
  context,
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';

/** The header name, on HTTP requests and on log records. */
export const TRACEPARENT = 'traceparent';

/** The tracer of every span the platform makes: asked for each time, since the SDK may be started and stopped. */
export function tracer(): Tracer {
  return trace.getTracer('integr8s-ts');
}

// One context manager per process; a second import (another copy of this module) finds it installed.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());


const FORMAT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The traceparent if `value` is a valid version-00 one (all-zero ids are invalid), else null. */
export function parseTraceparent(value: string | undefined): string | null {
  const m = value === undefined ? null : FORMAT.exec(value.trim().toLowerCase());
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return null;
  return m[0];
}

/**
 * The context whose (remote) parent span `traceparent` names; null when it is absent or not valid. Built directly
 * rather than through the W3C propagator (which also reads `tracestate`, never carried here): it runs several times
 * per execution step.
 */
export function contextOf(traceparent: string | null | undefined): Context | null {
  const valid = parseTraceparent(traceparent ?? undefined);
  if (valid === null) return null;
  const spanContext = { traceId: valid.slice(3, 35), spanId: valid.slice(36, 52), traceFlags: Number.parseInt(valid.slice(53), 16) & 1, isRemote: true };
  return trace.setSpanContext(ROOT_CONTEXT, spanContext);
}

/** Like contextOf, but null also when the trace is not sampled: for spans held open across messages. */
export function sampledContextOf(traceparent: string | null | undefined): Context | null {
  const ctx = contextOf(traceparent);
  return ctx && (trace.getSpanContext(ctx)!.traceFlags & TraceFlags.SAMPLED) !== 0 ? ctx : null;
}

/** The traceparent naming the span of `ctx` (default: the active context), or undefined when it has none. */
export function traceparentOf(ctx: Context = context.active()): string | undefined {
  const span = trace.getSpanContext(ctx);
  if (!span || !isSpanContextValid(span)) return undefined;
  return `00-${span.traceId}-${span.spanId}-0${span.traceFlags & 1}`;
}

/** The context of the work in progress as a traceparent, or undefined outside any trace. */
export function currentTraceparent(): string | undefined {
  return traceparentOf(context.active());
}

/** Runs `fn` in the context `parent` names (as its remote parent), or outside any trace when it names none. */
export function withTrace<T>(parent: string | undefined | null, fn: () => T): T {
  return context.with(contextOf(parent) ?? ROOT_CONTEXT, fn);
}

/** The trace and span ids of the work in progress, for log lines; undefined outside any trace context. */
export function currentTraceIds(): { trace_id: string; span_id: string } | undefined {
  const span = trace.getSpanContext(context.active());
  return span ? { trace_id: span.traceId, span_id: span.spanId } : undefined;
}

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The parent; default the active context. */
  parent?: Context;
}

/**
 * Runs `fn` as a span (child of `options.parent` or the active context), active while it runs and ended when it
 * returns or settles; a throw or rejection marks the span as failed and passes on.
 */
export function inSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => T): T {
  const parent = options.parent ?? context.active();
  const above = trace.getSpanContext(parent);
  if (above && (above.traceFlags & TraceFlags.SAMPLED) === 0) {
    // An unsampled trace stays unsampled (the sampler follows the parent): no span to make, the ids carry on as they are.
    return context.with(parent, () => fn(trace.wrapSpanContext(above)));
  }
  const span = tracer().startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, ...(options.attributes ? { attributes: options.attributes } : {}) }, parent);
  return context.with(trace.setSpan(parent, span), () => {
    let result: T;
    try {
      result = fn(span);
    } catch (err) {
      endFailed(span, err);
      throw err;
    }
    if (result instanceof Promise) {
      return result.then(
        (value: unknown) => {
          span.end();
          return value;
        },
        (err: unknown) => {
          endFailed(span, err);
          throw err;
        },
      ) as T;
    }
    span.end();
    return result;
  });
}

/**
 * Like inSpan for calls made on behalf of a traced operation (store and Redis commands): a span only under a
 * recording parent, and nothing at all otherwise, so untraced work pays a context read per call.
 */
export function inChildSpan<T>(name: string, attributes: Attributes, fn: () => T, kind: SpanKind = SpanKind.CLIENT): T {
  const parent = context.active();
  if (!trace.getSpan(parent)?.isRecording()) return fn();
  return inSpan(name, { kind, attributes, parent }, fn);
}

/** Ends a span as failed with the error's message. */
export function endFailed(span: Span, err: unknown): void {
  if (span.isRecording()) {
    span.recordException(err instanceof Error ? err : String(err));
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  }
  span.end();
}

export { SpanKind };

/**
 * Handles a consumed log record as a consumer span, child of the context its `traceparent` header names, so the
 * work it causes (and the events that work publishes) stays in the producer's trace. No header: no span.
 */
export function consumeInSpan<T>(record: { topic: string; partition: number; headers: Record<string, string> }, fn: () => T): T {
  const parent = contextOf(record.headers[TRACEPARENT]);
  if (!parent) return fn();
  const attributes = { 'messaging.destination.name': record.topic, 'messaging.destination.partition.id': String(record.partition), 'messaging.operation.type': 'process' };
  return inSpan(`process ${record.topic}`, { kind: SpanKind.CONSUMER, parent, attributes }, fn);
}
