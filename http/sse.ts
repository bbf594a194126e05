import type { SseFrame, SseSink } from '../system/services/types.js';
import { formatFrame, type EncodedSseFrame } from '../system/services/sse-encoding.js';
import type { HttpContext, ResponseStream } from './context.js';
import { appended } from '../system/util/appended.js';
import { HeartbeatWheel } from './heartbeat-wheel.js';
import { describeError, type HttpLogger } from './log.js';

export { formatFrame } from '../system/services/sse-encoding.js';

/** SSE settings: heartbeat period, per-stream buffer cap, reconnect hint. */
export interface SseOptions {
  heartbeatMs: number;
  /** Bytes a stream may hold while its client is not reading; past this the stream is closed. */
  maxBufferedBytes: number;
  /** Sent as `retry:` so clients know how long to wait before reconnecting. */
  retryMs: number;
}

/** The hub's figures: open streams and bytes they hold now; frames and slow closes since start. */
export interface SseStats {
  open: number;
  bufferedBytes: number;
  /** Frames handed to a client's socket. */
  framesSent: number;
  /** Frames accepted for a stream that never reached its socket: the stream was closed as too slow, or the client left. */
  framesDropped: number;
  /** Streams closed because their client stopped reading and the buffer reached its bound. */
  closedSlow: number;
}

const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
};
const PING = Buffer.from(': ping\n\n');

/** Every open stream on this server: the heartbeat wheel, figures, and shutdown. */
export class SseHub {
  private readonly streams = new Set<SseStream>();
  private readonly wheel: HeartbeatWheel<SseStream>;
  /** The `retry:` line, serialised once for every stream. */
  readonly retryLine: Buffer;
  /** Plain counters, bumped on the write path and read by the metrics at collection time. */
  framesSent = 0;
  framesDropped = 0;
  closedSlow = 0;

  constructor(
    readonly opts: SseOptions,
    readonly log: HttpLogger,
  ) {
    this.wheel = new HeartbeatWheel(opts.heartbeatMs);
    this.retryLine = Buffer.from(`retry: ${opts.retryMs}\n\n`);
  }

  /** A sink for this request; nothing is written until the first frame or `commit()`. */
  open(ctx: HttpContext): SseStream {
    const stream = new SseStream(ctx, this);
    this.streams.add(stream);
    stream.slot = this.wheel.add(stream);
    return stream;
  }

  /** Open streams, the bytes they hold for slow clients, and the frame counters. */
  stats(): SseStats {
    let bufferedBytes = 0;
    for (const s of this.streams) bufferedBytes += s.bufferedBytes;
    return { open: this.streams.size, bufferedBytes, framesSent: this.framesSent, framesDropped: this.framesDropped, closedSlow: this.closedSlow };
  }

  /** Ends every stream with a `retry:` hint (server shutting down). */
  closeAll(): void {
    for (const stream of [...this.streams]) stream.shutdown();
  }

  /** Called once by a stream as it ends. */
  forget(stream: SseStream): void {
    this.streams.delete(stream);
    this.wheel.remove(stream, stream.slot);
  }
}

/**
 * An SseSink over one uWS response. Writes go straight to uWS until it reports backpressure; then frames
 * queue here (the same Buffers other streams got, not copies) until the socket drains, and a queue past
 * `maxBufferedBytes` closes the stream. Fields are few and the queue exists only while blocked: an idle
 * stream is a handful of words besides the request it answers.
 */
export class SseStream implements SseSink {
  private phase: 'pending' | 'open' | 'closed' = 'pending';
  private out: ResponseStream | null = null;
  private queue: Buffer[] | null = null;
  private queuedBytes = 0;
  private blocked = false;
  private endAfterDrain = false;
  private listeners: ReadonlyArray<() => void> | null = null;
  /** Bucket on the hub's heartbeat wheel. */
  slot = 0;

