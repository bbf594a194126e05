import type { Outcome } from './context.js';

/** Upper bounds (ms) of the request-duration histogram buckets; the last bucket is +Inf. */
export const DURATION_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000] as const;

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
}

/** In-memory request counts and durations per route; read by a future /metrics endpoint. */
export class HttpMetrics {
  private readonly stats = new Map<string, RouteStats>();

  /** Records one finished request. `route` is the pattern, never the raw path (bounded label set). */
  record(method: string, route: string, outcome: Outcome, durationMs: number): void {
    const key = `${method} ${route}`;
    let s = this.stats.get(key);
    if (!s) {
      s = { method, route, count: 0, aborted: 0, byStatus: {}, totalMs: 0, maxMs: 0, buckets: new Array<number>(DURATION_BUCKETS_MS.length + 1).fill(0) };
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
  }

  /** A copy of every route's counters. */
  snapshot(): RouteStats[] {
    return [...this.stats.values()].map((s) => ({ ...s, byStatus: { ...s.byStatus }, buckets: [...s.buckets] }));
  }
}
