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
  private remoteAddress: string | undefined;
  private readonly rawQuery: string;
  private parsedQuery: URLSearchParams | null = null;
  readonly startedAt = performance.now();
  /** Headers pipeline steps add to whatever response goes out (lower-case names). */
  readonly responseHeaders = new Map<string, string>();
  /** Fixed headers every response carries; any of them set in `responseHeaders` or by the response itself wins. */
  baseHeaders: HeaderBlock | null = null;
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
    // No inherited properties: a header named __proto__ or constructor stays plain data.
    const headers = new HeaderTable() as Record<string, string>;
    req.forEach((name, value) => {
      const prior = headers[name];
      headers[name] = prior === undefined ? value : `${prior}${name === 'cookie' ? '; ' : ', '}${value}`;
    });
    this.headers = headers;
    const declared = Number(headers['content-length'] ?? '0');
    this.body = new BodyReader(res, declared > 0 || headers['transfer-encoding'] !== undefined);
  }

  /**
   * The client's address, read on first use: uWS's address call costs more than the rest of a small request, and
   * most requests (a signed-in user, a route without an anonymous rate limit) never need it. Read it before the
   * response ends (uWS discards the response then); a late first read answers ''.
   */
  get ip(): string {
    if (this.remoteAddress === undefined) {
      if (this.phase === 'done' || this.wasAborted) return '';
      this.remoteAddress = Buffer.from(this.res.getRemoteAddressAsText()).toString();
    }
    return this.remoteAddress;
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

  /**
   * Writes the pipeline's headers, then `extra` (which wins on a clash, names compared lower-case), then cookies.
   * All of them go out in one uWS call: uWS writes `name: value` plus CRLF as given, so the other lines ride in the
   * first header's value. That is also why every value is cleared of CR and LF here: no value can start a line.
   */
  private writeHeaders(extra: Record<string, string>): void {
    const own: Record<string, string> = {};
    for (const name in extra) own[name.toLowerCase()] = extra[name]!;
    // The client is still sending a body we will not read: ask it to stop and not reuse the connection.
    if (this.body.unfinished) own['connection'] = 'close';
    let first: string | undefined;
    let value = '';
    const add = (name: string, raw: string) => {
      const line = raw.includes('\r') || raw.includes('\n') ? raw.replace(/[\r\n]+/g, ' ') : raw;
      if (first === undefined) {
        first = name;
        value = line;
      } else value += `\r\n${name}: ${line}`;
    };
    const base = this.baseHeaders;
    if (base) {
      if (base.names.some((name) => own[name] !== undefined || this.responseHeaders.has(name))) {
        for (const name of base.names) if (own[name] === undefined && !this.responseHeaders.has(name)) add(name, base.values[name]!);
      } else {
        first = base.firstName;
        value = base.rest;
      }
    }
    for (const [name, v] of this.responseHeaders) if (own[name] === undefined) add(name, v);
    for (const name in own) add(name, own[name]!);
    for (const cookie of this.cookies) add('set-cookie', cookie);
    if (first !== undefined) this.res.writeHeader(first, value);
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

/** Constant response headers prepared once as the text of a single uWS header call (see writeHeaders). */
export class HeaderBlock {
  readonly names: readonly string[];
  readonly firstName: string;
  readonly rest: string;

  constructor(readonly values: Readonly<Record<string, string>>) {
    const entries = Object.entries(values);
    if (entries.length === 0 || entries.some(([n, v]) => /[\r\n:]/.test(n) || /[\r\n]/.test(v))) throw new Error('invalid header block');
    this.names = entries.map(([n]) => n);
    this.firstName = entries[0]![0];
    this.rest = [entries[0]![1], ...entries.slice(1).map(([n, v]) => `${n}: ${v}`)].join('\r\n');
  }
}

/**
 * Request headers by lower-case name. Instances have nothing to inherit (the prototype has no prototype), and unlike
 * Object.create(null) objects, which V8 keeps in slow dictionary mode, they get fast properties.
 */
const HeaderTable = function HeaderTable() {} as unknown as new () => object;
HeaderTable.prototype = Object.create(null);

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
