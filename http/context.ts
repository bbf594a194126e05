import { STATUS_CODES } from 'node:http';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import type { Caller } from '../system/services/types.js';
import { appended } from '../system/util/appended.js';
import { BodyReader } from './body.js';

/** How a request ended: a response went out with a status, or the client left first. */
export type Outcome = { kind: 'sent'; status: number } | { kind: 'aborted' };

/** Told once when a request ends, before its finish listeners (the metrics step's recorder: one object for all requests). */
export interface RequestObserver {
  finished(ctx: HttpContext, outcome: Outcome): void;
}

/** A response being streamed (SSE): raw writes with uWS backpressure signals. */
export interface ResponseStream {
  /** Writes one chunk; false means uWS buffered part of it and the socket is backed up. */
  write(chunk: Buffer): boolean;
  /** Called when a backed-up socket drained; return false if it backed up again. */
  onWritable(handler: () => boolean): void;
  /** Finishes the response normally, after `last` when given (in the same write). */
  end(last?: Buffer): void;
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
  /** Request headers by lower-case name; empty once a streamed response started (see releaseRequest). */
  headers: Readonly<Record<string, string>>;
  readonly body: BodyReader;
  /** The body size the request announced (Content-Length), 0 without one. */
  readonly declaredBodyBytes: number;
  private remoteAddress: string | undefined;
  private readonly rawQuery: string;
  private parsedQuery: URLSearchParams | null = null;
  readonly startedAt = performance.now();
  private extraHeaders: Map<string, string> | null = null;
  /** Fixed headers every response carries; any of them set in `responseHeaders` or by the response itself wins. */
  baseHeaders: HeaderBlock | null = null;
  private cookies: string[] | null = null;
  /** Path parameters of the matched route. */
  params: Readonly<Record<string, string>> = {};
  /** The matched route pattern, for metrics and logs; null until routed. */
  route: string | null = null;
  /** Response body bytes handed to the socket so far, for metrics. */
  bytesSent = 0;
  private resolvedCaller: Caller | null = null;
  private phase: 'open' | 'streaming' | 'done' = 'open';
  private wasAborted = false;
  // Exact-size arrays, replaced on each add: a request has one to three listeners, and a pushed-to array keeps
  // room for seventeen for as long as the request lives (a whole SSE stream).
  private abortListeners: ReadonlyArray<() => void> = NONE;
  private finishListeners: ReadonlyArray<(outcome: Outcome) => void> = NONE;
  private observer: RequestObserver | null = null;

