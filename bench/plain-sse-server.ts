/**
 * The comparison for bench:sse: the same SSE scenario served by a plain node:http server with nothing else in it
 * (no auth, no actors, no store). GET /stream opens a stream; POST /publish writes one frame stamped with the
 * time to every stream; GET /memory answers process.memoryUsage(). Started by bench/sse.bench.ts.
 */
import http from 'node:http';

const port = Number(process.argv[2] ?? 18_091);
const streams = new Set<http.ServerResponse>();
let seq = 0;

http
  .createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('retry: 2000\n\n');
      res.write(`data: ${JSON.stringify({ event_type: 'status', event_id: '', timestamp: new Date().toISOString() })}\n\n`);
      streams.add(res);
      res.on('close', () => streams.delete(res));
      return;
    }
    if (req.method === 'POST' && req.url === '/publish') {
      const id = String(++seq);
      const frame = Buffer.from(`id: ${id}\ndata: ${JSON.stringify({ event_type: 'execution_output', event_id: id, timestamp: new Date().toISOString() })}\n\n`);
      for (const s of streams) s.write(frame);
      res.end(JSON.stringify({ streams: streams.size }));
      return;
    }
    if (req.method === 'GET' && req.url === '/memory') {
      res.end(JSON.stringify({ ...process.memoryUsage(), streams: streams.size }));
      return;
    }
    res.writeHead(404).end();
  })
  .listen(port, '127.0.0.1');
