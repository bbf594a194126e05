/**
 * SSE sessions at scale on a real embedded node: 2 000 concurrent streams on one execution with no frame lost,
 * resumption with Last-Event-ID, and a reader that stops reading cut at the buffer bound while a fast reader of
 * the same execution gets every frame. Streams are raw TCP sockets (test/support/raw-sse.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../support/node-harness.js';
import { openRawSse, type RawFrame, type RawSse } from '../support/raw-sse.js';
import { waitFor } from '../support/wait.js';

const STREAMS = 2_000;
const MAX_BUFFER_KB = 64;

interface Frame {
  event_type: string;
  event_id: string;
  seq?: number;
  text?: string;
}

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode({ SANDBOX_TIMEOUT_SECONDS: '60', SANDBOX_OUTPUT_KB: String(64 * 1024), SSE_MAX_BUFFER_KB: String(MAX_BUFFER_KB), MAX_CONCURRENT_EXECUTIONS: '4' });
});
afterAll(async () => t?.stop());

const port = () => t.node.port;

/** The node's own figures from GET /metrics (sums over label sets). */
async function metrics(): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port()}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (m) out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
  }
  return out;
}

/** Submits an interactive python program and waits until it runs. */
async function runInteractive(script: string): Promise<string> {
  const version = t.node.sandbox.runtimes.find('python')!.versions[0]!;
  const res = await t.api('/execute', { method: 'POST', json: { script, lang: 'python', lang_version: version, interactive: true } });
  expect(res.status).toBe(200);
  const id = res.body.execution_id as string;
  await waitFor(async () => (await t.api(`/executions/${id}/result`)).body.status === 'running', { timeoutMs: 20_000, message: 'the program to run' });
  return id;
}

async function stdin(id: string, data: string, eof = false): Promise<void> {
  expect((await t.api(`/executions/${id}/stdin`, { method: 'POST', json: { data, eof } })).status).toBe(200);
}

/** One stream's record: frames (status frames left out) and how it ended. */
interface Watched {
  stream: RawSse;
  frames: Frame[];
  ids: string[];
  status: number | null;
  gotStatusFrame: boolean;
  closed: boolean;
  cleanEnd: boolean;
}

function watch(id: string, opts: { lastEventId?: string; onFrame?: (f: Frame, raw: RawFrame) => void } = {}): Watched {
  const w: Watched = { stream: null as unknown as RawSse, frames: [], ids: [], status: null, gotStatusFrame: false, closed: false, cleanEnd: false };
  w.stream = openRawSse({
    port: port(),
    path: `/api/v1/events/executions/${id}`,
    headers: { ...t.session.headers(), ...(opts.lastEventId ? { 'last-event-id': opts.lastEventId } : {}) },
    onOpen: (status) => (w.status = status),
    onFrame: (raw) => {
      const f = JSON.parse(raw.data) as Frame;
      if (f.event_type === 'status') {
        w.gotStatusFrame = true;
        return;
      }
      // Big output texts are counted by the caller, not kept.
      w.frames.push(f.text !== undefined && f.text.length > 256 ? { ...f, text: `(${f.text.length} chars)` } : f);
      if (raw.id !== undefined) w.ids.push(raw.id);
      opts.onFrame?.(f, raw);
    },
    onClose: (clean) => {
      w.closed = true;
      w.cleanEnd = clean;
    },
  });
  return w;
}

