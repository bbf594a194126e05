/**
 * GET /metrics on a real node: Prometheus text with HTTP, execution, queue, sandbox, actor, event-log, SSE, sign-in,
 * rate-limit, idempotency, cluster and process figures after a short workload, each counted as the workload did; and the same metrics pushed over OTLP/HTTP to a collector when OTEL_EXPORTER_OTLP_ENDPOINT is set.
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

  it('records executions, sandboxes, actors, the event log, sign-in, rate limits, idempotency and body sizes', async () => {
    const key = { 'Idempotency-Key': 'metrics-e2e' };
    const first = await t.submit('print("sized")', 'python', undefined, key);
    expect(await t.submit('print("sized")', 'python', undefined, key)).toBe(first);
    await t.stream(first);
    expect((await t.run('import sys\nsys.exit(3)')).status).toBe('failed');
    const form = (username: string, password: string) => ({
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username, password }).toString(),
    });
    expect((await fetch(`${t.base}/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'metrics-lock', email: 'lock@example.com', password: 'right-password-1' }) })).status).toBe(200);
    let status = 0;
    for (let i = 0; i < 20 && status !== 423; i++) status = (await fetch(`${t.base}/auth/login`, form('metrics-lock', 'wrong-password'))).status;
    expect(status).toBe(423);
    expect((await t.api('/auth/verify-token')).status).toBe(200);
    let limited = false;
    for (let i = 0; i < 30 && !limited; i++) limited = (await fetch(`${t.base}/events/executions/${first}`)).status === 429;
    expect(limited).toBe(true);

    const text = await scrape();
    const at = (name: string, labels: Record<string, string> = {}) => sample(text, name, labels) ?? -1;
    expect(at('executions_finished_total', { lang: 'python', status: 'completed' })).toBeGreaterThanOrEqual(2);
    expect(at('executions_finished_total', { lang: 'python', status: 'failed' })).toBe(1);
    expect(at('executions_duration_seconds_count', { lang: 'python', status: 'failed' })).toBe(1);
    expect(at('executions_queue_wait_seconds_count', { priority: 'normal' })).toBeGreaterThanOrEqual(3);
    expect(at('sandbox_starts_total', { lang: 'python' })).toBeGreaterThanOrEqual(3);
    expect(at('sandbox_cpu_seconds_count', { lang: 'python' })).toBeGreaterThanOrEqual(3);
    expect(at('sandbox_memory_peak_bytes_sum', { lang: 'python' })).toBeGreaterThan(0);
    expect(at('sandbox_failures_total', { stage: 'start' })).toBe(0);
    for (const kind of ['partition', 'execution', 'saga', 'pod-watch', 'admission', 'session']) {
      expect(at('actors_message_duration_seconds_count', { kind }), kind).toBeGreaterThan(0);
      expect(at('actors_crashes_total', { kind }), kind).toBe(0);
    }
    expect(at('actors_live', { kind: 'partition' })).toBe(at('cluster_partitions_owned'));
    expect(at('actors_mailbox_depth', { kind: 'partition' })).toBeGreaterThanOrEqual(0);
    const commands = { messaging_system: 'embedded', messaging_destination_name: 'execution_commands' };
    expect(at('messaging_client_sent_messages_total', commands)).toBeGreaterThanOrEqual(3);
    expect(at('messaging_client_consumed_messages_total', { ...commands, messaging_consumer_group_name: 'execution-owners' })).toBeGreaterThanOrEqual(3);
    expect(at('messaging_consumer_lag', { ...commands, messaging_consumer_group_name: 'execution-owners' })).toBe(0);
    expect(at('messaging_consumer_rebalances_total', { messaging_consumer_group_name: 'execution-owners' })).toBe(1);
    expect(at('auth_logins_total', { result: 'success' })).toBeGreaterThanOrEqual(1);
    expect(at('auth_logins_total', { result: 'bad_credentials' })).toBeGreaterThanOrEqual(1);
    expect(at('auth_logins_total', { result: 'locked' })).toBe(1);
    expect(at('auth_lockouts_total')).toBe(1);
    expect(at('auth_token_verifications_total', { result: 'valid' })).toBeGreaterThanOrEqual(1);
    expect(at('rate_limit_decisions_total', { rule: 'sse', decision: 'limited' })).toBeGreaterThanOrEqual(1);
    expect(at('rate_limit_decisions_total', { rule: 'sse', decision: 'allowed' })).toBeGreaterThanOrEqual(1);
    expect(at('idempotency_claims_total', { result: 'miss' })).toBe(1);
    expect(at('idempotency_claims_total', { result: 'hit' })).toBe(1);
    const execute = { http_request_method: 'POST', http_route: '/api/v1/execute' };
    expect(at('http_server_request_body_size_bytes_sum', execute)).toBeGreaterThan(30 * 3);
    expect(at('http_server_response_body_size_bytes_sum', execute)).toBeGreaterThan(30 * 3);
    expect(at('http_server_response_body_size_bytes_bucket', { ...execute, le: '1000' })).toBeGreaterThanOrEqual(3);
    // The scrape itself is in flight while it is answered.
    expect(at('http_server_active_requests')).toBeGreaterThanOrEqual(1);
  });

  it('pushes the metrics over OTLP/HTTP to the configured endpoint', async () => {
    await waitFor(() => pushes.some((p) => p.path === '/v1/metrics' && p.bytes > 0), { timeoutMs: 10_000, intervalMs: 100, message: 'an OTLP metrics push' });
    expect(pushes.find((p) => p.path === '/v1/metrics')!.type).toMatch(/application\/(x-protobuf|json)/);
  });
});
