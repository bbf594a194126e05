/** Live output and standard input of a run, end to end: a node, a signed-in client, real sandboxed programs. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../support/node-harness.js';
import { readSse, type SseMessage } from '../support/sse-client.js';
import { waitFor } from '../support/wait.js';

/** The output cap of this node's runs (SANDBOX_OUTPUT_KB). */
const CAP_BYTES = 4 * 1024;

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode({ SANDBOX_TIMEOUT_SECONDS: '10', SANDBOX_OUTPUT_KB: String(CAP_BYTES / 1024), MAX_CONCURRENT_EXECUTIONS: '4' });
});
afterAll(async () => t?.stop());

interface Frame {
  event_type: string;
  event_id: string;
  execution_id: string;
  status: string | null;
  result: { stdout: string; stderr: string; stdout_truncated: boolean } | null;
  stream?: 'stdout' | 'stderr';
  seq?: number;
  text?: string;
  truncated?: boolean;
}
const parse = (m: SseMessage) => JSON.parse(m.data) as Frame;
const outputOf = (frames: Frame[]) => frames.filter((f) => f.event_type === 'execution_output');
const textOf = (frames: Frame[], stream: 'stdout' | 'stderr' = 'stdout') =>
  outputOf(frames)
    .filter((f) => f.stream === stream)
    .map((f) => f.text)
    .join('');

/** Opens the execution's stream and records each frame with the time it arrived. */
function watchStream(id: string, opts: { lastEventId?: string; until?: (f: Frame) => boolean } = {}) {
  const seen: Array<{ frame: Frame; id: string | undefined; at: number }> = [];
  const done = readSse(`${t.base}/events/executions/${id}`, {
    headers: { ...t.session.headers(), ...(opts.lastEventId ? { 'last-event-id': opts.lastEventId } : {}) },
    timeoutMs: 30_000,
    onMessage: (m) => seen.push({ frame: parse(m), id: m.id, at: performance.now() }),
    ...(opts.until ? { until: (m: SseMessage) => opts.until!(parse(m)) } : {}),
  });
  return { seen, frames: () => seen.map((s) => s.frame), done };
}

