/**
 * The server span of a request: the request joins the caller's trace when it sent a `traceparent`, else starts
 * one, and runs inside the span's context so the events it publishes (and the execution record it creates) carry
 * it. Kept cheap: health checks and /metrics are never traced; a read (GET/HEAD) without a traceparent that the
 * sampler does not record runs with no span context at all (a read publishes nothing); every other request gets
 * the span's ids even when unsampled, so its log lines and the events it publishes share a trace id.
 */
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { contextOf, TRACEPARENT, tracer } from '../system/events/trace-context.js';
import type { HttpContext, Outcome } from './context.js';

/** Whether new traces can be recorded right now (tracing enabled and a ratio above 0). */
export interface RequestSampling {
  readonly recordsNewTraces: boolean;
}

/** Paths never traced: probes and scrapes would fill the traces with noise. */
function untraced(path: string): boolean {
  return path.startsWith('/api/v1/health/') || path === '/metrics';
}

/** Runs `serve` (the pipeline) inside the request's server span, ended when the response is finished. */
export function traceRequest(ctx: HttpContext, sampling: RequestSampling, serve: () => void): void {
  const incoming = ctx.headers[TRACEPARENT];
  const read = ctx.method === 'GET' || ctx.method === 'HEAD';
  if ((incoming === undefined && read && !sampling.recordsNewTraces) || untraced(ctx.path)) return serve();
  const parent = contextOf(incoming) ?? ROOT_CONTEXT;
  const span = tracer().startSpan(ctx.method, { kind: SpanKind.SERVER }, parent);
  if (span.isRecording()) {
    span.setAttributes({ 'http.request.method': ctx.method, 'url.path': ctx.path });
    ctx.onFinish((outcome: Outcome) => {
      span.updateName(`${ctx.method} ${ctx.route ?? 'unmatched'}`);
      if (ctx.route) span.setAttribute('http.route', ctx.route);
      if (outcome.kind === 'sent') {
        span.setAttribute('http.response.status_code', outcome.status);
        if (outcome.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      } else span.setAttribute('http.request.aborted', true);
      span.end();
    });
  } else if (read && incoming === undefined) return serve();
  context.with(trace.setSpan(parent, span), serve);
}
