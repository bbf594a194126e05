/**
 * OTLP export of traces: a node with OTEL_EXPORTER_OTLP_ENDPOINT pushes its sampled spans over OTLP/HTTP (JSON) to
 * `<endpoint>/v1/traces`, with service.name and its node id as resource attributes. The collector here is a loopback
 * HTTP server that keeps what it receives.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../support/node-harness.js';
import { waitFor } from '../support/wait.js';

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string };
}
interface OtlpExport {
  resourceSpans: Array<{ resource: { attributes: OtlpAttribute[] }; scopeSpans: Array<{ spans: Array<{ name: string; traceId: string }> }> }>;
}

const received: Array<{ path: string; body: OtlpExport }> = [];
let collector: http.Server;
let t: TestNode | undefined;

beforeAll(async () => {
  collector = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      if (req.headers['content-type']?.includes('json')) received.push({ path: req.url ?? '', body: JSON.parse(text) as OtlpExport });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
  const address = collector.address() as { port: number };
  t = await startTestNode({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${address.port}`, OTEL_TRACES_SAMPLER_ARG: '1', NODE_ID: 'otlp-node-1' });
});

afterAll(async () => {
  await t?.stop();
  await new Promise((r) => collector.close(r));
});

describe('OTLP trace export', () => {
  it("pushes an execution's spans to <endpoint>/v1/traces with the service name and node id", async () => {
    const id = await t!.submit('print("exported")');
    await t!.stream(id);
    // Spans are batched; stopping the node flushes them.
    await t!.stop();
    t = undefined;
    const exports = await waitFor(() => received.filter((r) => r.path === '/v1/traces'), { timeoutMs: 15_000, message: 'a trace export' });
    const resourceSpans = exports.flatMap((e) => e.body.resourceSpans);
    const names = resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans.map((span) => span.name)));
    for (const name of ['POST /api/v1/execute', 'process execution_commands', 'sandbox.run', 'sse.frame result_stored']) expect(names).toContain(name);
    const attributes = new Map(resourceSpans[0]!.resource.attributes.map((a) => [a.key, a.value.stringValue]));
    expect(attributes.get('service.name')).toBe('integr8s-ts');
    expect(attributes.get('service.instance.id')).toBe('otlp-node-1');
  });
});
