/**
 * The provisioned Grafana dashboards against real nodes: every dashboard the issue asks for exists, every PromQL
 * expression in every dashboard parses (Prometheus' own grammar), and every metric a dashboard queries is on
 * `/metrics` of a real node after a short workload — a few executions (one failing, one resubmitted with its
 * Idempotency-Key), an SSE stream, a successful and a failed login, a session check and a rate-limited request —
 * on an embedded node and on a cluster-mode node (Kafka, MongoDB wire, Redis), since both modes serve the same
 * names. A histogram's `_bucket`, `_sum` and `_count` must come from a metric of type histogram.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { startTestNode, type TestNode } from '../support/node-harness.js';
import { readPromQL, servedMetrics } from '../support/promql.js';
import { readSse } from '../support/sse-client.js';
import { sessionApi, TEST_ADMIN, type Session } from '../support/session.js';
import { waitFor } from '../support/wait.js';

const DIR = join(import.meta.dirname, '..', '..', 'deploy/observability/grafana/dashboards');
const Target = z.object({ expr: z.string().min(1), refId: z.string() });
const Panel = z.object({ id: z.number(), type: z.string(), title: z.string(), targets: z.array(Target).optional() });
const Dashboard = z.object({ uid: z.string(), title: z.string(), panels: z.array(Panel).min(1) });

const dashboards = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .map((file) => ({ file, dashboard: Dashboard.parse(JSON.parse(readFileSync(join(DIR, file), 'utf8'))) }));
const expressions = dashboards.flatMap(({ file, dashboard }) =>
  dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `${file} "${p.title}" ${t.refId}`, expr: t.expr }))),
);
const queried = new Set(expressions.flatMap((e) => readPromQL(e.expr).metrics));

describe('Grafana dashboards (static)', () => {
  it('cover overview, executions and queue, actors, Kafka, SSE, HTTP and security, each with a unique uid', () => {
    expect(dashboards.map((d) => d.file).sort()).toEqual(['actors.json', 'executions.json', 'http.json', 'kafka.json', 'overview.json', 'security.json', 'sse.json']);
    expect(new Set(dashboards.map((d) => d.dashboard.uid)).size).toBe(dashboards.length);
    for (const { dashboard } of dashboards) expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
  });

  it('hold only PromQL that parses, each expression reading at least one metric', () => {
    expect(expressions.length).toBeGreaterThan(40);
    for (const { where, expr } of expressions) {
      const read = readPromQL(expr);
      expect(read.errors, where).toEqual([]);
      expect(read.metrics.length, where).toBeGreaterThan(0);
    }
  });
});

/** Everything queried that `text` does not serve, histogram series checked against their family's type. */
function missing(text: string): string[] {
  const { samples, types } = servedMetrics(text);
  return [...queried].filter((name) => {
    if (!samples.has(name)) return true;
    const histogram = /^(.+)_(bucket|sum|count)$/.exec(name);
    return histogram !== null && types.get(histogram[1]!) !== 'histogram' && !types.has(name);
  });
}

/** The short workload, through the public API of the node at `base` (`/api/v1`), signed in as the admin. */
async function workload(base: string, admin: Session): Promise<void> {
  const api = sessionApi(base, admin);
  const submit = async (script: string, headers: Record<string, string> = {}) => {
    const res = await api('/execute', { method: 'POST', json: { script, lang: 'python', lang_version: '3.11' }, headers });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.execution_id as string;
  };
  const ok = await submit('print("fine")', { 'Idempotency-Key': 'dashboards-1' });
  expect(await submit('print("fine")', { 'Idempotency-Key': 'dashboards-1' })).toBe(ok);
  const failing = await submit('import sys\nsys.exit(3)');
  const stream = await readSse(`${base}/events/executions/${ok}`, { headers: admin.headers(), timeoutMs: 60_000 });
  expect(stream.status).toBe(200);
  await waitFor(async () => ['failed', 'completed'].includes((await api(`/executions/${failing}/result`)).body.status), { timeoutMs: 60_000, message: 'the failing run' });
  const wrong = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: TEST_ADMIN.username, password: 'not-the-password' }).toString(),
  });
  expect(wrong.status).toBe(401);
  expect((await api('/auth/verify-token')).status).toBe(200);
  // Anonymous SSE requests spend a small per-address budget: within a few the answer is 429.
  let limited = false;
  for (let i = 0; i < 30 && !limited; i++) limited = (await fetch(`${base}/events/executions/${ok}`)).status === 429;
  expect(limited).toBe(true);
}

const scrape = async (base: string) => (await fetch(`${base.replace('/api/v1', '')}/metrics`)).text();

describe('Grafana dashboards on an embedded node', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode();
  });
  afterAll(async () => t?.stop());

  it('query only metrics the node serves after a short workload', async () => {
    await workload(t.base, t.session);
    expect(queried.size).toBeGreaterThan(40);
    expect(missing(await scrape(t.base))).toEqual([]);
  });
});

describe('Grafana dashboards on a cluster-mode node', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await startCluster({ nodes: 1 });
  });
  afterAll(async () => cluster?.stop());

  it('query only metrics the node serves after a short workload, Kafka lag and rebalances included', async () => {
    const node = cluster.nodes[0]!;
    await workload(node.base, cluster.session);
    const text = await scrape(node.base);
    expect(missing(text)).toEqual([]);
    expect(text).toMatch(/messaging_consumer_lag\{messaging_system="kafka"/);
    expect(text).toMatch(/messaging_consumer_rebalances_total\{messaging_system="kafka"/);
  });
});
