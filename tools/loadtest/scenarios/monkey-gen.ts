/**
 * What the monkey sends: requests generated from the target's OpenAPI document and then spoiled on purpose
 * (wrong method, garbage ids, bad or missing bodies, wrong types, odd headers and query strings, stale or
 * forged sessions), plus garbage paths and raw malformed HTTP. Everything is drawn from a seeded Rng and a
 * fixed pool of ids made at setup, so a seed gives the same sequence of requests per worker.
 *
 * Safety: admin sessions are only used for GET/HEAD; every URL-like value points at 127.0.0.1:9 (discard),
 * so a webhook the target might call stays on this machine.
 */
import type { Rng } from '../rng.js';
import { API } from './types.js';

export type JsonSchema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
  format?: string;
  default?: unknown;
  $ref?: string;
};

export interface Operation {
  method: string;
  /** Template, e.g. `/api/v1/scripts/{script_id}`. */
  path: string;
  auth: string;
  pathParams: string[];
  query: { name: string; schema: JsonSchema }[];
  body?: { contentType: string; schema: JsonSchema };
}

/** Reads the operations out of an OpenAPI 3 document. */
export function operationsFrom(doc: unknown): Operation[] {
  const paths = (doc as { paths?: Record<string, Record<string, any>> })?.paths ?? {};
  const components = (doc as { components?: { schemas?: Record<string, JsonSchema> } })?.components?.schemas ?? {};
  const resolve = (s: JsonSchema | undefined, depth = 0): JsonSchema => {
    if (!s || depth > 20) return {};
    if (s.$ref) {
      const name = s.$ref.replace('#/components/schemas/', '');
      return resolve(components[name], depth + 1);
    }
    return s;
  };
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(methods ?? {})) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const params: any[] = Array.isArray(op?.parameters) ? op.parameters : [];
      const content: Record<string, { schema?: JsonSchema }> = op?.requestBody?.content ?? {};
      const [contentType, media] = Object.entries(content)[0] ?? [];
      ops.push({
        method: method.toUpperCase(),
        path,
        auth: String(op?.['x-auth'] ?? (op?.security ? 'user' : 'public')),
        pathParams: params.filter((p) => p?.in === 'path').map((p) => String(p.name)),
        query: params.filter((p) => p?.in === 'query').map((p) => ({ name: String(p.name), schema: resolve(p.schema) })),
        ...(contentType ? { body: { contentType, schema: resolve(media?.schema) } } : {}),
      });
    }
  }
  return ops.sort((a, b) => `${a.path} ${a.method}`.localeCompare(`${b.path} ${b.method}`));
}

/** Ids that exist on the target (made at setup), by parameter name. */
export interface IdPool {
  script_id?: string;
  execution_id?: string;
  user_id?: string;
  notification_id?: string;
}

export type SessionKind = 'none' | 'user' | 'admin' | 'stale' | 'no-csrf' | 'bad-csrf';

/** One request the monkey sends through the HTTP client. */
export interface MonkeyHttpRequest {
  kind: 'api' | 'garbage-path' | 'session';
  method: string;
  /** Path with query string, always encodable by node:http. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  session: SessionKind;
  /** Report row. */
  route: string;
  /** What was done to it, e.g. `body: missing required "script"`. */
  mutation: string;
}

/** Raw bytes on a fresh TCP connection. */
export interface MonkeyRawRequest {
  kind: 'raw';
  label: string;
  /** Built once the host is known. */
  bytes(host: string): Buffer;
  /** Well-formed HTTP that must get an answer; malformed input may also just be closed. */
  mustAnswer: boolean;
}

