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
  readonly headers: Readonly<Record<string, string>>;
  readonly body: BodyReader;
  readonly ip: string;
  private readonly rawQuery: string;
  private parsedQuery: URLSearchParams | null = null;
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
    this.rawQuery = req.getQuery() ?? '';
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

  /** The query string, parsed on first use. */
  get query(): URLSearchParams {
    this.parsedQuery ??= new URLSearchParams(this.rawQuery);
    return this.parsedQuery;
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
  send(status: number, body: string | Buffer | null, headers: Record<string, string> = {}): void {
    if (this.responded) return;
    this.phase = 'done';
    this.res.cork(() => {
      this.res.writeStatus(statusLine(status));
      this.writeHeaders(headers);
      // HEAD gets the head only (a body would be read as the start of the next response on the connection).
      if (body === null) this.res.endWithoutBody();
      else if (this.method === 'HEAD') this.res.endWithoutBody();
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
    let headed = false;
    const res = this.res;
    const writeHead = () => {
      if (headed) return;
      headed = true;
      res.writeStatus(statusLine(status));
      this.writeHeaders(headers);
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

  /** Writes the pipeline's headers, then `extra` (which wins on a clash, names compared lower-case), then cookies. */
  private writeHeaders(extra: Record<string, string>): void {
    const res = this.res;
    const own: Record<string, string> = {};
    for (const name in extra) own[name.toLowerCase()] = extra[name]!;
    // The client is still sending a body we will not read: ask it to stop and not reuse the connection.
    if (this.body.unfinished) own['connection'] = 'close';
    for (const [name, value] of this.responseHeaders) if (own[name] === undefined) res.writeHeader(name, value);
    for (const name in own) res.writeHeader(name, own[name]!);
    for (const cookie of this.cookies) res.writeHeader('set-cookie', cookie);
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

const statusLines = new Map<number, string>();

function statusLine(status: number): string {
  let line = statusLines.get(status);
  if (line === undefined) {
    line = `${status} ${STATUS_CODES[status] ?? 'Unknown'}`;
    statusLines.set(status, line);
  }
  return line;
}

function decodeCookie(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