async function submit(body: Record<string, unknown>): Promise<string> {
  const version = t.node.sandbox.runtimes.find('python')!.versions[0]!;
  const res = await t.api('/execute', { method: 'POST', json: { lang: 'python', lang_version: version, ...body } });
  if (res.status !== 200) throw new Error(`submit failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.execution_id as string;
}

describe('live output over SSE', () => {
  it('sends a line to the client while the program still runs, as execution_output frames with id, stream and seq', async () => {
    const id = await submit({ script: 'import time\nprint("first")\ntime.sleep(1)\nprint("second")\n' });
    const s = watchStream(id);
    const r = await s.done;
    expect(r.closedByServer).toBe(true);
    const at = (pred: (f: Frame) => boolean) => s.seen.find((x) => pred(x.frame))!.at;
    const first = at((f) => f.event_type === 'execution_output' && f.text!.includes('first'));
    const second = at((f) => f.event_type === 'execution_output' && f.text!.includes('second'));
    const ended = at((f) => f.event_type === 'pod_terminated');
    // the program sleeps 1 s between its lines: the first line arrived while it slept, not with its end
    expect(second - first).toBeGreaterThan(700);
    expect(ended - first).toBeGreaterThan(700);

    const out = outputOf(s.frames());
    expect(out.map((f) => [f.stream, f.seq, f.text, f.truncated, f.status, f.execution_id])).toEqual([
      ['stdout', 1, 'first\n', false, 'running', id],
      ['stdout', 2, 'second\n', false, 'running', id],
    ]);
    for (const { frame, id: sseId } of s.seen.filter((x) => x.frame.event_type !== 'status')) expect(sseId).toBe(frame.event_id);
    const ids = s.seen.filter((x) => x.frame.event_type !== 'status').map((x) => x.frame.event_id);
    expect([...ids].sort()).toEqual(ids); // one order for events and output: what resumption relies on
    const types = s.frames().map((f) => f.event_type);
    expect(types.indexOf('execution_running')).toBeLessThan(types.indexOf('execution_output'));
    expect(types.at(-1)).toBe('result_stored');
    expect(s.frames().at(-1)!.result!.stdout).toBe('first\nsecond\n');

    // the pieces are not domain events: the event store and its API never see them
    const events = await t.api(`/executions/${id}/events`);
    expect((events.body as Frame[]).map((e) => e.event_type)).not.toContain('execution_output');
  });

  it('keeps stdout and stderr apart and in order', async () => {
    // two pipes: what the program writes to both within the same instant may be read in either order, so it pauses
    const id = await submit({ script: 'import sys, time\nprint("out 1")\ntime.sleep(0.2)\nprint("err 1", file=sys.stderr)\ntime.sleep(0.2)\nprint("out 2")\n' });
    const s = watchStream(id);
    await s.done;
    expect(outputOf(s.frames()).map((f) => [f.stream, f.text])).toEqual([
      ['stdout', 'out 1\n'],
      ['stderr', 'err 1\n'],
      ['stdout', 'out 2\n'],
    ]);
  });

  it('cuts output beyond the cap with the truncated flag, and the stream stays bounded', async () => {
    const id = await submit({ script: 'for i in range(50000):\n    print(i)\n' });
    const s = watchStream(id);
    await s.done;
    const out = outputOf(s.frames());
    const bytes = out.reduce((n, f) => n + Buffer.byteLength(f.text!), 0);
    expect(bytes).toBe(CAP_BYTES);
    expect(out.at(-1)!.truncated).toBe(true);
    expect(out.filter((f) => f.truncated)).toHaveLength(1);
    expect(out.length).toBeLessThanOrEqual(CAP_BYTES / 10); // batched: lines of a few bytes never become a frame each
    const result = s.frames().at(-1)!.result!;
    expect(result.stdout_truncated).toBe(true);
    expect(result.stdout).toBe(textOf(s.frames()));
  });

  it('a client reconnecting with Last-Event-ID gets the output it missed exactly once', async () => {
    const id = await submit({ script: 'import time\nfor i in range(12):\n    print(f"line {i}")\n    time.sleep(0.15)\n' });
    const first = watchStream(id, { until: (f) => f.event_type === 'execution_output' && f.seq === 3 });
    const r1 = await first.done;
    expect(r1.closedByServer).toBe(false);
    const lastId = first.seen.at(-1)!.id!;
    await new Promise((r) => setTimeout(r, 600)); // output goes on while nobody listens
    const second = watchStream(id, { lastEventId: lastId });
    await second.done;
    const all = [...outputOf(first.frames()), ...outputOf(second.frames())];
    expect(all.map((f) => f.seq)).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));
    const expected = Array.from({ length: 12 }, (_, i) => `line ${i}\n`).join('');
    expect(all.map((f) => f.text).join('')).toBe(expected);
    expect(second.frames().at(-1)!.result!.stdout).toBe(expected);

    // a client that joins late (no Last-Event-ID) while it runs is given the output so far
    const late = await submit({ script: 'import time\nprint("early")\ntime.sleep(1.5)\nprint("late")\n' });
    const joined = watchStream(late, { until: (f) => f.event_type === 'execution_output' });
    await joined.done;
    expect(outputOf(joined.frames())[0]).toMatchObject({ seq: 1, text: 'early\n' });
    await t.stream(late);
  });
});

describe('standard input', () => {
  it('feeds the program what was sent at submit, then what is written while it runs, until eof', async () => {
    const script = [
      'import sys',
      'print("got:", input())',
      'print("then:", input())',
      'print("rest:", sys.stdin.read())',
    ].join('\n');
    const id = await submit({ script, stdin: 'from submit\n', interactive: true });
    const s = watchStream(id);
    await waitFor(() => textOf(s.frames()).includes('got: from submit\n'), { message: 'the submitted line echoed', timeoutMs: 15_000 });
    const write = (json: unknown) => t.api(`/executions/${id}/stdin`, { method: 'POST', json });
    expect((await write({ data: 'typed\n' })).status).toBe(200);
    await waitFor(() => textOf(s.frames()).includes('then: typed\n'), { message: 'the written line echoed' });
    expect((await write({ data: 'tail', eof: true })).status).toBe(200);
    await s.done;
    expect(s.frames().at(-1)!.result!.stdout).toBe('got: from submit\nthen: typed\nrest: tail\n');
    // the writes are commands for the owning node, audited with the events but not sent on the stream
    expect(s.frames().map((f) => f.event_type)).not.toContain('execution_stdin_requested');
    const events = await t.api(`/executions/${id}/events?event_types=execution_stdin_requested`);
    expect((events.body as Array<{ data: string; eof: boolean }>).map((e) => [e.data, e.eof])).toEqual([
      ['typed\n', false],
      ['tail', true],
    ]);
    // once it ended, input is refused as a conflict
    expect((await write({ data: 'too late' })).status).toBe(409);
  });

  it('without interactive, the program reads the submitted stdin and then end of input', async () => {
    const id = await submit({ script: 'import sys\nprint(sys.stdin.read().upper(), end="")\n', stdin: 'abc\n' });
    await t.stream(id);
    expect((await t.api(`/executions/${id}/result`)).body).toMatchObject({ status: 'completed', stdout: 'ABC\n' });
    const none = await submit({ script: 'import sys\nprint(repr(sys.stdin.read()))\n' });
    await t.stream(none);
    expect((await t.api(`/executions/${none}/result`)).body).toMatchObject({ status: 'completed', stdout: "''\n" });
  });
});
