/**
 * Tracing on an embedded node: the sampling ratio is the admin settings' (ratio 0 records nothing, a change to 1
 * applies at once, without a restart), and a recorded execution is one trace from the HTTP request through the
 * event log, the actors, admission and the sandbox to the SSE frame that carries the result.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../support/node-harness.js';
import { readSpans, traceTree } from '../support/traces.js';
import { waitFor } from '../support/wait.js';

let t: TestNode;
let file: string;

beforeAll(async () => {
  file = join(tmpdir(), `integr8s-spans-${process.pid}-${Date.now()}.jsonl`);
  t = await startTestNode({ TRACE_SPANS_FILE: file, OTEL_TRACES_SAMPLER_ARG: '0' });
});
afterAll(async () => {
  await t?.stop();
  rmSync(file, { force: true });
});

describe('tracing on an embedded node', () => {
  it('records nothing at sampling ratio 0', async () => {
    const settings = await t.api('/admin/settings/');
    expect(settings.body).toMatchObject({ enable_tracing: true, sampling_rate: 0 });
    const id = await t.submit('print("unsampled")');
    await t.stream(id);
    expect(readSpans(file)).toEqual([]);
  });

  it('records a whole execution as one trace once an admin sets the ratio to 1', async () => {
    const put = await t.api('/admin/settings/', { method: 'PUT', json: { sampling_rate: 1 } });
    expect(put.status).toBe(200);
    const id = await t.submit('print("sampled")');
    const messages = await t.stream(id);
    expect(JSON.parse(messages.at(-1)!.data).event_type).toBe('result_stored');
    const spans = await waitFor(
      () => {
        const all = readSpans(file);
        const frame = all.find((s) => s.name === 'sse.frame result_stored' && s.attributes['execution.id'] === id);
        return frame ? all : null;
      },
      { timeoutMs: 10_000, message: 'the SSE frame span' },
    );
    const frame = spans.find((s) => s.name === 'sse.frame result_stored' && s.attributes['execution.id'] === id)!;
    const tree = traceTree(spans, frame.trace_id);
    expect(tree.root).toMatchObject({ name: 'POST /api/v1/execute', kind: 'SERVER' });
    expect(tree.root.attributes['http.response.status_code']).toBe(200);
    const names = new Set(tree.spans.map((s) => s.name));
    for (const name of ['publish execution_requested', 'process execution_commands', 'admission.wait', 'sandbox.run', 'execution.finished', 'saga.SandboxExited']) {
      expect(names, `span ${name}`).toContain(name);
    }
    // The hop: the consumer span is the publish span's child, and the actors' work hangs under the consumer.
    const consumer = tree.spans.find((s) => s.name === 'process execution_commands')!;
    expect(tree.pathOf(consumer)).toEqual(['POST /api/v1/execute', 'publish execution_requested', 'process execution_commands']);
    const run = tree.spans.find((s) => s.name === 'sandbox.run')!;
    expect(tree.pathOf(run).slice(0, 3)).toEqual(['POST /api/v1/execute', 'publish execution_requested', 'process execution_commands']);
    expect(run.attributes['process.exit_code']).toBe(0);
    // Store calls made for the request are spans too.
    expect(tree.spans.some((s) => s.name === 'sqlite insert executions' && s.parent_span_id === tree.root.span_id)).toBe(true);
  });

  it('turning tracing off in the settings stops recording at once', async () => {
    const put = await t.api('/admin/settings/', { method: 'PUT', json: { enable_tracing: false } });
    expect(put.status).toBe(200);
    const before = readSpans(file).length;
    const id = await t.submit('print("off")');
    await t.stream(id);
    await new Promise((r) => setTimeout(r, 200));
    expect(readSpans(file).length).toBe(before);
  });
});
