import { STATUS_CODES } from 'node:http';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import type { Caller } from '../system/services/types.js';
import { BodyReader } from './body.js';

/** How a request ended: a response went out with a status, or the client left first. */
export type Outcome = { kind: 'sent'; status: number } | { kind: 'aborted' };

/** A response being streamed (SSE): raw writes with uWS backpressure signals. */
export interface ResponseStream {
  /** Writes one chunk; false means uWS buffered part of it and the socket is backed up. */
  write(chunk: Buffer): boolean;
  /** Called when a backed-up socket drained; return false if it backed up again. */
  onWritable(handler: () => boolean): void;
  /** Finishes the response normally. */
  end(): void;
  /** Drops the connection at once (the client is too slow to end politely). */
  close(): void;
}

/**
 * One request in flight. Everything uWS only offers during the request callback (method, url, query,
 * headers, address, the body listener) is captured in the constructor; the response is written once.
 */
export class HttpContext {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: Readonly<Record<string, string>>;
  readonly ip: string;
  readonly body: BodyReader;
  readonly startedAt = performance.now();
  /** Headers pipeline steps add to whatever response goes out (lower-case names). */
  readonly responseHeaders = new Map<string, string>();
  private readonly cookies: string[] = [];
  /** Path parameters of the matched route. */
  params: Readonly<Record<string, string>> = {};
  /** The matched route pattern, for metrics and logs; null until routed. */
  route: string | null = null;
  private resolvedCaller: Caller | null = null;
  private phase: 'open' | 'streaming' | 'done' = 'open';
  private wasAborted = false;
  private abortListeners: Array<() => void> = [];
  private finishListeners: Array<(outcome: Outcome) => void> = [];

  constructor(
    private readonly res: HttpResponse,
    req: HttpRequest,
  ) {
    res.onAborted(() => this.handleAbort());
    this.method = req.getMethod().toUpperCase();
    this.path = req.getUrl();
    this.query = new URLSearchParams(req.getQuery() ?? '');
    // No prototype: a header named __proto__ or constructor stays plain data.
    const headers = Object.create(null) as Record<string, string>;
    req.forEach((name, value) => {
      const prior = headers[name];
      headers[name] = prior === undefined ? value : `${prior}${name === 'cookie' ? '; ' : ', '}${value}`;
    });
    this.headers = headers;
    this.ip = Buffer.from(res.getRemoteAddressAsText()).toString();
    const declared = Number(headers['content-length'] ?? '0');
    this.body = new BodyReader(res, declared > 0 || headers['transfer-encoding'] !== undefined);
  }

  /** The caller resolved by the auth step. */
  get caller(): Caller {
    if (!this.resolvedCaller) throw new Error('caller read before the auth step ran');
    return this.resolvedCaller;
  }

  set caller(caller: Caller) {
    this.resolvedCaller = caller;
  }

  /** True once a response started or the client left: later pipeline steps are skipped. */
  get responded(): boolean {
    return this.phase !== 'open' || this.wasAborted;
  }

  /** True if the client disconnected. */
  get aborted(): boolean {
    return this.wasAborted;
  }

  /** A request header by case-insensitive name, or undefined. */
  header(name: string): string | undefined {
    return this.headers[name.toLowerCase()];
  }

  /** A cookie by name, or undefined. */
  cookie(name: string): string | undefined {
    for (const part of (this.header('cookie') ?? '').split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === name) return decodeCookie(part.slice(eq + 1).trim());
    }
    return undefined;
  }

  /** Sends a complete response; ignored if one was already started or the client left. */
  send(status: number, body: string | null, headers: Record<string, string> = {}): void {
    if (this.responded) return;
    this.phase = 'done';
    const merged = this.mergedHeaders(headers);
    this.res.cork(() => {
      this.res.writeStatus(statusLine(status));
      for (const [name, value] of merged) this.res.writeHeader(name, value);
      if (body === null) this.res.endWithoutBody();
      else this.res.end(body);
    });
    this.finish({ kind: 'sent', status });
  }

  /** Sends a JSON response. */
  json(status: number, value: unknown, headers: Record<string, string> = {}): void {
    this.send(status, JSON.stringify(value), { 'content-type': 'application/json', ...headers });
  }

  /** Starts a streamed response: status and headers go out with the first write. */
  startStream(status: number, headers: Record<string, string>): ResponseStream {
    if (this.responded) throw new Error('response already started');
    this.phase = 'streaming';
    const merged = this.mergedHeaders(headers);
    let headed = false;
    const res = this.res;
    const writeHead = () => {
      if (headed) return;
      headed = true;
      res.writeStatus(statusLine(status));
      for (const [name, value] of merged) res.writeHeader(name, value);
    };
    return {
      write: (chunk) => {
        if (this.phase !== 'streaming' || this.wasAborted) return true;
        let ok = true;
        res.cork(() => {
          writeHead();
          ok = res.write(chunk);
        });
        return ok;
      },
      onWritable: (handler) => {
        res.onWritable(() => handler());
      },
      end: () => {
        if (this.phase !== 'streaming' || this.wasAborted) return;
        this.phase = 'done';
        res.cork(() => {
          writeHead();
          res.end();
        });
        this.finish({ kind: 'sent', status });
      },
      close: () => {
        if (this.phase !== 'streaming' || this.wasAborted) return;
        res.close();
      },
    };
  }

  /** Runs `listener` if the client disconnects before the response is finished. */
  onAbort(listener: () => void): void {
    this.abortListeners.push(listener);
  }

  /** Runs `listener` once when the request ends either way. */
  onFinish(listener: (outcome: Outcome) => void): void {
    this.finishListeners.push(listener);
  }

  /** Adds a Set-Cookie line to the response (one line per cookie; they cannot be folded into one header). */
  addCookie(serialized: string): void {
    this.cookies.push(serialized);
  }

  private mergedHeaders(extra: Record<string, string>): Array<[string, string]> {
    const merged = new Map(this.responseHeaders);
    for (const [name, value] of Object.entries(extra)) merged.set(name.toLowerCase(), value);
    // The client is still sending a body we will not read: ask it to stop and not reuse the connection.
    if (this.body.unfinished) merged.set('connection', 'close');
    return [...merged, ...this.cookies.map((c): [string, string] => ['set-cookie', c])];
  }

  private handleAbort(): void {
    if (this.wasAborted || this.phase === 'done') return;
    this.wasAborted = true;
    this.body.abandon();
    const listeners = this.abortListeners;
    this.abortListeners = [];
    for (const listener of listeners) listener();
    this.finish({ kind: 'aborted' });
  }

  private finish(outcome: Outcome): void {
    const listeners = this.finishListeners;
    this.finishListeners = [];
    this.abortListeners = [];
    for (const listener of listeners) listener(outcome);
  }
}

function statusLine(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? 'Unknown'}`;
}

function decodeCookie(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
