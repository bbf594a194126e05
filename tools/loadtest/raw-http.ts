/**
 * Sends hand-made bytes over a fresh TCP (or TLS) connection and reads the first HTTP response: what node:http
 * refuses to send (malformed request lines, bad headers, pipelining) still reaches the server this way.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import type { ConnectionTracker } from './http-client.js';

export interface RawResult {
  /** Status of the first final response (1xx skipped), or null when none came. */
  status: number | null;
  /** How the exchange ended. */
  end: 'response' | 'closed' | 'reset' | 'timeout' | 'cancelled';
  bytesIn: number;
  latencyMs: number;
  /** The start of what came back (for failure reports). */
  excerpt: string;
  error?: string;
}

export interface RawOptions {
  host: string;
  port: number;
  secure: boolean;
  timeoutMs: number;
  /** Half-close after writing (the server then knows no more bytes will come). */
  endAfterWrite: boolean;
  signal?: AbortSignal;
  tracker?: ConnectionTracker;
}

const HEAD_END = '\r\n\r\n';

/** Where the first final response ends in `buf` (latin1 text), or -1 if it is not complete yet. */
export function firstResponseEnd(buf: string): { status: number; end: number } | null | 'incomplete' {
  let offset = 0;
  for (;;) {
    const headEnd = buf.indexOf(HEAD_END, offset);
    if (headEnd < 0) return 'incomplete';
    const head = buf.slice(offset, headEnd);
    const m = /^HTTP\/\d(?:\.\d)?\s+(\d{3})/.exec(head);
    if (!m) return null; // not HTTP
    const status = Number(m[1]);
    const bodyStart = headEnd + HEAD_END.length;
    if (status >= 100 && status < 200) {
      offset = bodyStart;
      continue;
    }
    const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (cl) {
      const end = bodyStart + Number(cl[1]);
      return buf.length >= end ? { status, end } : 'incomplete';
    }
    if (/\r\ntransfer-encoding:[^\r]*chunked/i.test(head)) {
      const term = buf.indexOf('\r\n0\r\n\r\n', bodyStart - 2);
      return term >= 0 ? { status, end: term + 7 } : 'incomplete';
    }
    if (status === 204 || status === 304) return { status, end: bodyStart };
    return 'incomplete'; // body until close
  }
}

export function sendRaw(bytes: Buffer, opts: RawOptions): Promise<RawResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    let buf = '';
    let bytesIn = 0;
    let done = false;
    const socket = opts.secure
      ? tls.connect({ host: opts.host, port: opts.port, rejectUnauthorized: false, servername: net.isIP(opts.host) ? undefined : opts.host })
      : net.connect({ host: opts.host, port: opts.port });
    opts.tracker?.watch(socket);
    const finish = (end: RawResult['end'], error?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      const parsed = firstResponseEnd(buf);
      let status: number | null = null;
      if (parsed && parsed !== 'incomplete') status = parsed.status;
      else {
        const m = /^HTTP\/\d(?:\.\d)?\s+(\d{3})/.exec(buf.replace(/^(HTTP\/\d(?:\.\d)?\s+1\d\d[^]*?\r\n\r\n)+/, ''));
        if (m) status = Number(m[1]);
      }
      socket.destroy();
      resolve({
        status,
        end: status !== null && end !== 'timeout' && end !== 'cancelled' ? 'response' : end,
        bytesIn,
        latencyMs: performance.now() - started,
        excerpt: buf.slice(0, 300),
        ...(error ? { error } : {}),
      });
    };
    const onAbort = () => finish('cancelled');
    const timer = setTimeout(() => finish('timeout', `no answer or close within ${opts.timeoutMs} ms`), opts.timeoutMs);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('connect', () => {
      socket.write(bytes);
      if (opts.endAfterWrite) socket.end();
    });
    socket.on('data', (chunk: Buffer) => {
      bytesIn += chunk.length;
      if (buf.length < 1_000_000) buf += chunk.toString('latin1');
      const parsed = firstResponseEnd(buf);
      if (parsed && parsed !== 'incomplete') finish('response');
    });
    socket.on('end', () => finish('closed'));
    socket.on('close', () => finish('closed'));
    socket.on('error', (err: NodeJS.ErrnoException) => finish(err.code === 'ECONNRESET' || err.code === 'EPIPE' ? 'reset' : 'closed', `${err.code ?? 'error'}: ${err.message}`));
  });
}
