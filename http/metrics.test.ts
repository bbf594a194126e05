import { describe, expect, it } from 'vitest';
import { HttpMetrics, SIZE_BUCKETS_BYTES } from './metrics.js';

describe('HttpMetrics', () => {
  it('keeps request and response body sizes per route in size buckets with their sums', () => {
    const m = new HttpMetrics();
    m.record('POST', '/api/v1/execute', { kind: 'sent', status: 200 }, 3, 80, 50);
    m.record('POST', '/api/v1/execute', { kind: 'sent', status: 200 }, 3, 5_000, 2_000_000);
    const [s] = m.snapshot();
    expect(s!.requestBytes).toEqual({ counts: [1, 0, 1, 0, 0, 0, 0], sum: 5_080 });
    expect(s!.responseBytes).toEqual({ counts: [1, 0, 0, 0, 0, 1, 0], sum: 2_000_050 });
    expect(s!.requestBytes.counts).toHaveLength(SIZE_BUCKETS_BYTES.length + 1);
  });

  it('counts requests in flight between begin and end', () => {
    const m = new HttpMetrics();
    m.begin();
    m.begin();
    expect(m.active).toBe(2);
    m.end();
    expect(m.active).toBe(1);
  });
});
