/** The report document (report.json) and how it is assembled from a run's recorder. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LatencySummary } from '../histogram.js';
import type { EndpointReport, Recorder, TimelinePoint } from '../stats.js';

export interface MetricReport extends LatencySummary {
  description: string;
}

export interface Report {
  tool: 'integr8s-loadtest';
  format_version: 1;
  mode: string;
  target: string;
  started_at: string;
  ended_at: string;
  /** Seconds the load ran (setup excluded, drain included). */
  duration_s: number;
  options: Record<string, unknown>;
  summary: {
    requests: number;
    errors: number;
    error_rate: number;
    /** Requests in flight when the run ended, cancelled by the tool (not in the figures). */
    cancelled: number;
    rps: number;
    latency_ms: LatencySummary;
    bytes_in: number;
    bytes_out: number;
    peak_open_connections: number;
    status_codes: Record<string, number>;
  };
  endpoints: EndpointReport[];
  timeline: TimelinePoint[];
  /** Extra measurements besides request latency (SSE delivery, execution turnaround…). */
  metrics: Record<string, MetricReport>;
  target_memory: { source: string; last_bytes: number; peak_bytes: number } | null;
  scenario: Record<string, unknown>;
  verdict: { ok: boolean; failures: number; reasons: string[] };
}

export const METRIC_DESCRIPTIONS: Record<string, string> = {
  sse_delivery:
    'SSE delivery latency: receipt time of each live execution frame minus the timestamp the server put in it (same clock on loopback; 1 ms resolution)',
  sse_fanout_spread: 'Fan-out spread: for each frame, last minus first receipt among the streams of the batch (client clock only)',
  execution_turnaround: 'Execution turnaround: POST /execute sent to the terminal result seen (SSE result frame or poll)',
};

export interface BuildInput {
  mode: string;
  target: string;
  startedAtIso: string;
  endedAtIso: string;
  durationS: number;
  options: Record<string, unknown>;
  recorder: Recorder;
  memory: { source: string; last_bytes: number; peak_bytes: number } | null;
  scenario: Record<string, unknown>;
  failures: number;
  reasons: string[];
}

export function buildReport(input: BuildInput): Report {
  const r = input.recorder;
  const metrics: Record<string, MetricReport> = {};
  for (const name of r.metricNames()) {
    const h = r.metric(name);
    if (h) metrics[name] = { description: METRIC_DESCRIPTIONS[name] ?? name, ...h.summary() };
  }
  return {
    tool: 'integr8s-loadtest',
    format_version: 1,
    mode: input.mode,
    target: input.target,
    started_at: input.startedAtIso,
    ended_at: input.endedAtIso,
    duration_s: Math.round(input.durationS * 1000) / 1000,
    options: input.options,
    summary: {
      requests: r.requests,
      errors: r.errors,
      error_rate: r.requests > 0 ? Math.round((r.errors / r.requests) * 10_000) / 10_000 : 0,
      cancelled: r.cancelled,
      rps: input.durationS > 0 ? Math.round((r.requests / input.durationS) * 100) / 100 : 0,
      latency_ms: r.overall.summary(),
      bytes_in: r.bytesIn,
      bytes_out: r.bytesOut,
      peak_open_connections: r.peakOpen,
      status_codes: r.statusCodes(),
    },
    endpoints: r.endpointReports(),
    timeline: r.timeline(),
    metrics,
    target_memory: input.memory,
    scenario: input.scenario,
    verdict: { ok: input.failures === 0, failures: input.failures, reasons: input.reasons },
  };
}

/** Writes report.json; returns its path. */
export async function writeJsonReport(dir: string, report: Report): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'report.json');
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
  return path;
}