export type MonkeyRequest = MonkeyHttpRequest | MonkeyRawRequest;

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
const WRITE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const LOOPBACK_URL = 'http://127.0.0.1:9/integr8s-loadtest';
const WEIRD_STRINGS = [
  '',
  ' ',
  '0',
  '-1',
  'null',
  'undefined',
  'NaN',
  'true',
  '{}',
  '[]',
  '../../etc/passwd',
  '%00',
  '\u0000',
  '\u202e\u0645\u0631\u062d\u0628\u0627',
  '😀'.repeat(10),
  "'; DROP TABLE users; --",
  '<script>alert(1)</script>',
  '${7*7}',
  '{{7*7}}',
  'a'.repeat(300),
  '\r\nX-Injected: 1',
  '__proto__',
  'constructor',
];

/** Keeps a path sendable by node:http: anything outside visible ASCII is percent-encoded. */
export function encodePathChars(path: string): string {
  let out = '';
  for (const ch of path) {
    const code = ch.codePointAt(0)!;
    out += code > 0x20 && code < 0x7f ? ch : encodeURIComponent(ch).replace(/%20/g, '%20');
  }
  return out;
}

function isUrlKey(key: string): boolean {
  return /url|webhook|uri|href|link/i.test(key);
}

/** A value that satisfies a JSON schema as far as this simple generator understands it. */
export function validValue(schema: JsonSchema, rng: Rng, key = '', depth = 0): unknown {
  if (depth > 6) return null;
  if (schema.const !== undefined) return schema.const;
  if (schema.enum && schema.enum.length > 0) return rng.pick(schema.enum);
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches && branches.length > 0) return validValue(rng.pick(branches), rng, key, depth + 1);
  if (schema.allOf && schema.allOf.length > 0) {
    const merged: JsonSchema = {};
    for (const part of schema.allOf) Object.assign(merged, part, { properties: { ...merged.properties, ...part.properties } });
    return validValue(merged, rng, key, depth + 1);
  }
  let type = Array.isArray(schema.type) ? rng.pick(schema.type) : schema.type;
  if (!type) type = schema.properties ? 'object' : schema.items ? 'array' : rng.pick(['string', 'integer', 'boolean']);
  switch (type) {
    case 'null':
      return null;
    case 'boolean':
      return rng.chance(0.5);
    case 'integer':
    case 'number': {
      const min = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : 0);
      const max = schema.maximum ?? (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - 1 : Math.max(min, 100));
      const v = min + rng.next() * Math.max(0, Math.min(max, min + 1000) - min);
      return type === 'integer' ? Math.round(Math.min(max, Math.max(min, v))) : v;
    }
    case 'array': {
      const n = rng.int(schema.minItems ?? 0, Math.min(schema.maxItems ?? 3, (schema.minItems ?? 0) + 3));
      return Array.from({ length: n }, () => validValue(schema.items ?? {}, rng, key, depth + 1));
    }
    case 'object': {
      const out: Record<string, unknown> = {};
      const required = new Set(schema.required ?? []);
      for (const [name, prop] of Object.entries(schema.properties ?? {})) {
        if (required.has(name) || rng.chance(0.5)) out[name] = validValue(prop, rng, name, depth + 1);
      }
      return out;
    }
    default: {
      if (schema.format === 'uuid') return rng.uuid();
      if (schema.format === 'email' || /email/i.test(key)) return `lt.${rng.string(8)}@loadtest.example.com`;
      if (schema.format === 'date-time' || /time|date/i.test(key)) return new Date(Date.UTC(2026, 0, 1) + rng.int(0, 365 * 86_400_000)).toISOString();
      if (schema.format === 'uri' || schema.format === 'url' || isUrlKey(key)) return LOOPBACK_URL;
      const min = schema.minLength ?? 1;
      const max = Math.max(min, Math.min(schema.maxLength ?? 24, min + 24));
      return rng.string(rng.int(min, max));
    }
  }
}

