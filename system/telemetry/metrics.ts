/**
 * The node's metrics, on the OpenTelemetry SDK: one MeterProvider whose readers are a Prometheus exporter (no
 * server of its own: GET /metrics asks it for the text) and, when OTEL_EXPORTER_OTLP_ENDPOINT is set, a periodic
 * OTLP/HTTP exporter. Nothing here runs on the request path: HTTP counts come from the server's own per-route
 * table (http/metrics.ts) and recorded figures from the process-wide registry (instruments.ts), both through a
 * MetricProducer at collection time; everything else is an observable instrument read from the component that
 * knows the figure.
 */
import { ValueType, type Attributes, type Meter } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  MeterProvider,
  PeriodicExportingMetricReader,
  type CollectionResult,
  type DataPoint,
  type Histogram,
  type MetricData,
  type MetricProducer,
  type MetricReader,
} from '@opentelemetry/sdk-metrics';
import { DURATION_BUCKETS_MS, SIZE_BUCKETS_BYTES, type RouteStats, type SizeStats } from '../../http/metrics.js';
import type { SseStats } from '../../http/sse.js';
import type { ConsumerLag } from '../ports/event-log.js';
import { registry } from './instruments.js';

export interface MetricsOptions {
  nodeId: string;
  mode: 'embedded' | 'cluster';
  /** OTLP/HTTP base URL (`…:4318`); metrics are pushed to `<endpoint>/v1/metrics` when set. */
  otlpEndpoint?: string | undefined;
  /** How often metrics are pushed over OTLP; default 15 s. */
  exportIntervalMs?: number;
}

/** Where the figures come from; each is read when metrics are collected, never before. */
export interface MetricSources {
  http(): RouteStats[];
  /** Requests the server is handling now. */
  httpActive(): number;
  sse(): SseStats;
  admission(): Promise<{ queue_depth: number; active_count: number; max_concurrent: number }>;
  partitions(): number[];
  /** Dead letters waiting for an admin (shared store: every node reports the same figure) and the oldest's age. */
  deadLetters(): Promise<{ depth: number; oldest_age_seconds: number }>;
  /** Webhook/Slack notifications this node sent, failed to send and throttled, by channel (counted since start). */
  notifications?(): Record<'sent' | 'failed' | 'throttled', Record<string, number>>;
  /** Live actors by kind: how many, and the messages waiting in their mailboxes (all of them, and the fullest). */
  actors(): Record<string, { count: number; mailbox: number; maxMailbox: number }>;
  /** How far this node's consumer groups are behind, per topic and partition (the log's `lag()`; [] without one). */
  consumerLag(): Promise<ConsumerLag[]>;
}

export interface PlatformMetrics {
  readonly meter: Meter;
  /** Starts reading the sources (once, when the node's parts exist). */
  observe(sources: MetricSources): void;
  /** Every metric in the Prometheus text format. */
  prometheus(): Promise<string>;
  close(): Promise<void>;
}

const SCOPE = { name: 'integr8s-ts' };
const DURATION_BUCKETS_SECONDS = DURATION_BUCKETS_MS.map((ms) => ms / 1000);

/** Creates the node's metrics; `close()` flushes the OTLP exporter, if any. */
export function createPlatformMetrics(options: MetricsOptions): PlatformMetrics {
  let sources: MetricSources | null = null;
  const startTime = hrTime(Date.now());
  const httpProducer: MetricProducer = {
    collect: async (): Promise<CollectionResult> => ({
      resourceMetrics: {
        resource: resourceFromAttributes({}),
        scopeMetrics: [{ scope: SCOPE, metrics: [...(sources ? httpMetrics(sources.http(), startTime) : []), ...registry.collect(startTime, hrTime(Date.now()))] }],
      },
      errors: [],
    }),
  };
  const prometheus = new PrometheusExporter({ preventServerStart: true, metricProducers: [httpProducer] });
  const readers: MetricReader[] = [prometheus];
  if (options.otlpEndpoint) {
    const exporter = new OTLPMetricExporter({ url: `${options.otlpEndpoint.replace(/\/+$/, '')}/v1/metrics` });
    readers.push(
      new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: options.exportIntervalMs ?? 15_000, metricProducers: [httpProducer] }),
    );
  }
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'integr8s-ts', 'service.instance.id': options.nodeId, 'integr8s.mode': options.mode }),
    readers,
  });
  const meter = provider.getMeter(SCOPE.name);
  const serializer = new PrometheusSerializer();

  return {
    meter,
    observe(given) {
      if (sources) return;
      sources = given;
      registerObservables(meter, given);
    },
    async prometheus() {
      const { resourceMetrics } = await prometheus.collect();
      return serializer.serialize(resourceMetrics);
    },
    close: () => provider.shutdown(),
  };
}

