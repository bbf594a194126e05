import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderHtml, writeHtmlReport } from './report/html.js';
import { buildReport, writeJsonReport, type Report } from './report/json.js';
import { lineChart, niceCeil } from './report/svg.js';
import { Recorder } from './stats.js';

/** A small run: three seconds of two endpoints, one SSE measurement, target memory known. */
function fixture(): Report {
  let now = 0;
  const r = new Recorder(0, () => now);
  const at = (t: number) => {
    now = t;
  };
  for (let s = 0; s < 3; s++) {
    at(s * 1000 + 10);
    r.noteOpenConnections(2 + s);
    r.noteTargetMemory((80 + s) * 1024 * 1024);
    for (let i = 0; i < 5; i++) {
      at(s * 1000 + 100 + i * 100);
      r.record({ method: 'POST', route: '/api/v1/execute', status: 200, latencyMs: 5 + i, bytesIn: 120, bytesOut: 90, error: false });
      r.record({ method: 'GET', route: '/api/v1/scripts/{id}', status: i === 4 ? 503 : 200, latencyMs: 2 + s, bytesIn: 300, bytesOut: 60, error: i === 4 });
      r.recordMetric('sse_delivery', 3 + i);
    }
    r.flush();
  }
  at(3000);
  r.finish();
  return buildReport({
    mode: 'user',
    target: 'http://127.0.0.1:8080',
    startedAtIso: '2026-01-01T00:00:00.000Z',
    endedAtIso: '2026-01-01T00:00:03.000Z',
    durationS: 3,
    options: { mode: 'user', clients: 2 },
    recorder: r,
    memory: { source: 'GET /metrics process_resident_memory_bytes', last_bytes: 82 * 1024 * 1024, peak_bytes: 82 * 1024 * 1024 },
    scenario: { iterations: 4, executions: { submitted: 15, by_status: { completed: 15 } }, failures: [{ n: 1, method: 'GET', target: '/<script>alert(1)</script>' }] },
    failures: 0,
    reasons: [],
  });
}

describe('report', () => {
  it('builds per-endpoint figures and a per-second timeline', () => {
    const report = fixture();
    expect(report.summary.requests).toBe(30);
    expect(report.summary.errors).toBe(3);
    expect(report.summary.status_codes).toEqual({ '200': 27, '503': 3 });
    const scripts = report.endpoints.find((e) => e.route === '/api/v1/scripts/{id}')!;
    expect(scripts).toMatchObject({ method: 'GET', count: 15, errors: 3, bytes_in: 4500, bytes_out: 900, status_codes: { '200': 12, '503': 3 } });
    expect(report.timeline.map((p) => p.t)).toEqual([0, 1, 2]);
    expect(report.timeline.map((p) => p.rps)).toEqual([10, 10, 10]);
    expect(report.timeline.map((p) => p.open_connections)).toEqual([2, 3, 4]);
    expect(report.timeline[2]!.target_memory_bytes).toBe(82 * 1024 * 1024);
    // Histogram values are within 1/128 of the recorded ones (extremes are exact).
    const sec0 = report.timeline[0]!.metrics?.['sse_delivery'];
    expect(sec0?.count).toBe(5);
    expect(Math.abs(sec0!.p50_ms - 5)).toBeLessThanOrEqual(5 / 128);
    expect(sec0?.p99_ms).toBe(7);
    expect(report.metrics['sse_delivery']).toMatchObject({ count: 15, min: 3, max: 7 });
    expect(Math.abs(report.metrics['sse_delivery']!.p50 - 5)).toBeLessThanOrEqual(5 / 128);
  });

  it('renders a self-contained page with the charts and the endpoint table', () => {
    const html = renderHtml(fixture());
    expect(html.startsWith('<!doctype html>')).toBe(true);
    // charts: latency, throughput, connections, memory, SSE delivery
    expect(html.match(/<svg /g)?.length).toBe(5);
    expect(html).toContain('Request latency over time');
    expect(html).toContain('Throughput and errors');
    expect(html).toContain('Open connections to the target');
    expect(html).toContain('Target memory');
    expect(html).toContain('SSE delivery latency');
    expect(html).toMatch(/<polyline [^>]*points="[\d., ]+"/);
    // the per-endpoint table
    expect(html).toContain('<table class="endpoints">');
    expect(html).toContain('<code>/api/v1/scripts/{id}</code>');
    expect(html).toMatch(/<span class="code c5">503<\/span>×3/);
    // nothing is loaded from elsewhere, and what came from the target is escaped
    expect(html).not.toMatch(/<script|src=|<link|@import|https?:\/\/(?!127\.0\.0\.1|www\.w3\.org)/);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('writes report.json and report.html', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'loadtest-report-'));
    try {
      const report = fixture();
      const json = await writeJsonReport(join(dir, 'out'), report);
      const html = await writeHtmlReport(join(dir, 'out'), report);
      expect(JSON.parse(await readFile(json, 'utf8'))).toEqual(report);
      expect(await readFile(html, 'utf8')).toContain('</html>');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('draws charts with gaps and without data', () => {
    const svg = lineChart({ title: 'T', unit: 'ms', xs: [0, 1, 2, 3], series: [{ name: 'a', color: '#000', values: [1, null, 3, 4] }] });
    expect(svg).toContain('<circle'); // the lone first point
    expect(svg.match(/<polyline/g)?.length).toBe(1);
    expect(lineChart({ title: 'Empty', unit: 'ms', xs: [], series: [{ name: 'a', color: '#000', values: [] }] })).toContain('no data');
    expect([niceCeil(0), niceCeil(7), niceCeil(12), niceCeil(101), niceCeil(230), niceCeil(0.03)]).toEqual([1, 8, 12, 120, 250, 0.03]);
  });
});