/** A value of the wrong kind for a schema. */
function wrongValue(schema: JsonSchema, rng: Rng): unknown {
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  const options: unknown[] = [null, 12345, -1, 1e308, true, 'not-what-you-want', [], {}, [1, 'two', null], { nested: { deeper: [] } }, rng.pick(WEIRD_STRINGS)];
  if (type === 'string') options.push(42, 'x'.repeat((schema.maxLength ?? 100) + rng.int(1, 5000)));
  if (type === 'integer' || type === 'number') options.push('12', 1.5, -99999999, Number.MAX_SAFE_INTEGER * 4, '1e3');
  if (type === 'array') options.push('a,b,c', Array.from({ length: 1000 }, () => 'x'));
  if (schema.enum) options.push('not-in-enum', String(schema.enum[0]).toUpperCase());
  return rng.pick(options);
}

function deepNest(depth: number, asArray: boolean): string {
  return asArray ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

const BROKEN_BODIES = [
  '{',
  '{"a":',
  '}',
  'null',
  '[]',
  '"just a string"',
  '1e999',
  'NaN',
  '{"a":1,"a":2}',
  '\ufeff{}',
  '{"script":"print(1)",}',
  "{'single':'quotes'}",
  'username=a&password=b',
  '<xml/>',
  '\u0000\u0001\u0002',
];

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-16',
  'application/json;;;',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=----x',
  'application/xml',
  '*/*',
  '',
  'application/merge-patch+json',
];

export class MonkeyGenerator {
  private readonly garbageSegments: string[];

  constructor(
    readonly operations: Operation[],
    private readonly pool: IdPool,
    private readonly hasAdmin: boolean,
  ) {
    this.garbageSegments = ['..', '.', '%2e%2e', '%2F', '%00', '%zz', '%', '~', 'null', '0', '-1', '9'.repeat(40), 'a'.repeat(600), '%F0%9F%98%80', 'index.html', '*', ';', '$', 'admin'];
  }

  next(rng: Rng): MonkeyRequest {
    const kind = rng.weighted([
      [64, 'api'],
      [14, 'garbage-path'],
      [12, 'raw'],
      [10, 'session'],
    ] as const);
    if (kind === 'raw') return this.raw(rng);
    if (kind === 'garbage-path') return this.garbagePath(rng);
    if (kind === 'session') return this.sessionChurn(rng);
    return this.api(rng);
  }

  private session(rng: Rng, method: string, auth: string): SessionKind {
    const choices: [number, SessionKind][] = [
      [auth === 'public' ? 3 : 6, 'user'],
      [3, 'none'],
      [1, 'stale'],
      [WRITE.has(method) ? 1 : 0, 'no-csrf'],
      [WRITE.has(method) ? 1 : 0, 'bad-csrf'],
    ];
    if (this.hasAdmin && (method === 'GET' || method === 'HEAD')) choices.push([auth === 'admin' ? 6 : 1, 'admin']);
    return rng.weighted(choices);
  }

