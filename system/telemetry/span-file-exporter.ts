/**
 * A span exporter that appends each finished span as one JSON line to a file (TRACE_SPANS_FILE). Meant for tests
 * and debugging, where nodes are separate processes and their spans must be read back from outside; never on
 * unless configured. The line names the span, its ids and its parent's, kind, times, status, attributes and the
 * node (the resource's service.instance.id).
 */
import { appendFileSync } from 'node:fs';
import { SpanKind, SpanStatusCode, type HrTime } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/** One span as written to the file. */
export interface SpanLine {
  name: string;
  trace_id: string;
  span_id: string;
  /** The parent span's id, null for a root span. */
  parent_span_id: string | null;
  kind: keyof typeof SpanKind;
  /** Epoch microseconds. */
  start_us: number;
  end_us: number;
  status: 'unset' | 'ok' | 'error';
  attributes: Record<string, unknown>;
  node: string | null;
}

const KINDS = Object.fromEntries(Object.entries(SpanKind).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v, k])) as Record<number, keyof typeof SpanKind>;
const STATUSES = { [SpanStatusCode.UNSET]: 'unset', [SpanStatusCode.OK]: 'ok', [SpanStatusCode.ERROR]: 'error' } as const;

const micros = (t: HrTime) => t[0] * 1e6 + Math.round(t[1] / 1e3);

/** The file line of a finished span. */
export function toSpanLine(span: ReadableSpan): SpanLine {
  const own = span.spanContext();
  const node = span.resource.attributes['service.instance.id'];
  return {
    name: span.name,
    trace_id: own.traceId,
    span_id: own.spanId,
    parent_span_id: span.parentSpanContext?.spanId ?? null,
    kind: KINDS[span.kind] ?? 'INTERNAL',
    start_us: micros(span.startTime),
    end_us: micros(span.endTime),
    status: STATUSES[span.status.code],
    attributes: { ...span.attributes },
    node: typeof node === 'string' ? node : null,
  };
}

/** Appends finished spans to `path`, one JSON line each (lines from several processes interleave whole). */
export class SpanFileExporter implements SpanExporter {
  constructor(private readonly path: string) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    try {
      appendFileSync(this.path, spans.map((s) => `${JSON.stringify(toSpanLine(s))}\n`).join(''));
      done({ code: ExportResultCode.SUCCESS });
    } catch (error) {
      done({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) });
    }
  }

  async shutdown(): Promise<void> {}
}
