import { describe, expect, it } from 'vitest';
import { readPromQL, servedMetrics } from './promql.js';

describe('readPromQL', () => {
  it('finds the metric of every selector, not functions, label names or keywords', () => {
    const { metrics, errors } = readPromQL(
      'histogram_quantile(0.99, sum by (le, http_route) (rate(http_server_request_duration_seconds_bucket{job="x"}[5m]))) / on(instance) group_left foo_total + sum(rate({__name__="bar_count"}[1m] offset 5m)) + clamp_min(baz, 1e-9)',
    );
    expect(errors).toEqual([]);
    expect(metrics.sort()).toEqual(['bar_count', 'baz', 'foo_total', 'http_server_request_duration_seconds_bucket']);
  });

  it('reports what does not parse', () => {
    expect(readPromQL('sum(rate(x[5m])').errors.length).toBeGreaterThan(0);
  });
});

describe('servedMetrics', () => {
  it('reads sample names and types from the text format', () => {
    const { samples, types } = servedMetrics('# HELP a x\n# TYPE a histogram\na_bucket{le="1"} 1\na_sum 2\na_count 1\nb 3\n');
    expect([...samples]).toEqual(['a_bucket', 'a_sum', 'a_count', 'b']);
    expect(types.get('a')).toBe('histogram');
  });
});