  private pathValue(name: string, rng: Rng): { value: string; note: string } {
    const real = (this.pool as Record<string, string | undefined>)[name] ?? (name === 'id' ? this.pool.execution_id : undefined);
    const r = rng.next();
    if (name === 'channel') {
      if (r < 0.7) return { value: rng.pick(['in_app', 'webhook', 'slack']), note: 'valid channel' };
      return { value: encodePathChars(rng.pick(WEIRD_STRINGS) || 'x'), note: 'bad channel' };
    }
    if (name === 'key' && r < 0.6) return { value: `lt_${rng.string(6)}`, note: 'custom key' };
    if (real && r < 0.45) return { value: real, note: `existing ${name}` };
    if (r < 0.75) return { value: rng.uuid(), note: `unknown ${name}` };
    const weird = rng.pick([...this.garbageSegments, ...WEIRD_STRINGS.filter((s) => s !== '')]);
    return { value: weird.startsWith('%') ? weird : encodePathChars(weird).replace(/\//g, '%2F').replace(/\?/g, '%3F').replace(/#/g, '%23'), note: `garbage ${name}` };
  }

  private query(op: Operation | undefined, rng: Rng): { qs: string; note: string } {
    const parts: string[] = [];
    const notes: string[] = [];
    for (const q of op?.query ?? []) {
      if (!rng.chance(0.5)) continue;
      const spoil = rng.chance(0.3);
      const v = spoil ? wrongValue(q.schema, rng) : validValue(q.schema, rng, q.name);
      if (spoil) notes.push(`query ${q.name} wrong`);
      const values = Array.isArray(v) ? v : [v];
      for (const item of values.slice(0, 20)) parts.push(`${encodeURIComponent(q.name)}=${encodeURIComponent(typeof item === 'object' ? JSON.stringify(item) : String(item))}`);
    }
    if (rng.chance(0.25)) {
      const extra = rng.pick([
        '%zz=1',
        'a=%',
        '=x',
        '&&&',
        'limit=-5',
        'limit=99999999999999999999',
        'skip=1e3',
        'limit=1&limit=2',
        'event_types[]=x',
        `x=${'q'.repeat(rng.int(100, 6000))}`,
        'status=%00',
        '__proto__[admin]=1',
        `k=${encodeURIComponent('😀')}`,
        'offset=NaN',
      ]);
      parts.push(extra);
      notes.push(`query extra ${extra.slice(0, 40)}`);
    }
    return { qs: parts.length > 0 ? `?${parts.join('&')}` : rng.chance(0.05) ? '?' : '', note: notes.join(', ') };
  }

  private body(op: Operation | undefined, method: string, rng: Rng, headers: Record<string, string>): { body?: Buffer; note: string } {
    const schema = op?.body?.schema;
    const declared = op?.body?.contentType ?? 'application/json';
    const setType = (t: string) => {
      if (t) headers['content-type'] = t;
    };
    const mode = rng.weighted([
      [schema ? 30 : 2, 'valid'],
      [schema ? 15 : 0, 'missing-field'],
      [schema ? 15 : 0, 'wrong-type'],
      [schema ? 8 : 0, 'extra-fields'],
      [12, 'broken'],
      [5, 'deep'],
      [6, 'wrong-content-type'],
      [WRITE.has(method) ? 6 : 1, 'empty'],
      [3, 'binary'],
      [0.3, 'too-large'],
      [method === 'GET' || method === 'HEAD' ? 40 : 4, 'none'],
    ] as const);
    const encode = (value: unknown, type = declared): Buffer => {
      setType(type);
      if (type === 'application/x-www-form-urlencoded' && value !== null && typeof value === 'object' && !Array.isArray(value)) {
        return Buffer.from(new URLSearchParams(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])).toString());
      }
      return Buffer.from(JSON.stringify(value));
    };
    switch (mode) {
      case 'none':
        return { note: '' };
      case 'valid':
        return { body: encode(validValue(schema ?? {}, rng)), note: 'body valid' };
      case 'missing-field': {
        const v = validValue(schema!, rng) as Record<string, unknown>;
        const required = schema!.required ?? Object.keys(v);
        const drop = required.length > 0 ? rng.pick(required) : undefined;
        if (drop !== undefined && v && typeof v === 'object') delete v[drop];
        return { body: encode(v), note: `body missing ${drop ?? 'nothing'}` };
      }
      case 'wrong-type': {
        const v = validValue(schema!, rng);
        const props = Object.entries(schema!.properties ?? {});
        if (v && typeof v === 'object' && !Array.isArray(v) && props.length > 0) {
          const [name, prop] = rng.pick(props);
          (v as Record<string, unknown>)[name] = wrongValue(prop, rng);
          return { body: encode(v), note: `body ${name} wrong type` };
        }
        return { body: encode(wrongValue(schema!, rng)), note: 'body wrong type' };
      }
      case 'extra-fields': {
        const v = validValue(schema!, rng);
        const extra = { ...(v && typeof v === 'object' ? (v as object) : {}), __proto__x: 1, constructor: { prototype: { admin: true } }, role: 'admin', is_superuser: true, [rng.string(6)]: rng.pick(WEIRD_STRINGS) };
        return { body: encode(extra), note: 'body extra fields' };
      }
      case 'broken':
        setType(rng.chance(0.8) ? declared : rng.pick(CONTENT_TYPES));
        return { body: Buffer.from(rng.pick(BROKEN_BODIES)), note: 'body not JSON' };
      case 'deep': {
        const depth = rng.pick([50, 500, 2000, 10_000]);
        setType('application/json');
        return { body: Buffer.from(deepNest(depth, rng.chance(0.5))), note: `body nested ${depth} deep` };
      }
      case 'wrong-content-type': {
        const v = schema ? validValue(schema, rng) : { a: 1 };
        const type = rng.pick(CONTENT_TYPES.filter((t) => t !== declared));
        const body = type === 'application/x-www-form-urlencoded' ? encode(v, type) : Buffer.from(JSON.stringify(v));
        setType(type);
        return { body, note: `content-type ${type || '(empty)'}` };
      }
      case 'empty':
        setType(rng.chance(0.7) ? declared : '');
        return { body: Buffer.alloc(0), note: 'body empty' };
      case 'binary': {
        const bytes = Buffer.alloc(rng.int(1, 2048));
        for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(0, 255);
        setType(rng.pick(['application/json', 'application/octet-stream', '']));
        return { body: bytes, note: 'body random bytes' };
      }
      case 'too-large':
        setType('application/json');
        return { body: Buffer.from(`{"script":"${'x'.repeat(10 * 1024 * 1024 + 4096)}"}`), note: 'body over 10 MB' };
    }
  }

