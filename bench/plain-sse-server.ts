/**
 * The baselines for bench:sse: the same SSE scenario served by a server with nothing else in it (no auth, no
 * actors, no store), on node:http (`node`) or bare uWebSockets.js (`uws`). GET /stream opens a stream; POST
 * /publish writes one frame stamped with the time to every stream; GET /memory answers process.memoryUsage().
 * Started by bench/sse.bench.ts: `plain-sse-server.ts <port> <node|uws>`.
 */
import http from 'node:http';
import uWS from 'uWebSockets.js';

const port = Number(process.argv[2] ?? 18_091);
const kind = process.argv[3] ?? 'node';
let seq = 0;

const hello = () => `retry: 2000\n\ndata: ${JSON.stringify({ event_type: 'status', event_id: '', timestamp: new Date().toISOString() })}\n\n`;
const frame = () => {
  const id = String(++seq);
  return Buffer.from(`id: ${id}\ndata: ${JSON.stringify({ event_type: 'execution_output', event_id: id, timestamp: new Date().toISOString() })}\n\n`);
};
const memory = () => JSON.stringify(process.memoryUsage());

if (kind === 'uws') {
  const streams = new Set<uWS.HttpResponse>();
  uWS
    .App()
    .get('/stream', (res) => {
      res.onAborted(() => streams.delete(res));
      res.cork(() => {
        res.writeStatus('200 OK').writeHeader('content-type', 'text/event-stream').writeHeader('cache-control', 'no-cache');
        res.write(hello());
      });
      streams.add(res);
    })
    .post('/publish', (res) => {
      const bytes = frame();
      res.cork(() => res.end(JSON.stringify({ streams: streams.size })));
      // Outside the request's own callback, as the platform's fan-out runs (from the bus, not a handler).
      setImmediate(() => {
        for (const s of streams) s.cork(() => s.write(bytes));
      });
    })
    .get('/memory', (res) => void res.cork(() => res.end(memory())))
    .listen('127.0.0.1', port, () => undefined);
} else {
  const streams = new Set<http.ServerResponse>();
  http
    .createServer((req, res) => {
      if (req.method === 'GET' && req.url === '/stream') {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.write(hello());
        streams.add(res);
        res.on('close', () => streams.delete(res));
        return;
      }
      if (req.method === 'POST' && req.url === '/publish') {
        const bytes = frame();
        for (const s of streams) s.write(bytes);
        res.end(JSON.stringify({ streams: streams.size }));
        return;
      }
      if (req.method === 'GET' && req.url === '/memory') {
        res.end(memory());
        return;
      }
      res.writeHead(404).end();
    })
    .listen(port, '127.0.0.1');
}
