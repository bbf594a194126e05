import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTracing, type Tracing } from '../system/telemetry/tracing.js';
import { startHttpStack, type HttpStack } from '../test/support/http-stack.js';
import { createTempDir, type TempDir } from '../test/support/temp-dir.js';
import { readSpans } from '../test/support/traces.js';
import { testUser } from './test-caller.js';

let dir: TempDir;
let file: string;
let tracing: Tracing;
let stack: HttpStack;

beforeAll(async () => {
  dir = await createTempDir('integr8s-http-tracing-');
  file = join(dir.path, 'spans.jsonl');
  tracing = startTracing({ nodeId: 'http-unit', mode: 'embedded', sampling: { enabled: true, ratio: 1 }, spansFile: file });
  stack = await startHttpStack({}, [], undefined, { tracing: tracing.sampler });
});

afterAll(async () => {
  await stack?.close();
  await tracing?.shutdown();
  await dir?.cleanup();
});

const user = testUser('tracer');
const submit = async (headers: Record<string, string> = {}) => {
  const res = await fetch(`${stack.base}/api/v1/execute`, {
    method: 'POST',
    headers: { ...user, ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ script: 'print(1)', lang: 'python', lang_version: '3.11' }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { execution_id: string }).execution_id;
};

describe('request spans', () => {
  it('a sampled request is a server span named by its route, with its status; store calls are its children', async () => {
    expect((await fetch(`${stack.base}/api/v1/user/executions?limit=1`, { headers: user })).status).toBe(200);
    const span = readSpans(file).find((s) => s.name === 'GET /api/v1/user/executions')!;
    expect(span).toMatchObject({ kind: 'SERVER', parent_span_id: null });
    expect(span.attributes).toMatchObject({ 'http.route': '/api/v1/user/executions', 'http.response.status_code': 200, 'http.request.method': 'GET' });
    expect(readSpans(file).some((s) => s.parent_span_id === span.span_id && s.name.startsWith('sqlite '))).toBe(true);
  });

  it('health checks and /metrics are never traced', async () => {
    const before = readSpans(file).length;
    await fetch(`${stack.base}/api/v1/health/live`);
    await fetch(`${stack.base}/api/v1/health/live`, { headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } });
    expect(readSpans(file).slice(before).filter((s) => s.kind === 'SERVER')).toEqual([]);
  });

  it("joins the caller's trace, and the execution record keeps the request span's context", async () => {
    const id = await submit({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    const span = readSpans(file).find((s) => s.name === 'POST /api/v1/execute' && s.trace_id === '0af7651916cd43dd8448eb211c80319c')!;
    expect(span.parent_span_id).toBe('b7ad6b7169203331');
    expect((await stack.executionStore.get(id))?.traceparent).toBe(`00-${span.trace_id}-${span.span_id}-01`);
  });

  it('unsampled: nothing recorded, yet a submission still gets trace ids (flag 00) for its record and events', async () => {
    tracing.sampler.configure({ enabled: true, ratio: 0 });
    const before = readSpans(file).length;
    const id = await submit();
    await fetch(`${stack.base}/api/v1/user/executions?limit=1`, { headers: user });
    expect(readSpans(file).length).toBe(before);
    expect((await stack.executionStore.get(id))?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    tracing.sampler.configure({ enabled: true, ratio: 1 });
  });
});
