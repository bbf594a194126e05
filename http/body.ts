import type { HttpResponse } from 'uWebSockets.js';
import { errors } from '../system/domain/errors.js';
import { MalformedJsonError } from './errors.js';

/** Raised to pending body readers when the client disconnects mid-request. */
export class ClientGoneError extends Error {
  constructor() {
    super('client disconnected');
    this.name = 'ClientGoneError';
  }
}

type Waiter = { resolve(body: Buffer): void; reject(err: unknown): void };

/**
 * The request body as uWS streams it in. Attached during the request callback (uWS drops a body nobody
 * listens for); bytes are counted as they arrive so a size limit trips before the whole body is read.
 */
export class BodyReader {
  // Made on first use: most requests have no body, and an SSE stream keeps its reader as long as it lives.
  private chunks: Buffer[] | null = null;
  private receivedBytes = 0;
  private state: 'receiving' | 'complete' | 'exceeded' | 'abandoned' = 'receiving';
  private maxBytes = Number.POSITIVE_INFINITY;
  private onExceeded: (() => void) | null = null;
  private waiters: Waiter[] | null = null;

  /**
   * `expectsBody`: the request announced one (Content-Length > 0 or Transfer-Encoding). Without either, HTTP/1.1
   * gives the request no body, so nothing is listened for and the (empty) body is complete at once.
   */
  constructor(
    res: HttpResponse,
    readonly expectsBody: boolean,
  ) {
    if (expectsBody) res.onData((chunk, isLast) => this.receive(chunk, isLast));
    else this.state = 'complete';
  }

  /** True while the client is still sending bytes nobody will read (body pending or over the cap). */
  get unfinished(): boolean {
    return this.state === 'exceeded' || (this.state === 'receiving' && this.expectsBody);
  }

  /** True once the last byte of the body has arrived (or the request had none). */
  get complete(): boolean {
    return this.state === 'complete';
  }

  /** Bytes received so far. */
  get received(): number {
    return this.receivedBytes;
  }

  /** Caps the body; `onExceeded` runs once, as soon as the count passes the cap. */
  limit(maxBytes: number, onExceeded: () => void): void {
    this.maxBytes = maxBytes;
    this.onExceeded = onExceeded;
    if (this.receivedBytes > maxBytes) this.exceed();
  }

  /** The whole body once it has arrived. Rejects with TooLarge past the cap, ClientGoneError on disconnect. */
  read(): Promise<Buffer> {
    if (this.state === 'complete') return Promise.resolve(this.joined());
    if (this.state === 'exceeded') return Promise.reject(errors.tooLarge(this.maxBytes));
    if (this.state === 'abandoned') return Promise.reject(new ClientGoneError());
    return new Promise((resolve, reject) => (this.waiters ??= []).push({ resolve, reject }));
  }

  /** The body parsed as JSON; undefined when empty, MalformedJsonError when not JSON or nested too deep. */
  async json(): Promise<unknown> {
    const raw = await this.read();
    if (raw.length === 0) return undefined;
    const text = raw.toString('utf8');
    // Validators, diffs and stores walk values recursively: a deep document would exhaust the stack there.
    if (nestingDepth(text) > MAX_JSON_DEPTH) throw new MalformedJsonError(`JSON body nested deeper than ${MAX_JSON_DEPTH} levels`);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new MalformedJsonError();
    }
  }

  /** Called when the client goes away: pending readers are released. */
  abandon(): void {
    if (this.state !== 'receiving') return;
    this.state = 'abandoned';
    this.chunks = null;
    this.settle((w) => w.reject(new ClientGoneError()));
  }

  private receive(chunk: ArrayBuffer, isLast: boolean): void {
    if (this.state !== 'receiving') return;
    this.receivedBytes += chunk.byteLength;
    if (this.receivedBytes > this.maxBytes) {
      this.exceed();
      return;
    }
    // uWS neuters the ArrayBuffer after this callback returns: copy it.
    if (chunk.byteLength > 0) (this.chunks ??= []).push(Buffer.from(new Uint8Array(chunk)));
    if (!isLast) return;
    this.state = 'complete';
    const body = this.joined();
    this.settle((w) => w.resolve(body));
  }

  private exceed(): void {
    this.state = 'exceeded';
    this.chunks = null;
    const limit = this.maxBytes;
    this.settle((w) => w.reject(errors.tooLarge(limit)));
    this.onExceeded?.();
  }

  /** Lets go of the bytes and the limit handler: the response is streaming and nobody reads the body any more. */
  release(): void {
    this.chunks = null;
    this.onExceeded = null;
  }

  private joined(): Buffer {
    const chunks = this.chunks;
    if (chunks === null || chunks.length === 0) return EMPTY_BODY;
    if (chunks.length !== 1) this.chunks = [Buffer.concat(chunks)];
    return this.chunks![0]!;
  }

  private settle(fn: (w: Waiter) => void): void {
    const waiters = this.waiters;
    this.waiters = null;
    for (const w of waiters ?? []) fn(w);
  }
}

/** The body of a request without one; zero bytes, so sharing it is safe. */
const EMPTY_BODY = Buffer.alloc(0);

/** Deepest nesting of arrays and objects a JSON body may have. */
export const MAX_JSON_DEPTH = 64;

/** How deep the brackets of a JSON text go (brackets inside strings do not count); stops counting past the limit. */
export function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > MAX_JSON_DEPTH) return deepest;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}
