/**
 * Everything measured during a run: per-endpoint counters and latency histograms, named extra histograms
 * (SSE delivery latency, execution turnaround…), and a per-second timeline. Memory is bounded: histograms have
 * a fixed number of buckets, endpoints are capped, and finished seconds are reduced to a few numbers.
 */
import { Histogram, type LatencySummary } from './histogram.js';

/** One finished request as the report sees it. */
export interface Sample {
  method: string;
  /** Route pattern (ids replaced by `{id}`), never the raw path. */
  route: string;
  /** HTTP status, or null when no response came (then `failure` says why). */
  status: number | null;
  failure?: 'timeout' | 'network' | 'protocol';
  latencyMs: number;
  bytesIn: number;
  bytesOut: number;
  /** Counted as an error: no response, a 5xx, or a status the scenario did not expect. */
  error: boolean;
}

export interface EndpointReport {
  method: string;
  route: string;
  count: number;
  errors: number;
  /** Status code → count; `timeout` / `network` / `protocol` (a response that broke HTTP) for requests without a usable response. */
  status_codes: Record<string, number>;
  latency_ms: LatencySummary;
  bytes_in: number;
  bytes_out: number;
}

export interface TimelinePoint {
  /** Seconds since the start of the run (this point covers [t, t+1)). */
  t: number;
  rps: number;
  p50_ms: number | null;
  p99_ms: number | null;
  errors: number;
  /** Most TCP connections to the target open at once during this second. */
  open_connections: number;
  target_memory_bytes?: number;
  /** Per-second percentiles of the named extra histograms (e.g. `sse_delivery`). */
  metrics?: Record<string, { count: number; p50_ms: number; p99_ms: number }>;
}

interface EndpointStats {
  method: string;
  route: string;
  count: number;
  errors: number;
  statuses: Map<string, number>;
  hist: Histogram;
  bytesIn: number;
  bytesOut: number;
}

interface Second {
  hist: Histogram;
  count: number;
  errors: number;
  openPeak: number;
  memory?: number;
  metrics: Map<string, Histogram>;
}

const MAX_ENDPOINTS = 300;

export class Recorder {
  private readonly endpoints = new Map<string, EndpointStats>();
  private readonly pending = new Map<number, Second>();
  private readonly points: TimelinePoint[] = [];
  private readonly extra = new Map<string, Histogram>();
  private nextSecond = 0;
  private open = 0;
  readonly overall = new Histogram();
  requests = 0;
  errors = 0;
  bytesIn = 0;
  bytesOut = 0;
  peakOpen = 0;
  /** Requests still in flight when the run ended (cancelled by the tool, not counted above). */
  cancelled = 0;

  constructor(
    /** `performance.now()` at the start of the run. */
    public startedAt: number,
    private readonly now: () => number,
  ) {}

  /** Starts the clock again (after setup): the timeline counts from here. */
  begin(at: number): void {
    this.startedAt = at;
    this.pending.clear();
    this.nextSecond = 0;
  }

  private second(at = this.now()): Second {
    const s = Math.max(this.nextSecond, Math.floor((at - this.startedAt) / 1000));
    let sec = this.pending.get(s);
    if (!sec) {
      sec = { hist: new Histogram(), count: 0, errors: 0, openPeak: this.open, metrics: new Map() };
      this.pending.set(s, sec);
    }
    return sec;
  }

  record(sample: Sample): void {
    let key = `${sample.method} ${sample.route}`;
    let ep = this.endpoints.get(key);
    if (!ep && this.endpoints.size >= MAX_ENDPOINTS) {
      key = `${sample.method} (other routes)`;
      ep = this.endpoints.get(key);
    }
    if (!ep) {
      const route = key.slice(sample.method.length + 1);
      ep = { method: sample.method, route, count: 0, errors: 0, statuses: new Map(), hist: new Histogram(), bytesIn: 0, bytesOut: 0 };
      this.endpoints.set(key, ep);
    }
    const code = sample.status === null ? (sample.failure ?? 'network') : String(sample.status);
    ep.count += 1;
    ep.statuses.set(code, (ep.statuses.get(code) ?? 0) + 1);
    ep.hist.record(sample.latencyMs);
    ep.bytesIn += sample.bytesIn;
    ep.bytesOut += sample.bytesOut;
    this.overall.record(sample.latencyMs);
    this.requests += 1;
    this.bytesIn += sample.bytesIn;
    this.bytesOut += sample.bytesOut;
    const sec = this.second();
    sec.hist.record(sample.latencyMs);
    sec.count += 1;
    if (sample.error) {
      ep.errors += 1;
      this.errors += 1;
      sec.errors += 1;
    }
  }