function registerObservables(meter: Meter, sources: MetricSources): void {
  const gauge = (name: string, description: string, unit: string, read: () => number | Promise<number>) => {
    meter.createObservableGauge(name, { description, unit, valueType: ValueType.INT }).addCallback(async (result) => {
      result.observe(await read());
    });
  };
  gauge('process.memory.rss_bytes', 'Resident set size of the node process', 'By', () => process.memoryUsage.rss());
  gauge('process.memory.heap_used_bytes', 'V8 heap in use', 'By', () => process.memoryUsage().heapUsed);
  gauge('http.server.active_requests', 'HTTP requests being handled on this node (open SSE streams included)', '{request}', () => sources.httpActive());
  registerActorGauges(meter, sources);
  registerLagGauge(meter, sources);
  gauge('sse.sessions.open', 'Open SSE streams on this node', '{stream}', () => sources.sse().open);
  gauge('sse.buffered_bytes', 'Bytes waiting in SSE stream buffers on this node', 'By', () => sources.sse().bufferedBytes);
  const counter = (name: string, description: string, unit: string, read: (s: SseStats) => number) => {
    meter.createObservableCounter(name, { description, unit, valueType: ValueType.INT }).addCallback((result) => {
      result.observe(read(sources.sse()));
    });
  };
  counter('sse.frames.sent', 'SSE frames handed to client sockets on this node', '{frame}', (s) => s.framesSent);
  counter('sse.frames.dropped', 'SSE frames never delivered: their stream was closed as too slow, or the client left with frames queued', '{frame}', (s) => s.framesDropped);
  counter('sse.streams.closed_slow', 'SSE streams closed because the client stopped reading and the buffer reached SSE_MAX_BUFFER_KB', '{stream}', (s) => s.closedSlow);
  gauge('cluster.partitions.owned', 'Partitions this node owns', '{partition}', () => sources.partitions().length);
  const depth = meter.createObservableGauge('executions.queue.depth', { description: 'Executions waiting for a slot on this node', unit: '{execution}' });
  const active = meter.createObservableGauge('executions.active', { description: 'Executions holding a slot on this node', unit: '{execution}' });
  const cap = meter.createObservableGauge('executions.max_concurrent', { description: 'The cap on executions running at once', unit: '{execution}' });
  meter.addBatchObservableCallback(
    async (result) => {
      const snap = await sources.admission().catch(() => null);
      if (!snap) return;
      result.observe(depth, snap.queue_depth);
      result.observe(active, snap.active_count);
      result.observe(cap, snap.max_concurrent);
    },
    [depth, active, cap],
  );
  const dlqDepth = meter.createObservableGauge('dlq.depth', { description: 'Dead letters waiting for an admin to retry or discard them', unit: '{message}', valueType: ValueType.INT });
  const dlqAge = meter.createObservableGauge('dlq.oldest_age_seconds', { description: 'How long the oldest waiting dead letter has waited', unit: 's' });
  meter.addBatchObservableCallback(
    async (result) => {
      const stats = await sources.deadLetters().catch(() => null);
      if (!stats) return;
      result.observe(dlqDepth, stats.depth);
      result.observe(dlqAge, stats.oldest_age_seconds);
    },
    [dlqDepth, dlqAge],
  );
  registerNotificationCounters(meter, sources);
}

/** Live actors and their mailbox depths by kind, read from the actor tree at collection time. */
function registerActorGauges(meter: Meter, sources: MetricSources): void {
  const live = meter.createObservableGauge('actors.live', { description: 'Live actors on this node, by kind', unit: '{actor}', valueType: ValueType.INT });
  const mailbox = meter.createObservableGauge('actors.mailbox.depth', { description: 'Messages waiting in the mailboxes of all actors of a kind', unit: '{message}', valueType: ValueType.INT });
  const fullest = meter.createObservableGauge('actors.mailbox.max_depth', { description: 'Messages waiting in the fullest mailbox of a kind', unit: '{message}', valueType: ValueType.INT });
  meter.addBatchObservableCallback(
    (result) => {
      for (const [kind, t] of Object.entries(sources.actors())) {
        result.observe(live, t.count, { kind });
        result.observe(mailbox, t.mailbox, { kind });
        result.observe(fullest, t.maxMailbox, { kind });
      }
    },
    [live, mailbox, fullest],
  );
}

