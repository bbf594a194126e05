import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeFrame } from '../system/services/sse-encoding.js';
import type { SseSink } from '../system/services/types.js';
import { formatFrame } from './sse.js';
import { connect, eventually, parseHead, readStream, readUntil, startHarness, type Harness } from './test-support.js';

let h: Harness | null = null;
async function start(config: Parameters<typeof startHarness>[0] = {}): Promise<Harness> {
  h = await startHarness(config);
  return h;
}
afterEach(async () => {
  vi.restoreAllMocks();
  await h?.server.close();
  h = null;
});

const streamUrl = (base: string, id = 'e1') => `${base}/api/v1/events/executions/${id}`;

describe('formatFrame', () => {
  it('writes id, event and one data line per line of data', () => {
    expect(formatFrame({ id: '7', event: 'status', data: 'a\nb\r\nc' })).toBe('id: 7\nevent: status\ndata: a\ndata: b\ndata: c\n\n');
    expect(formatFrame({ data: '{"x":1}' })).toBe('data: {"x":1}\n\n');
  });

  it('cannot be broken by newlines in id or event', () => {
    expect(formatFrame({ id: '1\n\ndata: evil', event: 'a\rb', data: 'ok' })).toBe('id: 1data: evil\nevent: ab\ndata: ok\n\n');
  });
});