  constructor(
    private readonly res: HttpResponse,
    req: HttpRequest,
  ) {
    res.onAborted(() => this.handleAbort());
    this.method = req.getMethod().toUpperCase();
    this.path = req.getUrl();
    this.rawQuery = req.getQuery() ?? '';
    const headers = readHeaders(req);
    this.headers = headers;
    const declared = Number(headers['content-length'] ?? '0') || 0;
    this.declaredBodyBytes = declared;
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

  /** Headers pipeline steps add to whatever response goes out (lower-case names). */
  get responseHeaders(): Map<string, string> {
    this.extraHeaders ??= new Map();
    return this.extraHeaders;
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
  send(status: number, body: string | Buffer | null, headers: Readonly<Record<string, string>> | HeaderBlock = NO_EXTRA): void {
    if (this.responded) return;
    this.phase = 'done';
    this.res.cork(() => {
      this.res.writeStatus(statusLine(status));
      this.writeHeaders(headers);
      // HEAD gets the head only (a body would be read as the start of the next response on the connection).
      if (body === null) this.res.endWithoutBody();
      else if (this.method === 'HEAD') this.res.endWithoutBody();
      else {
        this.bytesSent += typeof body === 'string' ? Buffer.byteLength(body) : body.length;
        this.res.end(body);
      }
    });
    this.finish({ kind: 'sent', status });
  }

  /** Sends a JSON response. */
  json(status: number, value: unknown, headers?: Record<string, string>): void {
    this.send(status, JSON.stringify(value), headers ? { 'content-type': 'application/json', ...headers } : JSON_HEADERS);
  }

  /**
   * Starts a streamed response: status and headers go out with the first write. From here the request's own
   * state (headers, parsed query, response header map) is let go: a stream can live for hours, and an SSE node
   * holds tens of thousands of them.
   */
  startStream(status: number, headers: Record<string, string>): ResponseStream {
    if (this.responded) throw new Error('response already started');
    this.phase = 'streaming';
    const stream = new UwsResponseStream(this.res, this, status, this.headerBlock(headers));
    this.releaseRequest();
    return stream;
  }

  /** True while a started stream may still be written. */
  get streaming(): boolean {
    return this.phase === 'streaming' && !this.wasAborted;
  }

  /** Marks a streamed response finished (its stream calls this as it ends the body). */
  streamEnded(status: number): void {
    if (!this.streaming) return;
    this.phase = 'done';
    this.finish({ kind: 'sent', status });
  }

  /** Runs `listener` if the client disconnects before the response is finished. */
  onAbort(listener: () => void): void {
    this.abortListeners = appended(this.abortListeners, listener);
  }

  /** Runs `listener` once when the request ends either way. */
  onFinish(listener: (outcome: Outcome) => void): void {
    this.finishListeners = appended(this.finishListeners, listener);
  }

  /** Sets the one observer told when the request ends (see RequestObserver). */
  observe(observer: RequestObserver): void {
    this.observer = observer;
  }

  /** Adds a Set-Cookie line to the response (one line per cookie; they cannot be folded into one header). */
  addCookie(serialized: string): void {
    (this.cookies ??= []).push(serialized);
  }

  /**
   * Writes the pipeline's headers, then `extra` (which wins on a clash, names compared lower-case), then cookies.
   * All of them go out in one uWS call: uWS writes `name: value` plus CRLF as given, so the other lines ride in the
   * first header's value. That is also why every value is cleared of CR and LF here: no value can start a line.
   */
  private writeHeaders(extra: Readonly<Record<string, string>> | HeaderBlock): void {
    const block = this.headerBlock(extra);
    if (block) this.res.writeHeader(block[0], block[1]);
  }

  /** The header lines of `writeHeaders` as the name and value of its one uWS call; null when there are none. */
  private headerBlock(extra: Readonly<Record<string, string>> | HeaderBlock): [string, string] | null {
    const constant = extra === NO_EXTRA || extra instanceof HeaderBlock;
    // Only constant headers: their joined lines are made once per pair of blocks, not per response.
    if (constant && this.extraHeaders === null && this.cookies === null && !this.body.unfinished) {
      const block = extra === NO_EXTRA ? this.baseHeaders : this.baseHeaders ? this.baseHeaders.with(extra as HeaderBlock) : (extra as HeaderBlock);
      return block ? block.line : null;
    }
    const values = extra instanceof HeaderBlock ? extra.values : extra;
    const own: Record<string, string> = {};
    for (const name in values) own[name.toLowerCase()] = values[name]!;
    // The client is still sending a body we will not read: ask it to stop and not reuse the connection.
    if (this.body.unfinished) own['connection'] = 'close';
    const lines = new HeaderLines();
    const base = this.baseHeaders;
    if (base) {
      if (overridden(base, own, this.extraHeaders)) {
        for (const name of base.names) if (own[name] === undefined && !this.extraHeaders?.has(name)) lines.add(name, base.values[name]!);
      } else lines.startWith(base.firstName, base.rest);
    }
    if (this.extraHeaders) for (const [name, v] of this.extraHeaders) if (own[name] === undefined) lines.add(name, v);
    for (const name in own) lines.add(name, own[name]!);
    if (this.cookies) for (const cookie of this.cookies) lines.add('set-cookie', cookie);
    return lines.first === undefined ? null : [lines.first, lines.value];
  }

  /** Lets go of what only the request needed (see startStream); the stream keeps its own head. */
  private releaseRequest(): void {
    this.headers = NO_HEADERS;
    this.parsedQuery = null;
    this.extraHeaders = null;
    this.cookies = null;
    this.body.release();
  }

  private handleAbort(): void {
    if (this.wasAborted || this.phase === 'done') return;
    this.wasAborted = true;
    this.body.abandon();
    const listeners = this.abortListeners;
    this.abortListeners = NONE;
    for (const listener of listeners) listener();
    this.finish({ kind: 'aborted' });
  }

  private finish(outcome: Outcome): void {
    const listeners = this.finishListeners;
    const observer = this.observer;
    this.finishListeners = NONE;
    this.abortListeners = NONE;
    this.observer = null;
    observer?.finished(this, outcome);
    for (const listener of listeners) listener(outcome);
  }
}

/**
 * Header lines as the name and value of one uWS writeHeader call (see writeHeaders): the first line's name, then
 * its value followed by the other lines. A class, not a closure per response: under tsx every named closure made
 * costs a defineProperty (esbuild's keepNames), on every request.
 */
class HeaderLines {
  first: string | undefined = undefined;
  value = '';

  /** Starts from lines already joined (a HeaderBlock). */
  startWith(first: string, value: string): void {
    this.first = first;
    this.value = value;
  }

  /** Adds one line; CR and LF in the value become a space, so no value can start a line. */
  add(name: string, raw: string): void {
    const line = raw.includes('\r') || raw.includes('\n') ? raw.replace(/[\r\n]+/g, ' ') : raw;
    if (this.first === undefined) this.startWith(name, line);
    else this.value += `\r\n${name}: ${line}`;
  }
}

/**
 * The stream of a response started with startStream: a class rather than closures over the context, so a
 * long-lived stream costs one small object. The head (status and header lines) goes out with the first write.
 */
class UwsResponseStream implements ResponseStream {
  constructor(
    private readonly res: HttpResponse,
    private readonly ctx: HttpContext,
    private readonly status: number,
    private head: [string, string] | null,
  ) {}
  private headed = false;

  write(chunk: Buffer): boolean {
    if (!this.ctx.streaming) return true;
    let ok = true;
    this.res.cork(() => {
      this.writeHead();
      this.ctx.bytesSent += chunk.byteLength;
      ok = this.res.write(chunk);
    });
    return ok;
  }

  onWritable(handler: () => boolean): void {
    this.res.onWritable(() => handler());
  }

  end(last?: Buffer): void {
    if (!this.ctx.streaming) return;
    this.res.cork(() => {
      this.writeHead();
      if (last) {
        this.ctx.bytesSent += last.byteLength;
        this.res.end(last);
      } else this.res.end();
    });
    this.ctx.streamEnded(this.status);
  }

  close(): void {
    if (this.ctx.streaming) this.res.close();
  }

  private writeHead(): void {
    if (this.headed) return;
    this.headed = true;
    this.res.writeStatus(statusLine(this.status));
    if (this.head) this.res.writeHeader(this.head[0], this.head[1]);
    this.head = null;
  }
}

const NONE: readonly never[] = Object.freeze([]);

/** Whether a name of `base` is set again by the response's own headers or the pipeline's. */
function overridden(base: HeaderBlock, own: Record<string, string>, extra: Map<string, string> | null): boolean {
  for (const name of base.names) if (own[name] !== undefined || extra?.has(name)) return true;
  return false;
}

/** Constant response headers prepared once as the text of a single uWS header call (see writeHeaders). */
export class HeaderBlock {
  readonly names: readonly string[];
  readonly firstName: string;
  readonly rest: string;
  /** The lines as the name and value of the one uWS writeHeader call. */
  readonly line: [string, string];
  private readonly joined = new Map<HeaderBlock, HeaderBlock>();

  /** Names are lower-case. */
  constructor(readonly values: Readonly<Record<string, string>>) {
    const entries = Object.entries(values);
    if (entries.length === 0 || entries.some(([n, v]) => /[\r\n:A-Z]/.test(n) || /[\r\n]/.test(v))) throw new Error('invalid header block');
    this.names = entries.map(([n]) => n);
    this.firstName = entries[0]![0];
    this.rest = [entries[0]![1], ...entries.slice(1).map(([n, v]) => `${n}: ${v}`)].join('\r\n');
    this.line = [this.firstName, this.rest];
  }

  /** These headers and `other`'s, `other` winning on a clash; made once per pair. */
  with(other: HeaderBlock): HeaderBlock {
    let block = this.joined.get(other);
    if (!block) {
      block = new HeaderBlock({ ...this.values, ...other.values });
      this.joined.set(other, block);
    }
    return block;
  }
}

/** The headers of a JSON response. */
export const JSON_HEADERS = new HeaderBlock({ 'content-type': 'application/json' });
/** No headers of the response's own. */
const NO_EXTRA: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Request headers by lower-case name. Instances have nothing to inherit (the prototype has no prototype), and unlike
 * Object.create(null) objects, which V8 keeps in slow dictionary mode, they get fast properties.
 */
const HeaderTable = function HeaderTable() {} as unknown as new () => object;
HeaderTable.prototype = Object.create(null);
const NO_HEADERS = Object.freeze(new HeaderTable()) as Readonly<Record<string, string>>;

/**
 * The request's headers, repeated ones joined. A function of its own, not inline in the constructor: closures made
 * in one scope share its variables, and the constructor's abort handler lives as long as the response does.
 */
function readHeaders(req: HttpRequest): Record<string, string> {
  // No inherited properties: a header named __proto__ or constructor stays plain data.
  const headers = new HeaderTable() as Record<string, string>;
  req.forEach((name, value) => {
    const prior = headers[name];
    headers[name] = prior === undefined ? value : `${prior}${name === 'cookie' ? '; ' : ', '}${value}`;
  });
  return headers;
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
