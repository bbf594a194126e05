/**
 * docker-compose.yml cannot be run here (no Docker), so what can be checked without it is: every long-running service
 * has a health check, every file it mounts from the repository exists, the collector's pipelines only name
 * components it defines, Prometheus scrapes services that exist, and every metric a provisioned Grafana dashboard
 * queries is served by a real node's /metrics after a short workload.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { startTestNode, type TestNode } from '../support/node-harness.js';

const ROOT = join(import.meta.dirname, '..', '..');
const Service = z.object({
  profiles: z.array(z.string()).optional(),
  restart: z.string().optional(),
  healthcheck: z.object({ test: z.union([z.array(z.string()), z.string()]) }).optional(),
  volumes: z.array(z.string()).optional(),
  depends_on: z.record(z.string(), z.object({ condition: z.string() })).optional(),
});
const compose = z.object({ services: z.record(z.string(), Service) }).parse(parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }));
const services = compose.services;

describe('docker-compose.yml', () => {
  it('gives every long-running service a health check and depends only on services that exist', () => {
    for (const [name, service] of Object.entries(services)) {
      if (service.restart !== 'no') expect(service.healthcheck, `${name} has a health check`).toBeDefined();
      for (const dep of Object.keys(service.depends_on ?? {})) expect(services, `${name} depends on ${dep}`).toHaveProperty(dep);
    }
    for (const name of ['otel-collector', 'jaeger', 'prometheus', 'grafana']) expect(services[name]?.profiles).toEqual(['observability']);
  });

  it('mounts only repository files that exist', () => {
    const mounts = Object.values(services).flatMap((s) => s.volumes ?? []).filter((v) => v.startsWith('./'));
    expect(mounts.length).toBeGreaterThan(3);
    for (const mount of mounts) expect(existsSync(join(ROOT, mount.split(':')[0]!)), mount).toBe(true);
  });

  it('wires the collector pipelines to components it defines, and Prometheus to services that exist', () => {
    const collector = parse(readFileSync(join(ROOT, 'deploy/observability/otel-collector.yaml'), 'utf8')) as {
      receivers: object; processors: object; exporters: object; extensions: object;
      service: { extensions: string[]; pipelines: Record<string, { receivers: string[]; processors: string[]; exporters: string[] }> };
    };
    for (const pipeline of Object.values(collector.service.pipelines)) {
      for (const r of pipeline.receivers) expect(collector.receivers).toHaveProperty(r);
      for (const p of pipeline.processors) expect(collector.processors).toHaveProperty(p);
      for (const e of pipeline.exporters) expect(collector.exporters).toHaveProperty(e);
    }
    for (const e of collector.service.extensions) expect(collector.extensions).toHaveProperty(e);
    const prometheus = parse(readFileSync(join(ROOT, 'deploy/observability/prometheus.yml'), 'utf8')) as {
      scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }>;
    };
    for (const target of prometheus.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets))) {
      expect(services).toHaveProperty(target.split(':')[0]!);
    }
  });
});

describe('Grafana dashboards', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode();
  });
  afterAll(async () => node?.stop());

  it('query only metrics that a node serves after a short workload', async () => {
    await fetch(`${node.base}/health/live`);
    expect((await node.run('print(1)')).status).toBe('completed');
    const text = await (await fetch(`${node.base.replace('/api/v1', '')}/metrics`)).text();
    const served = new Set(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(/[{ ]/)[0]!));
    const dir = join(ROOT, 'deploy/observability/grafana/dashboards');
    const queried = new Set<string>();
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
      const dashboard = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
      for (const expr of dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr)) for (const m of metricNames(expr)) queried.add(m);
    }
    expect(queried.size).toBeGreaterThan(5);
    for (const metric of queried) expect(served, `${metric} is on /metrics`).toContain(metric);
  });
});

/** The metric names a PromQL expression reads: identifiers that are not functions, keywords or label names. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/\{[^}]*\}/g, '')
    .replace(/\b(by|without)\s*\([^)]*\)/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/"[^"]*"/g, '');
  return [...bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)]
    .filter((m) => !/^\s*\(/.test(bare.slice(m.index + m[0].length)) && !/[0-9.]$/.test(bare.slice(0, m.index)))
    .map((m) => m[0])
    .filter((id) => !['by', 'without', 'le'].includes(id));
}