  private headers(rng: Rng, headers: Record<string, string>): string {
    const notes: string[] = [];
    const n = rng.weighted([
      [60, 0],
      [25, 1],
      [10, 2],
      [5, 4],
    ] as const);
    for (let i = 0; i < n; i++) {
      const [name, value] = rng.pick([
        ['accept', rng.pick(['text/event-stream', '*/*', 'application/xml', 'garbage', ''])],
        ['idempotency-key', rng.string(rng.int(0, 300), 'abcdefghijklmnopqrstuvwxyz0123456789-_:/.')],
        ['last-event-id', rng.pick(['', 'not-an-id', rng.uuid(), 'x'.repeat(2000)])],
        ['x-forwarded-for', rng.pick(['::1, garbage', '999.999.999.999', '127.0.0.1, 10.0.0.1', ''])],
        ['origin', rng.pick(['http://evil.example', 'null', 'file://'])],
        ['authorization', rng.pick(['Bearer garbage', 'Basic YWRtaW46YWRtaW4=', 'Bearer ' + 'a'.repeat(500)])],
        ['range', 'bytes=0-10,5-1'],
        ['if-none-match', '"x"'],
        ['x-http-method-override', rng.pick(['DELETE', 'PUT'])],
        ['accept-encoding', rng.pick(['gzip', 'br;q=1', 'identity;q=0', '*'])],
        ['x-big', 'b'.repeat(rng.int(1000, 7000))],
        ['user-agent', rng.pick(WEIRD_STRINGS).replace(/[^\t\x20-\x7e]/g, '?')],
      ] as const);
      headers[name] = value;
      notes.push(`header ${name}`);
    }
    return notes.join(', ');
  }

