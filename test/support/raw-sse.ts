/**
 * A lean SSE client for many streams at once: one raw TCP socket per stream, HTTP/1.1 with chunked bodies undone
 * by hand, frames split on blank lines. It costs a few KB per stream where node:http costs tens, so one process
 * can hold as many streams as its file-descriptor limit allows. Used by bench:sse and the SSE scale tests.
 */
import net from 'node:net';

/** One frame as received: its `id:`, its `data:` (joined) and when it arrived (epoch ms). */
export interface RawFrame {
  id: string | undefined;
  data: string;
  receivedAt: number;
}

/** How a stream is opened and what it is told. */
export interface RawSseOptions {
  port: number;
  path: string;
  headers?: Record<string, string>;
  onFrame: (frame: RawFrame) => void;
  /** Called once when the status line and headers arrived. */
  onOpen?: (status: number) => void;
  /** Called once when the connection is gone, with whether the server ended the body politely. */
  onClose?: (cleanEnd: boolean) => void;
}

/** An open stream; `pause()` stops reading (the kernel buffers fill and the server sees backpressure). */
export interface RawSse {
  readonly socket: net.Socket;
  pause(): void;
  close(): void;
}

/** Opens one SSE stream on 127.0.0.1. */
export function openRawSse(opts: RawSseOptions): RawSse {
  const socket = net.connect({ host: '127.0.0.1', port: opts.port });
  socket.setNoDelay(true);
  const extra = Object.entries(opts.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.write(`GET ${opts.path} HTTP/1.1\r\nhost: 127.0.0.1\r\naccept: text/event-stream\r\n${extra}\r\n`);
  let head = true;
  let raw = '';
  let body = '';
  let chunkLeft = 0;
  let ended = false;
  socket.setEncoding('latin1');
  socket.on('data', (text: string) => {
    const at = Date.now();
    raw += text;
    if (head) {
      const end = raw.indexOf('\r\n\r\n');
      if (end < 0) return;
      head = false;
      opts.onOpen?.(Number(raw.slice(9, 12)));
      raw = raw.slice(end + 4);
    }
    // Undo chunked framing: `<hex>\r\n<bytes>\r\n`, a zero chunk ends the body.
    for (;;) {
      if (chunkLeft > 0) {
        const take = Math.min(chunkLeft, raw.length);
        body += raw.slice(0, take);
        raw = raw.slice(take);
        chunkLeft -= take;
        if (chunkLeft > 0) break;
      }
      if (raw.startsWith('\r\n')) raw = raw.slice(2);
      const eol = raw.indexOf('\r\n');
      if (eol < 0) break;
      const size = parseInt(raw.slice(0, eol), 16);
      raw = raw.slice(eol + 2);
      if (Number.isNaN(size)) {
        socket.destroy();
        break;
      }
      if (size === 0) {
        ended = true;
        socket.end();
        break;
      }
      chunkLeft = size;
    }
    let sep: number;
    while ((sep = body.indexOf('\n\n')) >= 0) {
      const block = body.slice(0, sep);
      body = body.slice(sep + 2);
      let id: string | undefined;
      let data: string | null = null;
      for (const line of block.split('\n')) {
        if (line.startsWith('data: ')) data = data === null ? line.slice(6) : `${data}\n${line.slice(6)}`;
        else if (line.startsWith('id: ')) id = line.slice(4);
      }
      // Bodies arrive as latin1 text; frame data is UTF-8 JSON, decoded only for frames that have data.
      if (data !== null) opts.onFrame({ id, data: Buffer.from(data, 'latin1').toString('utf8'), receivedAt: at });
    }
  });
  socket.on('error', () => undefined);
  socket.once('close', () => opts.onClose?.(ended));
  return {
    socket,
    pause: () => socket.pause(),
    close: () => socket.destroy(),
  };
}