describe('SSE at scale', () => {
  it(`${STREAMS} concurrent streams on one execution each get every frame, in order, once; a resumed stream gets exactly what it missed`, async () => {
    const id = await runInteractive('import sys\nfor line in sys.stdin:\n    print(line.strip(), flush=True)\n');
    const before = await metrics();
    const streams: Watched[] = [];
    for (let i = 0; i < STREAMS; i += 250) {
      for (let k = i; k < Math.min(STREAMS, i + 250); k++) streams.push(watch(id));
      await waitFor(() => streams.every((s) => s.gotStatusFrame || s.closed), { timeoutMs: 30_000, message: 'streams to open' });
    }
    // One more stream leaves after the first output frame and comes back with Last-Event-ID once the run is over.
    let leaver: Watched | null = null;
    leaver = watch(id, { onFrame: (f) => f.event_type === 'execution_output' && leaver!.stream.close() });
    await waitFor(() => leaver!.gotStatusFrame, { message: 'the leaving stream to open' });
    expect(streams.every((s) => s.status === 200 && s.gotStatusFrame)).toBe(true);
    expect((await metrics())['sse_sessions_open']).toBeGreaterThanOrEqual(STREAMS + 1);

    const lines = Array.from({ length: 6 }, (_, i) => `line-${i}`);
    for (const line of lines) {
      await stdin(id, `${line}\n`);
      await new Promise((r) => setTimeout(r, 120));
    }
    await stdin(id, '', true);
    await waitFor(() => streams.every((s) => s.closed), { timeoutMs: 40_000, intervalMs: 100, message: 'every stream to end' });

    const reference = streams[0]!;
    const output = reference.frames.filter((f) => f.event_type === 'execution_output');
    expect(output.map((f) => f.text).join('')).toBe(lines.map((l) => `${l}\n`).join(''));
    expect(reference.frames.at(-1)!.event_type).toBe('result_stored');
    expect(new Set(reference.ids).size).toBe(reference.ids.length);
    const lost = streams.filter((s) => !s.cleanEnd || s.ids.join() !== reference.ids.join());
    expect(lost.length).toBe(0);

    const after = await metrics();
    expect(after['sse_frames_sent_total']! - (before['sse_frames_sent_total'] ?? 0)).toBeGreaterThanOrEqual(STREAMS * reference.ids.length);
    expect(after['sse_frames_dropped_total'] ?? 0).toBe(before['sse_frames_dropped_total'] ?? 0);

    await waitFor(() => leaver!.closed, { message: 'the leaving stream to close' });
    const seen = leaver.ids;
    expect(seen.length).toBeGreaterThanOrEqual(1);
    expect(seen).toEqual(reference.ids.slice(0, seen.length));
    const resumed = watch(id, { lastEventId: seen.at(-1)! });
    await waitFor(() => resumed.closed, { timeoutMs: 10_000, message: 'the resumed stream to end' });
    expect(resumed.ids).toEqual(reference.ids.slice(seen.length));
  }, 90_000);

  it('a reader that stops reading is cut at the buffer bound while a fast reader of the same execution gets every frame', async () => {
    // Far more output than the kernel's socket buffers plus the bound: 24 MB in 8 KB lines, after a go on stdin.
    const id = await runInteractive('import sys\nsys.stdin.readline()\nline = "x" * 8191 + "\\n"\nfor i in range(3072):\n    sys.stdout.write(line)\nsys.stdout.flush()\n');
    const before = await metrics();
    let fastBytes = 0;
    const fast = watch(id, { onFrame: (f) => (fastBytes += f.event_type === 'execution_output' ? f.text!.length : 0) });
    const slow = watch(id);
    await waitFor(() => fast.gotStatusFrame && slow.gotStatusFrame, { message: 'both streams to open' });
    slow.stream.pause();
    // The node's own figures while it runs: bytes held for clients, and when the slow reader was cut.
    let maxBuffered = 0;
    let cutAtFrame: number | null = null;
    const sampler = setInterval(() => {
      void metrics().then((m) => {
        maxBuffered = Math.max(maxBuffered, m['sse_buffered_bytes'] ?? 0);
        if (cutAtFrame === null && (m['sse_streams_closed_slow_total'] ?? 0) > (before['sse_streams_closed_slow_total'] ?? 0)) cutAtFrame = fast.frames.length;
      });
    }, 20);
    try {
      await stdin(id, 'go\n', true);
      await waitFor(() => fast.closed, { timeoutMs: 60_000, intervalMs: 50, message: 'the fast reader to get the whole run' });
    } finally {
      clearInterval(sampler);
    }
    const seqs = fast.frames.filter((f) => f.event_type === 'execution_output').map((f) => f.seq!);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(fastBytes).toBe(3072 * 8192);
    expect(fast.frames.at(-1)!.event_type).toBe('result_stored');

    const after = await metrics();
    expect(after['sse_streams_closed_slow_total']! - (before['sse_streams_closed_slow_total'] ?? 0)).toBe(1);
    expect(after['sse_frames_dropped_total']! - (before['sse_frames_dropped_total'] ?? 0)).toBeGreaterThan(0);
    // Memory stays flat: what the node held for clients never passed the bound, and the slow reader was cut while
    // the program was still printing, not after its 24 MB had piled up.
    expect(maxBuffered).toBeLessThanOrEqual(MAX_BUFFER_KB * 1024);
    expect(cutAtFrame).not.toBeNull();
    expect(cutAtFrame!).toBeLessThan(seqs.length / 2);
    // The slow reader's connection was dropped: reading now gives what was in flight, then the end, no terminal frame.
    slow.stream.socket.resume();
    await waitFor(() => slow.closed, { message: 'the slow stream to close' });
    expect(slow.cleanEnd).toBe(false);
    expect(slow.frames.some((f) => f.event_type === 'result_stored')).toBe(false);
  }, 90_000);
});