describe('SSE stream', () => {
  it('sends SSE headers and frames with id:', async () => {
    const { base } = await start();
    const res = await fetch(streamUrl(base));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('x-accel-buffering')).toBe('no');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const text = await readStream(res.body!, (t) => t.includes('\n\ndata: {"status":"queued"}') || t.includes('data: {"status":"queued"}\n\n'));
    expect(text).toContain('id: evt-1\nevent: status\ndata: {"status":"queued"}\n\n');
    expect(text.startsWith('retry: ')).toBe(true);
  });

  it('passes Last-Event-ID through, with the last_event_id query parameter as fallback', async () => {
    const { base, executions } = await start();
    const a = await fetch(streamUrl(base), { headers: { 'last-event-id': 'evt-41' } });
    const b = await fetch(`${streamUrl(base)}?last_event_id=evt-42`);
    const c = await fetch(streamUrl(base));
    expect(executions.streams.map((s) => s.lastEventId)).toEqual(['evt-41', 'evt-42', null]);
    for (const r of [a, b, c]) await r.body?.cancel();
  });

  it('sends heartbeats from one shared timer', async () => {
    const setIntervalSpy = vi.spyOn(globalThis, 'setInterval');
    const { base } = await start({ config: { sseHeartbeatMs: 50 } });
    const responses = await Promise.all([1, 2, 3].map(() => fetch(streamUrl(base))));
    const texts = await Promise.all(responses.map((r) => readStream(r.body!, (t) => t.includes(': ping\n\n'))));
    for (const t of texts) expect(t).toContain(': ping\n\n');
    expect(setIntervalSpy).toHaveBeenCalledTimes(1);
    for (const r of responses) await r.body?.cancel().catch(() => undefined);
  });

  it('openStream access errors are plain JSON responses, not streams', async () => {
    const { base, server } = await start();
    const missing = await fetch(streamUrl(base, 'missing'));
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/json');
    expect(await missing.json()).toEqual({ detail: 'Execution not found', type: 'NotFound' });
    const denied = await fetch(streamUrl(base, 'private'));
    expect(denied.status).toBe(403);
    expect(await denied.json()).toEqual({ detail: 'Access denied', type: 'Forbidden' });
    expect(server.sseStats().open).toBe(0);
  });

  it('end() from the service finishes the response; onClosed fires once', async () => {
    const { base, executions } = await start();
    let closedCalls = 0;
    executions.streamScript = (sink) => {
      sink.onClosed(() => closedCalls++);
      sink.send({ id: '1', data: 'first' });
      setTimeout(() => {
        sink.send({ id: '2', data: 'last' });
        sink.end();
        sink.end();
        sink.send({ id: '3', data: 'ignored' });
      }, 20);
    };
    const res = await fetch(streamUrl(base));
    const text = await res.text();
    expect(text).toContain('id: 1\ndata: first\n\n');
    expect(text).toContain('id: 2\ndata: last\n\n');
    expect(text).not.toContain('ignored');
    expect(closedCalls).toBe(1);
  });

  it('endWith() sends a last frame and ends the body cleanly; later writes are ignored', async () => {
    const { base, executions, server } = await start();
    let closedCalls = 0;
    executions.streamScript = (sink) => {
      sink.onClosed(() => closedCalls++);
      sink.send({ id: '1', data: 'first' });
      setTimeout(() => {
        sink.endWith(encodeFrame({ id: '2', data: 'last' }));
        sink.send({ id: '3', data: 'ignored' });
        sink.end();
      }, 20);
    };
    const sent = server.sseStats().framesSent;
    const res = await fetch(streamUrl(base));
    const text = await res.text();
    expect(text).toContain('id: 1\ndata: first\n\n');
    expect(text.endsWith('id: 2\ndata: last\n\n')).toBe(true);
    expect(closedCalls).toBe(1);
    expect(server.sseStats().framesSent - sent).toBe(2);
    expect(server.sseStats().open).toBe(0);
  });

  it('a client that disconnects closes the sink exactly once', async () => {
    const { base, executions, server } = await start();
    let closedCalls = 0;
    executions.streamScript = (sink) => {
      sink.onClosed(() => closedCalls++);
      sink.send({ data: 'hello' });
    };
    const controller = new AbortController();
    const res = await fetch(streamUrl(base), { signal: controller.signal });
    await readStream(res.body!, (t) => t.includes('hello'));
    controller.abort();
    await eventually(() => closedCalls === 1, 5000, 'onClosed after abort');
    const sink = executions.streams[0]?.sink as SseSink;
    expect(sink.closed).toBe(true);
    sink.send({ data: 'after close' });
    sink.end();
    expect(closedCalls).toBe(1);
    expect(server.sseStats()).toMatchObject({ open: 0, bufferedBytes: 0 });
  });

  it('closes a client that stops reading, with bounded buffering', async () => {
    const maxBuffered = 256 * 1024;
    const { port, executions, server, log } = await start({ config: { sseMaxBufferedBytes: maxBuffered } });
    let closedCalls = 0;
    let generatedBytes = 0;
    let maxSeenBuffered = 0;
    const frame = { data: 'x'.repeat(16 * 1024) };
    executions.streamScript = (sink) => {
      sink.onClosed(() => closedCalls++);
      const pump = () => {
        // Generate far more than socket buffers plus the cap can hold, as long as the stream is open.
        for (let i = 0; i < 16 && !sink.closed; i++) {
          sink.send(frame);
          generatedBytes += frame.data.length;
          maxSeenBuffered = Math.max(maxSeenBuffered, server.sseStats().bufferedBytes);
        }
        if (!sink.closed && generatedBytes < 512 * 1024 * 1024) setImmediate(pump);
      };
      pump();
    };
    const rssBefore = process.memoryUsage().rss;
    const socket = await connect(port);
    socket.pause(); // never reads: the kernel buffers fill, then uWS reports backpressure
    socket.write('GET /api/v1/events/executions/e1 HTTP/1.1\r\nHost: x\r\n\r\n');
    await eventually(() => closedCalls > 0, 20_000, 'slow client to be closed');
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    expect(closedCalls).toBe(1);
    expect(maxSeenBuffered).toBeLessThanOrEqual(maxBuffered);
    expect(server.sseStats()).toMatchObject({ open: 0, bufferedBytes: 0 });
    expect(generatedBytes).toBeLessThan(512 * 1024 * 1024);
    expect(rssGrowth).toBeLessThan(128 * 1024 * 1024);
    expect(log.lines.some((l) => l.level === 'warn' && l.message.includes('not reading'))).toBe(true);
    // The server dropped the connection: once the client reads, what was in flight is followed by EOF.
    socket.resume();
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  });

  it('a client that pauses and resumes gets every frame in order once the socket drains', async () => {
    const { port, executions, server } = await start({ config: { sseMaxBufferedBytes: 32 * 1024 * 1024 } });
    const frames = 1000;
    let maxSeenBuffered = 0;
    executions.streamScript = (sink) => {
      let next = 0;
      const pump = () => {
        for (let i = 0; i < 50 && next < frames; i++, next++) sink.send({ id: String(next), data: `${next}:${'y'.repeat(8 * 1024)}` });
        maxSeenBuffered = Math.max(maxSeenBuffered, server.sseStats().bufferedBytes);
        if (next < frames) setImmediate(pump);
        else sink.end();
      };
      pump();
    };
    const socket = await connect(port);
    socket.pause();
    socket.write('GET /api/v1/events/executions/e1 HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => setTimeout(r, 300));
    const reading = readUntil(socket, (t) => t.endsWith('\r\n0\r\n\r\n'), 20_000);
    socket.resume();
    const raw = await reading;
    socket.destroy();
    expect(maxSeenBuffered).toBeGreaterThan(0); // the socket really backed up and frames waited here
    const body = raw.slice(raw.indexOf('\r\n\r\n') + 4).replace(/\r\n[0-9a-f]+\r\n/g, '');
    const ids = [...body.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(ids).toEqual(Array.from({ length: frames }, (_, i) => i));
  });

  it('close() ends open streams with a retry: hint', async () => {
    const { base, server, executions } = await start({ config: { sseRetryMs: 3000 } });
    let closedCalls = 0;
    executions.streamScript = (sink) => {
      sink.onClosed(() => closedCalls++);
      sink.send({ id: '1', data: 'hello' });
    };
    const res = await fetch(streamUrl(base));
    const reading = res.text();
    await eventually(() => executions.streams.length === 1, 5000, 'stream open');
    await server.close();
    const text = await reading;
    expect(text.endsWith('id: 1\ndata: hello\n\nretry: 3000\n\n')).toBe(true);
    expect(closedCalls).toBe(1);
  });

  it('a raw client sees the chunked SSE response head', async () => {
    const { port } = await start();
    const socket = await connect(port);
    socket.write('GET /api/v1/events/executions/e1 HTTP/1.1\r\nHost: x\r\nLast-Event-ID: abc\r\n\r\n');
    const raw = await readUntil(socket, (t) => t.includes('data: {"status":"queued"}'));
    socket.destroy();
    const head = parseHead(raw);
    expect(head.status).toBe(200);
    expect(head.headers['transfer-encoding']).toBe('chunked');
    expect(head.headers['cache-control']).toBe('no-cache');
  });
});
