import type { Outcome } from './context.js';

/** Upper bounds (ms) of the request-duration histogram buckets; the last bucket is +Inf. */
export const DURATION_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000] as const;
/** Upper bounds (bytes) of the request- and response-body size histogram buckets; the last bucket is +Inf. */
export const SIZE_BUCKETS_BYTES = [100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000] as const;

/** Counters for one method + route pattern. */
export interface RouteStats {
  method: string;
  route: string;
  count: number;
  /** Requests whose client left before the response was finished. */
  aborted: number;
  byStatus: Record<string, number>;
  totalMs: number;
  maxMs: number;
  /** Cumulative counts per DURATION_BUCKETS_MS bound, then +Inf (Prometheus style). */
  buckets: number[];
  /** Body sizes: request (declared Content-Length) and response (bytes written), counts per SIZE_BUCKETS_BYTES bound then +Inf (not cumulative). */
  requestBytes: SizeStats;
  responseBytes: SizeStats;
}

/** A size histogram: observations per bucket (not cumulative) and their sum. */
export interface SizeStats {
  counts: number[];
  sum: number;
}

const sizeStats = (): SizeStats => ({ counts: new Array<number>(SIZE_BUCKETS_BYTES.length + 1).fill(0), sum: 0 });

function addSize(stats: SizeStats, bytes: number): void {
  let i = 0;
  while (i < SIZE_BUCKETS_BYTES.length && bytes > SIZE_BUCKETS_BYTES[i]!) i++;
  stats.counts[i]!++;
  stats.sum += bytes;
}

/** In-memory request counts, durations and sizes per route, and the requests in flight; read by GET /metrics. */
export class HttpMetrics {
  private readonly stats = new Map<string, RouteStats>();
  /** Requests begun and not yet finished. */
  active = 0;

  /** A request reached the metrics step; end() when it finishes. */
  begin(): void {
    this.active++;
  }

  /** A begun request finished. */
  end(): void {
    this.active--;
  }

  /** Records one finished request. `route` is the pattern, never the raw path (bounded label set). */
  record(method: string, route: string, outcome: Outcome, durationMs: number, requestBytes = 0, responseBytes = 0): void {
    const key = `${method} ${route}`;
    let s = this.stats.get(key);
    if (!s) {
      s = { method, route, count: 0, aborted: 0, byStatus: {}, totalMs: 0, maxMs: 0, buckets: new Array<number>(DURATION_BUCKETS_MS.length + 1).fill(0), requestBytes: sizeStats(), responseBytes: sizeStats() };
      this.stats.set(key, s);
    }
    s.count += 1;
    if (outcome.kind === 'aborted') s.aborted += 1;
    else s.byStatus[outcome.status] = (s.byStatus[outcome.status] ?? 0) + 1;
    s.totalMs += durationMs;
    s.maxMs = Math.max(s.maxMs, durationMs);
    for (let i = 0; i < s.buckets.length; i++) {
      const bound = DURATION_BUCKETS_MS[i];
      if (bound === undefined || durationMs <= bound) s.buckets[i] = (s.buckets[i] ?? 0) + 1;
    }
    addSize(s.requestBytes, requestBytes);
    addSize(s.responseBytes, responseBytes);
  }

  /** A copy of every route's counters. */
  snapshot(): RouteStats[] {
    const copy = (z: SizeStats): SizeStats => ({ counts: [...z.counts], sum: z.sum });
    return [...this.stats.values()].map((s) => ({ ...s, byStatus: { ...s.byStatus }, buckets: [...s.buckets], requestBytes: copy(s.requestBytes), responseBytes: copy(s.responseBytes) }));
  }
}