  constructor(
    private readonly ctx: HttpContext,
    private readonly hub: SseHub,
  ) {
    ctx.onAbort(() => {
      this.endAfterDrain = false;
      this.finish();
      // An end() that was waiting for the queue to drain will not see it drain now.
      this.dropQueue();
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
    this.push(Buffer.from(formatFrame(frame)), true);
  }

  /** Queues a frame serialised once for many streams (see SseSink). */
  sendEncoded(frame: EncodedSseFrame): void {
    if (this.closed) return;
    this.commit();
    this.push(frame.bytes, true);
  }

  /** Ends the stream from the server side; queued frames are still delivered. */
  end(): void {
    if (this.closed) return;
    this.commit();
    this.endAfterDrain = true;
    if (!this.blocked) this.out?.end();
    this.finish();
  }

  /** Sends a last frame and ends the stream; while the client keeps up, both go out in one write. */
  endWith(frame: EncodedSseFrame): void {
    if (this.closed) return;
    this.commit();
    if (this.blocked || !this.out) {
      this.push(frame.bytes, true);
      this.end();
      return;
    }
    this.endAfterDrain = true;
    this.hub.framesSent++;
    this.out.end(frame.bytes);
    this.finish();
  }

  /** Registers a listener for the end of the stream; runs at once if it already ended. */
  onClosed(listener: () => void): void {
    if (this.closed) listener();
    else this.listeners = appended(this.listeners ?? [], listener);
  }

  /** Sends the status line and SSE headers now (with a `retry:` hint) if nothing was written yet. */
  commit(): void {
    if (this.phase !== 'pending') return;
    this.phase = 'open';
    this.out = this.ctx.startStream(200, SSE_HEADERS);
    this.out.onWritable(() => this.drain());
    this.push(this.hub.retryLine, false);
  }

  /** Gives up before anything was written (access was refused): the request gets a normal error response. */
  discard(): void {
    if (this.phase === 'pending') this.finish();
  }

  /** Writes a heartbeat comment, unless the client is already behind (it has data waiting). */
  heartbeat(): void {
    if (this.phase === 'open' && !this.blocked) this.push(PING, false);
  }

  /** Server shutdown: tell the client when to come back, then end. */
  shutdown(): void {
    if (this.closed) return;
    const wasPending = this.phase === 'pending';
    this.commit();
    if (!wasPending) this.push(this.hub.retryLine, false);
    this.end();
  }

  private push(chunk: Buffer, isFrame: boolean): void {
    const out = this.out;
    if (!out) return;
    if (!this.blocked) {
      this.blocked = !out.write(chunk);
      if (isFrame) this.hub.framesSent++;
      return;
    }
    if (this.queuedBytes + chunk.length > this.hub.opts.maxBufferedBytes) {
      if (isFrame) this.hub.framesDropped++;
      this.overflow();
      return;
    }
    (this.queue ??= []).push(chunk);
    this.queuedBytes += chunk.length;
  }

  /** uWS says the socket drained: hand over queued frames until it backs up again. */
  private drain(): boolean {
    const out = this.out;
    if (!out) return true;
    this.blocked = false;
    const queue = this.queue;
    while (queue && queue.length > 0) {
      const chunk = queue.shift() as Buffer;
      this.queuedBytes -= chunk.length;
      if (chunk !== this.hub.retryLine) this.hub.framesSent++;
      if (!out.write(chunk)) {
        this.blocked = true;
        return false;
      }
    }
    this.queue = null;
    if (this.endAfterDrain) out.end();
    return true;
  }

  private overflow(): void {
    this.hub.log.warn(
      { path: this.ctx.path, buffered_bytes: this.queuedBytes, max_buffered_bytes: this.hub.opts.maxBufferedBytes },
      'closing SSE stream: client is not reading',
    );
    this.hub.closedSlow++;
    this.endAfterDrain = false;
    this.finish();
    this.out?.close();
  }

  /** Runs once however the stream ends (client gone, end(), overflow, shutdown). */
  private finish(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    if (!this.endAfterDrain) this.dropQueue();
    this.hub.forget(this);
    const listeners = this.listeners;
    this.listeners = null;
    for (const listener of listeners ?? []) {
      try {
        listener();
      } catch (err) {
        this.hub.log.error({ path: this.ctx.path, ...describeError(err) }, 'SSE onClosed listener threw');
      }
    }
  }

  private dropQueue(): void {
    for (const chunk of this.queue ?? []) if (chunk !== this.hub.retryLine) this.hub.framesDropped++;
    this.queue = null;
    this.queuedBytes = 0;
  }
}