  private api(rng: Rng): MonkeyHttpRequest {
    const op = rng.pick(this.operations);
    const swap = rng.chance(0.12);
    const method = swap ? rng.pick(METHODS) : op.method;
    const notes: string[] = swap && method !== op.method ? [`method ${method} instead of ${op.method}`] : [];
    let path = op.path;
    for (const name of op.pathParams) {
      const { value, note } = this.pathValue(name, rng);
      path = path.replace(`{${name}}`, value);
      notes.push(note);
    }
    const q = this.query(op, rng);
    if (q.note) notes.push(q.note);
    const headers: Record<string, string> = {};
    const b = this.body(op, method, rng, headers);
    if (b.note) notes.push(b.note);
    const h = this.headers(rng, headers);
    if (h) notes.push(h);
    const route = op.path.replace(/\{[^}]+\}/g, '{id}');
    return {
      kind: 'api',
      method,
      path: path + q.qs,
      headers,
      ...(b.body !== undefined ? { body: b.body } : {}),
      session: this.session(rng, method, op.auth),
      route,
      mutation: notes.filter(Boolean).join('; ') || 'as documented',
    };
  }

  private garbagePath(rng: Rng): MonkeyHttpRequest {
    const segments = Array.from({ length: rng.int(0, 5) }, () =>
      rng.chance(0.5) ? rng.pick(this.garbageSegments) : encodePathChars(rng.pick(WEIRD_STRINGS) || 'x').replace(/\//g, '%2F').replace(/\?/g, '%3F').replace(/#/g, '%23'),
    );
    const prefix = rng.pick(['', '/api', API, `${API}/`, '/api/v2', `${API}/admin`, `${API}/events`, '//', `${API}//scripts`, '/api/v1/../v1', '/.well-known']);
    const path = `${prefix}/${segments.join('/')}`.replace(/^([^/])/, '/$1');
    const method = rng.pick(METHODS);
    const headers: Record<string, string> = {};
    const b = this.body(undefined, method, rng, headers);
    const q = this.query(undefined, rng);
    return {
      kind: 'garbage-path',
      method,
      path: (path.startsWith('/') ? path : `/${path}`) + q.qs,
      headers,
      ...(b.body !== undefined ? { body: b.body } : {}),
      session: rng.pick(['none', 'user', 'stale'] as const),
      route: '(garbage path)',
      mutation: [b.note, q.note].filter(Boolean).join('; ') || 'garbage path',
    };
  }

  private sessionChurn(rng: Rng): MonkeyHttpRequest {
    const which = rng.weighted([
      [5, 'me'],
      [2, 'logout'],
      [2, 'verify'],
      [1, 'login-bad'],
    ] as const);
    if (which === 'login-bad') {
      const body = Buffer.from(new URLSearchParams({ username: `nobody_${rng.string(8)}`, password: rng.string(12) }).toString());
      return {
        kind: 'session',
        method: 'POST',
        path: `${API}/auth/login`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
        session: 'none',
        route: `${API}/auth/login`,
        mutation: 'login with an unknown user',
      };
    }
    const path = which === 'me' ? `${API}/auth/me` : which === 'verify' ? `${API}/auth/verify-token` : `${API}/auth/logout`;
    return {
      kind: 'session',
      method: which === 'logout' ? 'POST' : 'GET',
      path,
      headers: {},
      session: rng.pick(['user', 'user', 'stale', 'none'] as const),
      route: path,
      mutation: which,
    };
  }

  private raw(rng: Rng): MonkeyRawRequest {
    const crlf = '\r\n';
    const head = (host: string, lines: string[]) => Buffer.from(`${lines.join(crlf)}${crlf}Host: ${host}${crlf}Connection: close${crlf}${crlf}`);
    const cases: [number, () => MonkeyRawRequest][] = [
      [3, () => ({ kind: 'raw', label: 'HTTP/1.0 request', mustAnswer: true, bytes: (h) => Buffer.from(`GET ${API}/health/live HTTP/1.0${crlf}Host: ${h}${crlf}${crlf}`) })],
      [
        3,
        () => ({
          kind: 'raw',
          label: 'chunked JSON body',
          mustAnswer: true,
          bytes: (h) => {
            const json = JSON.stringify({ username: `x${rng.string(6)}`, email: 'bad', password: 'short' });
            const half = Math.floor(json.length / 2);
            const chunk = (s: string) => `${Buffer.byteLength(s).toString(16)}${crlf}${s}${crlf}`;
            return Buffer.from(
              `POST ${API}/auth/register HTTP/1.1${crlf}Host: ${h}${crlf}Content-Type: application/json${crlf}Transfer-Encoding: chunked${crlf}Connection: close${crlf}${crlf}${chunk(json.slice(0, half))}${chunk(json.slice(half))}0${crlf}${crlf}`,
            );
          },
        }),
      ],
      [2, () => ({ kind: 'raw', label: 'GET with a body', mustAnswer: true, bytes: (h) => Buffer.from(`GET ${API}/health/live HTTP/1.1${crlf}Host: ${h}${crlf}Content-Length: 5${crlf}Connection: close${crlf}${crlf}hello`) })],
      [
        2,
        () => ({
          kind: 'raw',
          label: 'two pipelined requests',
          mustAnswer: true,
          bytes: (h) => Buffer.from(`GET ${API}/health/live HTTP/1.1${crlf}Host: ${h}${crlf}${crlf}GET ${API}/k8s-limits HTTP/1.1${crlf}Host: ${h}${crlf}Connection: close${crlf}${crlf}`),
        }),
      ],
      [
        2,
        () => ({
          kind: 'raw',
          label: 'Expect: 100-continue',
          mustAnswer: true,
          bytes: (h) => Buffer.from(`POST ${API}/auth/login HTTP/1.1${crlf}Host: ${h}${crlf}Content-Type: application/x-www-form-urlencoded${crlf}Content-Length: 7${crlf}Expect: 100-continue${crlf}Connection: close${crlf}${crlf}a=b&c=d`),
        }),
      ],
      [
        3,
        () => {
          const method = rng.pick(['FOO', 'PROPFIND', 'PURGE', 'M-SEARCH', 'LINK']);
          return { kind: 'raw', label: `unknown method ${method}`, mustAnswer: true, bytes: (h) => head(h, [`${method} ${API}/health/live HTTP/1.1`]) };
        },
      ],
      [
        2,
        () => {
          const n = rng.pick([60, 120, 400]);
          return {
            kind: 'raw',
            label: `${n} header lines`,
            mustAnswer: true,
            bytes: (h) => head(h, [`GET ${API}/health/live HTTP/1.1`, ...Array.from({ length: n }, (_, i) => `X-H${i}: v`)]),
          };
        },
      ],
      [
        4,
        () => {
          const line = rng.pick([
            'GARBAGE',
            `GET ${API}/health/live HTTP/9.9`,
            `GET  ${API}/health/live  HTTP/1.1`,
            `GET ${API}/health/live`,
            `GET http://127.0.0.1/${API}/health/live HTTP/1.1`,
            'GET * HTTP/1.1',
            `GET /\u00fc\u00e9 HTTP/1.1`,
            `get ${API}/health/live HTTP/1.1`,
            `GET ${API}/health/live\u0000 HTTP/1.1`,
            `GET /${'a'.repeat(100_000)} HTTP/1.1`,
          ]);
          return { kind: 'raw', label: `odd request line ${JSON.stringify(line.slice(0, 40))}`, mustAnswer: false, bytes: (h) => head(h, [line]) };
        },
      ],
      [
        4,
        () => {
          const [label, lines] = rng.pick([
            ['header without colon', ['NoColonHere']],
            ['header name with space', ['Bad Name: x']],
            ['obs-fold continuation', ['X-A: one', ' two']],
            ['both Content-Length and Transfer-Encoding', ['Content-Length: 4', 'Transfer-Encoding: chunked']],
            ['negative Content-Length', ['Content-Length: -1']],
            ['two different Content-Lengths', ['Content-Length: 1', 'Content-Length: 2']],
            ['Content-Length not a number', ['Content-Length: abc']],
            ['NUL in a header', ['X-A: a\u0000b']],
            ['64 KB header', [`X-Big: ${'x'.repeat(65_536)}`]],
            ['bad chunk size', ['Transfer-Encoding: chunked']],
          ] as const);
          return {
            kind: 'raw',
            label,
            mustAnswer: false,
            bytes: (h) => Buffer.concat([head(h, [`POST ${API}/auth/login HTTP/1.1`, ...lines]), Buffer.from(label === 'bad chunk size' ? `zz${crlf}abc${crlf}0${crlf}${crlf}` : '')]),
          };
        },
      ],
    ];
    return rng.weighted(cases)();
  }
}
