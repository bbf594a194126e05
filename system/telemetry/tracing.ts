/**
 * The node's tracing SDK: one tracer provider per process, registered as the global one that
 * system/events/trace-context.ts starts spans from. Its sampler is ParentBased(TraceIdRatio) with the ratio read
 * from the live admin settings (`enable_tracing`, `sampling_rate`), so a change applies to the next span. Finished
 * sampled spans go over OTLP/HTTP to `<OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces` when set, and as JSON lines to
 * TRACE_SPANS_FILE when set (see SpanFileExporter).
 */
import { trace, type Attributes, type Context, type Link, type SpanKind } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  SamplingDecision,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SamplingResult,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { SpanFileExporter } from './span-file-exporter.js';

/** How traces are sampled right now: the admin settings `enable_tracing` and `sampling_rate`. */
export interface TraceSampling {
  enabled: boolean;
  /** 0–1: the share of new traces recorded; a trace that arrives sampled (or not) keeps its parent's decision. */
  ratio: number;
}

/**
 * ParentBased(TraceIdRatio) whose ratio can change while the node runs, and which records nothing while tracing is
 * disabled. A span with a parent follows the parent's decision, so one trace is recorded whole or not at all, on
 * every node it crosses.
 */
export class LiveSampler implements Sampler {
  private current: TraceSampling;
  private sampler: Sampler;

  constructor(initial: TraceSampling) {
    this.current = initial;
    this.sampler = LiveSampler.build(initial.ratio);
  }

  /** Applies new settings; the next span is sampled by them. */
  configure(next: TraceSampling): void {
    if (next.ratio !== this.current.ratio) this.sampler = LiveSampler.build(next.ratio);
    this.current = { ...next };
  }

  /** The settings in force. */
  get settings(): TraceSampling {
    return this.current;
  }

  /** Whether a new trace (no parent) can be recorded at all: callers skip span work when not. */
  get recordsNewTraces(): boolean {
    return this.current.enabled && this.current.ratio > 0;
  }

  shouldSample(ctx: Context, traceId: string, name: string, kind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    if (!this.current.enabled) return { decision: SamplingDecision.NOT_RECORD };
    return this.sampler.shouldSample(ctx, traceId, name, kind, attributes, links);
  }

  toString(): string {
    return `LiveSampler{enabled=${this.current.enabled}, ${this.sampler.toString()}}`;
  }

  private static build(ratio: number): Sampler {
    return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}

export interface TracingOptions {
  nodeId: string;
  mode: 'embedded' | 'cluster';
  sampling: TraceSampling;
  /** OTLP/HTTP base URL (`…:4318`); spans are pushed to `<endpoint>/v1/traces` when set. */
  otlpEndpoint?: string | null;
  /** Finished spans are appended here as JSON lines when set. */
  spansFile?: string | null;
}

/** The process's tracing. */
export interface Tracing {
  readonly sampler: LiveSampler;
  /** Exports what is buffered and stops (the last holder of a shared instance does). */
  shutdown(): Promise<void>;
}

let shared: { tracing: Tracing; provider: BasicTracerProvider; holders: number } | null = null;

/**
 * Starts the tracing SDK and registers it as the global tracer provider. A process runs one: nodes started in the
 * same process (tests) share the first one's provider and sampler, and it shuts down with the last of them.
 */
export function startTracing(options: TracingOptions): Tracing {
  if (shared) {
    shared.holders++;
    return shared.tracing;
  }
  const sampler = new LiveSampler(options.sampling);
  const spanProcessors: SpanProcessor[] = [];
  if (options.otlpEndpoint) {
    spanProcessors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: `${options.otlpEndpoint.replace(/\/+$/, '')}/v1/traces` })));
  }
  if (options.spansFile) spanProcessors.push(new SimpleSpanProcessor(new SpanFileExporter(options.spansFile)));
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'integr8s-ts', 'service.instance.id': options.nodeId, 'integr8s.mode': options.mode }),
    sampler,
    spanProcessors,
  });
  trace.setGlobalTracerProvider(provider);
  const tracing: Tracing = {
    sampler,
    async shutdown() {
      if (!shared || shared.tracing !== tracing || --shared.holders > 0) return;
      shared = null;
      trace.disable();
      await provider.shutdown();
    },
  };
  shared = { tracing, provider, holders: 1 };
  return tracing;
}
