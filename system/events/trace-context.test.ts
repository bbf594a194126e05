import { describe, expect, it } from 'vitest';
import { childOf, currentTraceparent, newTraceparent, parseTraceparent, traceIdOf, withTrace } from './trace-context.js';

describe('trace context', () => {
  it('accepts valid version-00 traceparents and rejects the rest', () => {
    const tp = newTraceparent();
    expect(parseTraceparent(tp)).toBe(tp);
    expect(parseTraceparent(` ${tp.toUpperCase()} `)).toBe(tp);
    for (const bad of [undefined, '', 'garbage', `01-${tp.slice(3)}`, `00-${'0'.repeat(32)}-${'1'.repeat(16)}-01`, `00-${'a'.repeat(32)}-${'0'.repeat(16)}-01`]) {
      expect(parseTraceparent(bad)).toBeNull();
    }
  });

  it('a hop keeps the trace id and gets its own parent id, made once per context', async () => {
    const incoming = newTraceparent();
    expect(currentTraceparent()).toBeUndefined();
    await withTrace(incoming, async () => {
      const here = currentTraceparent()!;
      expect(traceIdOf(here)).toBe(traceIdOf(incoming));
      expect(here).not.toBe(incoming);
      await new Promise((r) => setTimeout(r, 1));
      expect(currentTraceparent()).toBe(here);
    });
    withTrace('not a traceparent', () => expect(parseTraceparent(currentTraceparent())).not.toBeNull());
    expect(traceIdOf(childOf(incoming))).toBe(traceIdOf(incoming));
  });
});
