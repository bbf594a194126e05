/**
 * GET /metrics on a real node: Prometheus text with HTTP, execution, SSE, cluster and process figures after a
 * short workload; and the same metrics pushed over OTLP/HTTP to a collector when OTEL_EXPORTER_OTLP_ENDPOINT is set.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../support/node-harness.js';
import { waitFor } from '../support/wait.js';

let t: TestNode;
let collector: Server;
const pushes: Array<{ path: string; type: string; bytes: number }> = [];

beforeAll(async () => {
  collector = createServer((req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      pushes.push({ path: req.url ?? '', type: req.headers['content-type'] ?? '', bytes });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  const { port } = collector.address() as { port: number };
  t = await startTestNode({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_METRIC_EXPORT_INTERVAL: '300' });
});
afterAll(async () => {
  await t?.stop();
  await new Promise((resolve) => collector?.close(resolve));
});

const scrape = async () => {
  const res = await fetch(`${t.base.replace('/api/v1', '')}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
};

/** The value of the first sample of `name` whose labels include every one of `labels`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return null;
}

describe('metrics', () => {
  it('exposes HTTP, execution, SSE, cluster and process figures in the Prometheus text format', async () => {
    for (let i = 0; i < 3; i++) expect((await fetch(`${t.base}/health/live`)).status).toBe(200);
    expect((await t.run('print(1)')).status).toBe('completed');
    const text = await scrape();
    expect(sample(text, 'http_server_requests_total', { http_route: '/api/v1/health/live', http_response_status_code: '200' })).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'http_server_request_duration_seconds_count', { http_route: '/api/v1/health/live' })).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'http_server_request_duration_seconds_bucket', { http_route: '/api/v1/health/live', le: '+Inf' })).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'http_server_requests_total', { http_route: '/api/v1/execute', http_request_method: 'POST' })).toBe(1);
    expect(sample(text, 'executions_queue_depth')).toBe(0);
    expect(sample(text, 'executions_active')).toBe(0);
    expect(sample(text, 'executions_max_concurrent')).toBeGreaterThan(0);
    expect(sample(text, 'sse_sessions_open')).toBe(0);
    expect(sample(text, 'cluster_partitions_owned')).toBeGreaterThan(0);
    expect(sample(text, 'process_memory_rss_bytes')).toBeGreaterThan(10 * 1024 * 1024);
    // A raw path never becomes a label: unknown paths share one bounded route label.
    await fetch(`${t.base}/no/such/${'x'.repeat(20)}`);
    expect(await scrape()).not.toContain('x'.repeat(20));
  });

  it('pushes the metrics over OTLP/HTTP to the configured endpoint', async () => {
    await waitFor(() => pushes.some((p) => p.path === '/v1/metrics' && p.bytes > 0), { timeoutMs: 10_000, intervalMs: 100, message: 'an OTLP metrics push' });
    expect(pushes.find((p) => p.path === '/v1/metrics')!.type).toMatch(/application\/(x-protobuf|json)/);
  });
});
