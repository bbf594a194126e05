import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { describe, expect, it } from 'vitest';
import { MetricRegistry } from './registry.js';

const T0: [number, number] = [1_700_000_000, 0];
const T1: [number, number] = [1_700_000_010, 0];

/** The registry as /metrics prints it. */
function text(registry: MetricRegistry): string {
  const metrics = registry.collect(T0, T1);
  return new PrometheusSerializer().serialize({ resource: resourceFromAttributes({}), scopeMetrics: [{ scope: { name: 't' }, metrics }] });
}

describe('MetricRegistry', () => {
  it('counts per label set and prints Prometheus counters with _total', () => {
    const r = new MetricRegistry();
    const c = r.counter('auth.logins', 'logins', '{attempt}', ['result']);
    c.add(['success']);
    c.add(['success'], 2);
    c.add(['locked']);
    const out = text(r);
    expect(out).toContain('# TYPE auth_logins_total counter');
    expect(out).toMatch(/auth_logins_total\{result="success",otel_scope_name="t"\} 3/);
    expect(out).toMatch(/auth_logins_total\{result="locked",otel_scope_name="t"\} 1/);
  });

  it('starts label-less counters and touched series at zero, and leaves out families with no series', () => {
    const r = new MetricRegistry();
    r.counter('auth.lockouts', 'lockouts', '{lockout}');
    r.counter('sandbox.failures', 'faults', '{failure}', ['backend', 'stage']).touch(['bwrap', 'start']);
    r.counter('never.used', 'nothing', '{x}', ['a']);
    const out = text(r);
    expect(out).toMatch(/auth_lockouts_total\{otel_scope_name="t"\} 0/);
    expect(out).toMatch(/sandbox_failures_total\{backend="bwrap",stage="start",otel_scope_name="t"\} 0/);
    expect(out).not.toContain('never_used');
  });

  it('keeps histograms with cumulative buckets, sum and count', () => {
    const r = new MetricRegistry();
    const h = r.histogram('sandbox.cpu_seconds', 'cpu', 's', ['lang'], [0.1, 1]);
    for (const v of [0.05, 0.1, 0.5, 3]) h.record(['python'], v);
    const out = text(r);
    expect(out).toContain('# TYPE sandbox_cpu_seconds histogram');
    expect(out).toMatch(/sandbox_cpu_seconds_bucket\{lang="python",otel_scope_name="t",le="0.1"\} 2/);
    expect(out).toMatch(/sandbox_cpu_seconds_bucket\{lang="python",otel_scope_name="t",le="1"\} 3/);
    expect(out).toMatch(/sandbox_cpu_seconds_bucket\{lang="python",otel_scope_name="t",le="\+Inf"\} 4/);
    expect(out).toMatch(/sandbox_cpu_seconds_sum\{lang="python",otel_scope_name="t"\} 3.65/);
    expect(out).toMatch(/sandbox_cpu_seconds_count\{lang="python",otel_scope_name="t"\} 4/);
  });

  it('sets and moves gauges', () => {
    const r = new MetricRegistry();
    const g = r.gauge('things.open', 'open things', '{thing}', ['status']);
    g.add(['running'], 1);
    g.add(['running'], 1);
    g.add(['running'], -1);
    g.set(['paused'], 5);
    const out = text(r);
    expect(out).toMatch(/things_open\{status="running",otel_scope_name="t"\} 1/);
    expect(out).toMatch(/things_open\{status="paused",otel_scope_name="t"\} 5/);
  });

  it('refuses a name defined twice and label values that do not match the label names', () => {
    const r = new MetricRegistry();
    const c = r.counter('a.b', 'x', '{x}', ['one', 'two']);
    expect(() => r.counter('a.b', 'x', '{x}')).toThrow(/defined twice/);
    expect(() => c.add(['only-one'])).toThrow(/takes labels one, two/);
  });
});
