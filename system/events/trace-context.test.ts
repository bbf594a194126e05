import { context, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { consumeInSpan, contextOf, currentTraceIds, currentTraceparent, inChildSpan, parseTraceparent, traceparentOf, withTrace } from './trace-context.js';

const INCOMING = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('trace context', () => {
  it('accepts valid version-00 traceparents and rejects the rest', () => {
    expect(parseTraceparent(INCOMING)).toBe(INCOMING);
    expect(parseTraceparent(` ${INCOMING.toUpperCase()} `)).toBe(INCOMING);
    for (const bad of [undefined, '', 'garbage', `01-${INCOMING.slice(3)}`, `00-${'0'.repeat(32)}-${'1'.repeat(16)}-01`, `00-${'a'.repeat(32)}-${'0'.repeat(16)}-01`]) {
      expect(parseTraceparent(bad)).toBeNull();
      expect(contextOf(bad)).toBeNull();
    }
  });

  it('a traceparent becomes a context and back, unsampled ones included', () => {
    expect(traceparentOf(contextOf(INCOMING)!)).toBe(INCOMING);
    const unsampled = `${INCOMING.slice(0, -2)}00`;
    expect(traceparentOf(contextOf(unsampled)!)).toBe(unsampled);
    expect(traceparentOf(context.active())).toBeUndefined();
  });

  it('work run in a trace sees it across awaits, and log ids come from it', async () => {
    expect(currentTraceparent()).toBeUndefined();
    expect(currentTraceIds()).toBeUndefined();
    await withTrace(INCOMING, async () => {
      await new Promise((r) => setTimeout(r, 1));
      expect(currentTraceparent()).toBe(INCOMING);
      expect(currentTraceIds()).toEqual({ trace_id: '0af7651916cd43dd8448eb211c80319c', span_id: 'b7ad6b7169203331' });
    });
    withTrace('not a traceparent', () => expect(currentTraceparent()).toBeUndefined());
  });

  it('a consumed record runs in the context of its header; child spans need a recording parent', async () => {
    const seen = await consumeInSpan({ topic: 't', partition: 0, headers: { traceparent: INCOMING } }, async () => currentTraceparent());
    // Without a tracing SDK the consumer span is the parent's context (no SDK makes ids); with one it is a child.
    expect(seen?.slice(3, 35)).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(consumeInSpan({ topic: 't', partition: 0, headers: {} }, () => currentTraceparent())).toBeUndefined();
    // Not recording: inChildSpan runs the call as it is, in the same context.
    withTrace(INCOMING, () => {
      const before = trace.getSpan(context.active());
      inChildSpan('x', {}, () => expect(trace.getSpan(context.active())).toBe(before));
    });
  });
});
