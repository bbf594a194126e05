import type { SseFrame, SseSink } from '../system/services/types.js';
import type { HttpContext, ResponseStream } from './context.js';
import { describeError, type HttpLogger } from './log.js';

/** SSE settings: heartbeat period, per-stream buffer cap, reconnect hint. */
export interface SseOptions {
  heartbeatMs: number;
  /** Bytes a stream may hold while its client is not reading; past this the stream is closed. */
  maxBufferedBytes: number;
  /** Sent as `retry:` so clients know how long to wait before reconnecting. */
  retryMs: number;
}

const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
};

/** One frame in text/event-stream format; multi-line data becomes several `data:` lines. */
export function formatFrame(frame: SseFrame): string {
  let out = '';
  if (frame.id !== undefined) out += `id: ${singleLine(frame.id)}\n`;
  if (frame.event !== undefined) out += `event: ${singleLine(frame.event)}\n`;
  for (const line of frame.data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return `${out}\n`;
}

function singleLine(value: string): string {
  return value.replace(/[\r\n\0]/g, '');
}

/** Every open stream on this server: one shared heartbeat timer, counts, and shutdown. */
export class SseHub {
  private readonly streams = new Set<SseStream>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly opts: SseOptions,
    private readonly log: HttpLogger,
  ) {}

  /** A sink for this request; nothing is written until the first frame or `commit()`. */
  open(ctx: HttpContext): SseStream {
    const stream = new SseStream(ctx, this.opts, this.log, () => this.forget(stream));
    this.streams.add(stream);
    if (!this.timer) {
      this.timer = setInterval(() => this.heartbeat(), this.opts.heartbeatMs);
      this.timer.unref();
    }
    return stream;
  }

  /** Open streams and the bytes they hold for slow clients. */
  stats(): { open: number; bufferedBytes: number } {
    let bufferedBytes = 0;
    for (const s of this.streams) bufferedBytes += s.bufferedBytes;
    return { open: this.streams.size, bufferedBytes };
  }

  /** Ends every stream with a `retry:` hint (server shutting down). */
  closeAll(): void {
    for (const stream of [...this.streams]) stream.shutdown();
  }

  private heartbeat(): void {
    for (const stream of this.streams) stream.heartbeat();
  }

  private forget(stream: SseStream): void {
    this.streams.delete(stream);
    if (this.streams.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}

/**
 * An SseSink over one uWS response. Writes go straight to uWS until it reports backpressure; then frames
 * queue here until the socket drains, and a queue past `maxBufferedBytes` closes the stream.
 */
export class SseStream implements SseSink {
  private phase: 'pending' | 'open' | 'closed' = 'pending';
  private out: ResponseStream | null = null;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private blocked = false;
  private endAfterDrain = false;
  private listeners: Array<() => void> = [];

  constructor(
    private readonly ctx: HttpContext,
    private readonly opts: SseOptions,
    private readonly log: HttpLogger,
    private readonly release: () => void,
  ) {
    ctx.onAbort(() => {
      this.endAfterDrain = false;
      this.finish();
      this.queue = [];
      this.queuedBytes = 0;
    });
  }

  /** True once no more frames will be accepted. */
  get closed(): boolean {
    return this.phase === 'closed';
  }

  /** True once the 200 and SSE headers went out: errors can no longer become an HTTP status. */
  get committed(): boolean {
    return this.out !== null;
  }

  /** Bytes queued here because the client is not reading. */
  get bufferedBytes(): number {
    return this.queuedBytes;
  }

  /** Queues a frame (see SseSink). */
  send(frame: SseFrame): void {
    if (this.closed) return;
    this.commit();
    this.push(formatFrame(frame));
  }

  /** Ends the stream from the server side; queued frames are still delivered. */
  end(): void {
    if (this.closed) return;
    this.commit();
    this.endAfterDrain = true;
    if (!this.blocked) this.out?.end();
    this.finish();
  }

  /** Registers a listener for the end of the stream; runs at once if it already ended. */
  onClosed(listener: () => void): void {
    if (this.closed) listener();
    else this.listeners.push(listener);
  }

  /** Sends the status line and SSE headers now (with a `retry:` hint) if nothing was written yet. */
  commit(): void {
    if (this.phase !== 'pending') return;
    this.phase = 'open';
    this.out = this.ctx.startStream(200, SSE_HEADERS);
    this.out.onWritable(() => this.drain());
    this.push(`retry: ${this.opts.retryMs}\n\n`);
  }

  /** Gives up before anything was written (access was refused): the request gets a normal error response. */
  discard(): void {
    if (this.phase === 'pending') this.finish();
  }

  /** Writes a heartbeat comment, unless the client is already behind (it has data waiting). */
  heartbeat(): void {
    if (this.phase === 'open' && !this.blocked) this.push(': ping\n\n');
  }

  /** Server shutdown: tell the client when to come back, then end. */
  shutdown(): void {
    if (this.closed) return;
    const wasPending = this.phase === 'pending';
    this.commit();
    if (!wasPending) this.push(`retry: ${this.opts.retryMs}\n\n`);
    this.end();
  }

  private push(text: string): void {
    const out = this.out;
    if (!out) return;
    const chunk = Buffer.from(text);
    if (!this.blocked) {
      this.blocked = !out.write(chunk);
      return;
    }
    if (this.queuedBytes + chunk.length > this.opts.maxBufferedBytes) {
      this.overflow();
      return;
    }
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
  }

  /** uWS says the socket drained: hand over queued frames until it backs up again. */
  private drain(): boolean {
    const out = this.out;
    if (!out) return true;
    this.blocked = false;
    while (this.queue.length > 0) {
      const chunk = this.queue.shift() as Buffer;
      this.queuedBytes -= chunk.length;
      if (!out.write(chunk)) {
        this.blocked = true;
        return false;
      }
    }
    if (this.endAfterDrain) out.end();
    return true;
  }

  private overflow(): void {
    this.log.warn(
      { path: this.ctx.path, buffered_bytes: this.queuedBytes, max_buffered_bytes: this.opts.maxBufferedBytes },
      'closing SSE stream: client is not reading',
    );
    this.queue = [];
    this.queuedBytes = 0;
    this.finish();
    this.out?.close();
  }

  /** Runs once however the stream ends (client gone, end(), overflow, shutdown). */
  private finish(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    if (!this.endAfterDrain) {
      this.queue = [];
      this.queuedBytes = 0;
    }
    this.release();
    const listeners = this.listeners;
    this.listeners = [];
    for (const listener of listeners) {
      try {
        listener();
      } catch (err) {
        this.log.error({ path: this.ctx.path, ...describeError(err) }, 'SSE onClosed listener threw');
      }
    }
  }
}