/** Consumer lag per group, topic and partition, asked of the event log at collection time. */
function registerLagGauge(meter: Meter, sources: MetricSources): void {
  meter
    .createObservableGauge('messaging.consumer.lag', { description: 'Records appended and not yet handled by a consumer group, per topic and partition', unit: '{message}', valueType: ValueType.INT })
    .addCallback(async (result) => {
      const lags = await sources.consumerLag().catch(() => []);
      for (const l of lags) {
        result.observe(l.lag, {
          'messaging.system': l.system,
          'messaging.consumer.group.name': l.group,
          'messaging.destination.name': l.topic,
          'messaging.destination.partition.id': String(l.partition),
        });
      }
    });
}

/** The server's per-route table as OTel data: a request counter per status, duration and body-size histograms per route. */
function httpMetrics(stats: RouteStats[], startTime: [number, number]): MetricData[] {
  const endTime = hrTime(Date.now());
  const requests: DataPoint<number>[] = [];
  const durations: DataPoint<Histogram>[] = [];
  const requestSizes: DataPoint<Histogram>[] = [];
  const responseSizes: DataPoint<Histogram>[] = [];
  const size = (z: SizeStats, attributes: Attributes, count: number): DataPoint<Histogram> => ({
    startTime,
    endTime,
    attributes,
    value: { buckets: { boundaries: [...SIZE_BUCKETS_BYTES], counts: z.counts }, sum: z.sum, count },
  });
  for (const s of stats) {
    const route: Attributes = { 'http.request.method': s.method, 'http.route': s.route };
    for (const [status, count] of Object.entries(s.byStatus)) {
      requests.push({ startTime, endTime, attributes: { ...route, 'http.response.status_code': Number(status) }, value: count });
    }
    if (s.aborted > 0) requests.push({ startTime, endTime, attributes: { ...route, 'http.response.status_code': 0 }, value: s.aborted });
    // The table's buckets are cumulative (Prometheus style); OTel wants a count per bucket.
    const counts = s.buckets.map((c, i) => c - (i > 0 ? s.buckets[i - 1]! : 0));
    durations.push({
      startTime,
      endTime,
      attributes: route,
      value: { buckets: { boundaries: DURATION_BUCKETS_SECONDS, counts }, sum: s.totalMs / 1000, count: s.count, max: s.maxMs / 1000 },
    });
    requestSizes.push(size(s.requestBytes, route, s.count));
    responseSizes.push(size(s.responseBytes, route, s.count));
  }
  return [
    {
      descriptor: { name: 'http.server.requests', description: 'HTTP requests answered, by route and status (0: client left)', unit: '{request}', valueType: ValueType.INT },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.SUM,
      isMonotonic: true,
      dataPoints: requests,
    },
    {
      descriptor: { name: 'http.server.request.duration_seconds', description: 'Time from request to last byte, by route', unit: 's', valueType: ValueType.DOUBLE },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: durations,
    },
    {
      descriptor: { name: 'http.server.request.body.size_bytes', description: 'Request body sizes (declared Content-Length), by route', unit: 'By', valueType: ValueType.INT },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: requestSizes,
    },
    {
      descriptor: { name: 'http.server.response.body.size_bytes', description: 'Response body bytes written, by route', unit: 'By', valueType: ValueType.INT },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: responseSizes,
    },
  ];
}

function hrTime(ms: number): [number, number] {
  return [Math.floor(ms / 1000), (ms % 1000) * 1e6];
}

/** notifications.sent / .failed / .throttled by channel, read from the notification service at collection time. */
function registerNotificationCounters(meter: Meter, sources: MetricSources): void {
  const read = sources.notifications;
  if (!read) return;
  const described = {
    sent: 'Webhook and Slack notifications delivered by this node, by channel',
    failed: 'Webhook and Slack notifications whose delivery failed after its retries, by channel',
    throttled: 'Low and medium notifications kept but not sent: over the per-user rate for the channel',
  } as const;
  for (const outcome of ['sent', 'failed', 'throttled'] as const) {
    meter.createObservableCounter(`notifications.${outcome}`, { description: described[outcome], unit: '{notification}', valueType: ValueType.INT }).addCallback((result) => {
      for (const [channel, n] of Object.entries(read()[outcome])) result.observe(n, { channel });
    });
  }
}
