/**
 * Generators of malformed HTTP requests for the property tests: request targets built from a route's pattern
 * (ids or garbage in its parameters, odd query strings and trailing slashes), bodies (random bytes, wrong JSON
 * types, huge strings, deep nesting), odd headers, and a raw-socket sender that reads only the response head.
 */
import fc from 'fast-check';
import net from 'node:net';
import type { RouteInfo } from '../../http/router.js';
import { TEST_USER_HEADER } from '../../http/test-caller.js';

export const REQUEST_TIMEOUT_MS = 5_000;

/**
 * Sends raw bytes and resolves with the status of the first response head, or null if the server closed without one.
 * `halfClose` ends our side after the bytes (for garbage that is not a complete request: the server sees EOF).
 */
export function rawRequest(port: number, bytes: Buffer, halfClose = false): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no response within ${REQUEST_TIMEOUT_MS} ms to: ${bytes.subarray(0, 300).toString('latin1')}`));
    }, REQUEST_TIMEOUT_MS);
    const done = (status: number | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(status);
    };
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      // The head is enough: an SSE stream that opened stays open on purpose.
      if (received.includes('\r\n\r\n')) done(Number(received.split(' ')[1]));
    });
    socket.on('error', () => done(null));
    socket.on('close', () => done(received.startsWith('HTTP/') ? Number(received.split(' ')[1]) : null));
    if (halfClose) socket.end(bytes);
    else socket.write(bytes);
  });
}

const huge = fc.integer({ min: 10_000, max: 1_000_000 }).map((n) => 'x'.repeat(n));
const weird = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('', '%', '%zz', '%00', '..', '.', '%2F', '__proto__', 'constructor', '-1', '1e309', 'NaN', 'null', '[]', '{}', ' '),
  fc.integer().map(String),
);
/** Long, but inside what the transport accepts for a request head; a few go past it (uWS then drops the connection). */
const long = fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 500, max: 2500 }) }, { weight: 1, arbitrary: fc.integer({ min: 5000, max: 20_000 }) }).map((n) => 'a'.repeat(n));
const segment = fc.oneof({ weight: 6, arbitrary: weird }, { weight: 4, arbitrary: fc.constant('IDS') }, { weight: 1, arbitrary: long });
const queryValue = fc.oneof({ weight: 8, arbitrary: weird }, { weight: 1, arbitrary: long });

/** A request target for a route: its pattern with parameters filled by ids or garbage, plus a query string. */
const target = (route: RouteInfo, ids: readonly string[]) =>
  fc
    .tuple(
      fc.array(segment, { minLength: 4, maxLength: 4 }),
      fc.nat({ max: 2 }),
      fc.array(
        fc.tuple(fc.constantFrom('limit', 'skip', 'status', 'lang', 'start_time', 'end_time', 'event_types', 'event_types[]', 'priority', 'user_id', 'last_event_id', 'x'), queryValue),
        { maxLength: 4 },
      ),
      fc.oneof(fc.constant(''), fc.constant('/'), fc.constant('//')),
    )
    .map(([fills, idIndex, query, trail]) => {
      let i = 0;
      const path = route.pattern.replace(/\{[^}]+\}/g, () => {
        const fill = fills[i++] ?? '';
        if (fill === 'IDS') return ids[idIndex]!;
        // Bad percent-encoding and dot segments go out as they are; anything that would break the request line is escaped.
        return /%|\.\./.test(fill) ? fill.replace(/[^\x21-\x7e]|[?#]/gu, (c) => encodeURIComponent(c)) : encodeURIComponent(fill);
      });
      const qs = query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
      return `${path.replace(/\/$/, '')}${trail}${qs ? `?${qs}` : ''}`;
    });

const jsonish = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.record({ script: fc.oneof(fc.jsonValue(), huge), lang: fc.jsonValue(), lang_version: fc.jsonValue() }, { requiredKeys: [] }),
  fc.record({ priority: fc.jsonValue(), reason: fc.jsonValue(), max_timeout_seconds: fc.jsonValue(), memory_limit: fc.jsonValue(), log_level: fc.jsonValue() }, { requiredKeys: [] }),
  fc.record({ script: fc.constant('print(1)'), lang: fc.constant('python'), lang_version: fc.constantFrom('3.11', '2.7') }),
);
const body = fc.oneof(
  fc.constant(Buffer.alloc(0)),
  fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)),
  jsonish.map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
  fc.integer({ min: 1000, max: 100_000 }).map((d) => Buffer.from(`${'['.repeat(d)}${']'.repeat(d)}`)),
  fc.integer({ min: 1000, max: 20_000 }).map((d) => Buffer.from(`${'{"a":'.repeat(d)}1${'}'.repeat(d)}`)),
  huge.map((h) => Buffer.from(JSON.stringify({ script: h, lang: 'python', lang_version: '3.11' }))),
);
const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,30}$/);
const printable = fc.stringMatching(/^[\x20-\x7e]{0,200}$/);
const headers = fc.record(
  {
    [TEST_USER_HEADER]: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('alice:user', 'bob:user', 'root:admin') },
      { weight: 1, arbitrary: fc.constantFrom(':admin', 'root:superuser', 'a:b:admin') },
      { weight: 1, arbitrary: printable },
    ),
    'content-type': fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x', '', 'application/json; charset=latin1'),
    'idempotency-key': fc.oneof(printable, fc.constant('k'.repeat(300))),
    'last-event-id': printable,
    cookie: fc.oneof(printable, fc.constant('access_token=abc; csrf_token=%E0%A4%A'), fc.constant('csrf_token=x')),
    'x-csrf-token': printable,
    origin: fc.constantFrom('http://evil.example', 'null', ''),
    extra: fc.tuple(token, printable),
  },
  { requiredKeys: [] },
);
const method = (route: RouteInfo) => fc.oneof({ weight: 4, arbitrary: fc.constant(route.method) }, { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD') });

/** One generated request against one of the server's routes. */
export interface GeneratedRequest {
  method: string;
  target: string;
  headers: Record<string, string | [string, string]>;
  body: Buffer;
}
export const requestFor = (
  all: RouteInfo[],
  ids: readonly string[],
  sessions: fc.Arbitrary<Record<string, string>> = fc.constant({}),
): fc.Arbitrary<GeneratedRequest> =>
  fc.constantFrom(...all).chain((route) =>
    fc.record({ method: method(route), target: target(route, ids), headers: fc.tuple(headers, sessions).map(([h, s]) => ({ ...h, ...s })), body }),
  );

export function encode(r: GeneratedRequest): Buffer {
  const lines = [`${r.method} ${r.target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [name, value] of Object.entries(r.headers)) {
    if (name === 'extra') {
      const [n, v] = value as [string, string];
      lines.push(`${n}: ${v}`);
    } else lines.push(`${name}: ${String(value)}`);
  }
  lines.push(`Content-Length: ${r.body.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), r.body]);
}