  /** Records a value of a named measurement other than request latency (ms). */
  recordMetric(name: string, ms: number): void {
    let h = this.extra.get(name);
    if (!h) this.extra.set(name, (h = new Histogram()));
    h.record(ms);
    const sec = this.second();
    let sh = sec.metrics.get(name);
    if (!sh) sec.metrics.set(name, (sh = new Histogram()));
    sh.record(ms);
  }

  metric(name: string): Histogram | undefined {
    return this.extra.get(name);
  }

  metricNames(): string[] {
    return [...this.extra.keys()];
  }

  /** The number of open connections changed. */
  noteOpenConnections(open: number): void {
    this.open = open;
    if (open > this.peakOpen) this.peakOpen = open;
    const sec = this.second();
    if (open > sec.openPeak) sec.openPeak = open;
  }

  /** The target's memory as last read (bytes). */
  noteTargetMemory(bytes: number): void {
    this.second().memory = bytes;
  }

  /** Requests completed per second over (about) the last second: a sliding window over the two newest seconds. */
  currentRps(): number {
    const elapsed = (this.now() - this.startedAt) / 1000;
    const s = Math.floor(elapsed);
    const fraction = elapsed - s;
    const count = (sec: number) => {
      const p = this.pending.get(sec);
      if (p) return p.count;
      for (let i = this.points.length - 1; i >= Math.max(0, this.points.length - 3); i--) if (this.points[i]!.t === sec) return this.points[i]!.rps;
      return 0;
    };
    if (s === 0) return fraction > 0.1 ? count(0) / fraction : 0;
    return count(s) + count(s - 1) * (1 - fraction);
  }

  /** Turns every second that has fully passed into a timeline point. */
  flush(): void {
    const current = Math.floor((this.now() - this.startedAt) / 1000);
    while (this.nextSecond < current) this.finalize(this.nextSecond++, 1);
  }

  /** Ends the timeline at the end of the run (the last second may be partial). */
  finish(): void {
    const elapsed = (this.now() - this.startedAt) / 1000;
    this.flush();
    const fraction = elapsed - this.nextSecond;
    if (this.pending.size > 0 || fraction > 0.05) this.finalize(this.nextSecond++, Math.max(fraction, 0.05));
    this.pending.clear();
  }

  private finalize(s: number, length: number): void {
    const sec = this.pending.get(s);
    this.pending.delete(s);
    const point: TimelinePoint = {
      t: s,
      rps: round2((sec?.count ?? 0) / length),
      p50_ms: sec && sec.count > 0 ? sec.hist.percentile(50) : null,
      p99_ms: sec && sec.count > 0 ? sec.hist.percentile(99) : null,
      errors: sec?.errors ?? 0,
      open_connections: sec?.openPeak ?? this.open,
    };
    if (sec?.memory !== undefined) point.target_memory_bytes = sec.memory;
    if (sec && sec.metrics.size > 0) {
      point.metrics = {};
      for (const [name, h] of sec.metrics) point.metrics[name] = { count: h.count, p50_ms: h.percentile(50), p99_ms: h.percentile(99) };
    }
    this.points.push(point);
  }

  timeline(): TimelinePoint[] {
    return [...this.points];
  }

  endpointReports(): EndpointReport[] {
    return [...this.endpoints.values()]
      .map((ep) => ({
        method: ep.method,
        route: ep.route,
        count: ep.count,
        errors: ep.errors,
        status_codes: Object.fromEntries([...ep.statuses].sort(([a], [b]) => a.localeCompare(b))),
        latency_ms: ep.hist.summary(),
        bytes_in: ep.bytesIn,
        bytes_out: ep.bytesOut,
      }))
      .sort((a, b) => a.route.localeCompare(b.route) || a.method.localeCompare(b.method));
  }

  /** Status code → count over all endpoints. */
  statusCodes(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const ep of this.endpoints.values()) for (const [code, n] of ep.statuses) out[code] = (out[code] ?? 0) + n;
    return out;
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
