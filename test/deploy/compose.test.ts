/**
 * docker-compose.yml cannot be run here (no Docker), so what can be checked without it is: every long-running service
 * has a health check, every file it mounts from the repository exists, the collector's pipelines only name
 * components it defines, and Prometheus scrapes services that exist. The Grafana dashboards are checked against
 * real nodes in dashboards.test.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';

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
    // Traces the nodes push over OTLP reach Jaeger: an OTLP receiver in, an exporter to the jaeger service out.
    const traces = collector.service.pipelines['traces']!;
    expect(traces.receivers).toContain('otlp');
    const toJaeger = traces.exporters.map((e) => (collector.exporters as Record<string, { endpoint?: string }>)[e]?.endpoint ?? '');
    expect(toJaeger.some((endpoint) => endpoint.split(':')[0] === 'jaeger')).toBe(true);
    const prometheus = parse(readFileSync(join(ROOT, 'deploy/observability/prometheus.yml'), 'utf8')) as {
      scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }>;
    };
    for (const target of prometheus.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets))) {
      expect(services).toHaveProperty(target.split(':')[0]!);
    }
  });
});
