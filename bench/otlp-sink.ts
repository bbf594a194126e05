/**
 * A stand-in OTLP/HTTP collector for the overhead benchmarks: accepts POST /v1/traces and /v1/metrics, counts the
 * requests and bytes, and drops them. With it a node's telemetry is measured with its exporters really sending.
 */
import http from 'node:http';

export interface OtlpSink {
  /** The base URL to give as OTEL_EXPORTER_OTLP_ENDPOINT. */
  url: string;
  /** Export requests received, by path. */
  received: Record<string, { requests: number; bytes: number }>;
  close(): Promise<void>;
}

/** Starts the sink on a free loopback port. */
export function startOtlpSink(): Promise<OtlpSink> {
  const received: OtlpSink['received'] = {};
  const server = http.createServer((req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      const path = req.url ?? '/';
      const seen = (received[path] ??= { requests: 0, bytes: 0 });
      seen.requests++;
      seen.bytes += bytes;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({ url: `http://127.0.0.1:${port}`, received, close: () => new Promise((done) => server.close(() => done())) });
    }),
  );
}
