import type { z } from 'zod';
import type { HttpContext } from './context.js';

/** What the OpenAPI document says about a route: the same zod schemas the handler validates with. */
export interface RouteDoc {
  summary: string;
  tag?: string;
  body?: z.ZodType;
  /** `json` (default) or `form` (application/x-www-form-urlencoded). */
  bodyType?: 'json' | 'form';
  query?: z.ZodType;
  response?: z.ZodType;
  /** Status of a success response; default 200. */
  status?: number;
  /** Who may call it. */
  auth?: 'public' | 'user' | 'admin';
  /** `text/event-stream` responses. */
  stream?: boolean;
}

/** A registered route as the OpenAPI generator sees it. */
export interface RouteInfo {
  method: string;
  pattern: string;
  doc: RouteDoc | undefined;
}

/** Handles a matched request; reads `ctx.params`, writes one response or throws a catalogue error. */
export type Handler = (ctx: HttpContext) => void | Promise<void>;

/** What the router found for a method and path. */
export type RouteMatch =
  | { kind: 'found'; pattern: string; handler: Handler; params: Record<string, string> }
  | { kind: 'method_not_allowed'; allowed: string[] }
  | { kind: 'not_found' };

type Segment = { kind: 'static'; value: string } | { kind: 'param'; name: string };

interface Route {
  method: string;
  pattern: string;
  segments: Segment[];
  handler: Handler;
  doc: RouteDoc | undefined;
}

/**
 * Method + path table with `{param}` segments. A static segment beats a parameter at the same position,
 * so `/executions/queue` wins over `/executions/{id}` whatever the registration order. A trailing slash
 * is ignored on both sides.
 */
export class Router {
  private routes: Route[] = [];
  /** Routes without parameters by `METHOD /joined/segments`: most requests are found here without a scan. */
  private readonly fixed = new Map<string, Route>();
  /** Routes without parameters by method, then path exactly as registered: most requests match here without splitting. */
  private readonly exact = new Map<string, Map<string, RouteMatch>>();

  /** Adds a route; registering the same method and shape twice is a programming error. */
  add(method: string, pattern: string, handler: Handler, doc?: RouteDoc): this {
    const segments = parsePattern(pattern);
    const shape = shapeOf(segments);
    const upper = method.toUpperCase();
    if (this.routes.some((r) => r.method === upper && shapeOf(r.segments) === shape)) {
      throw new Error(`route ${upper} ${pattern} registered twice`);
    }
    const route: Route = { method: upper, pattern, segments, handler, doc };
    this.routes.push(route);
    if (segments.every((seg) => seg.kind === 'static')) {
      this.fixed.set(`${upper} ${shape}`, route);
      let byPath = this.exact.get(upper);
      if (!byPath) this.exact.set(upper, (byPath = new Map()));
      byPath.set(pattern, { kind: 'found', pattern, handler, params: NO_PARAMS });
    }
    this.routes.sort((a, b) => compareSpecificity(a.segments, b.segments));
    return this;
  }

  /** Shorthand for `add('GET', ...)`. */
  get(pattern: string, handler: Handler, doc?: RouteDoc): this {
    return this.add('GET', pattern, handler, doc);
  }

  /** Shorthand for `add('POST', ...)`. */
  post(pattern: string, handler: Handler, doc?: RouteDoc): this {
    return this.add('POST', pattern, handler, doc);
  }

  /** Shorthand for `add('PUT', ...)`. */
  put(pattern: string, handler: Handler, doc?: RouteDoc): this {
    return this.add('PUT', pattern, handler, doc);
  }

  /** Shorthand for `add('PATCH', ...)`. */
  patch(pattern: string, handler: Handler, doc?: RouteDoc): this {
    return this.add('PATCH', pattern, handler, doc);
  }

  /** Shorthand for `add('DELETE', ...)`. */
  delete(pattern: string, handler: Handler, doc?: RouteDoc): this {
    return this.add('DELETE', pattern, handler, doc);
  }

  /** Every route with its documentation, for the OpenAPI document. */
  list(): RouteInfo[] {
    return this.routes.map((r) => ({ method: r.method, pattern: r.pattern, doc: r.doc }));
  }

  /** Finds the route for a request; tells 404 (no such path) from 405 (path exists, other methods). */
  match(method: string, path: string): RouteMatch {
    const hit = this.exact.get(method)?.get(path);
    if (hit) return hit;
    const parts = splitPath(path);
    if (!parts) return { kind: 'not_found' };
    const upper = method.toUpperCase();
    const fixed = this.fixed.get(`${upper} ${parts.join('/')}`);
    if (fixed) return { kind: 'found', pattern: fixed.pattern, handler: fixed.handler, params: {} };
    const allowed = new Set<string>();
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      if (route.method === upper) return { kind: 'found', pattern: route.pattern, handler: route.handler, params };
      allowed.add(route.method);
    }
    return allowed.size ? { kind: 'method_not_allowed', allowed: [...allowed].sort() } : { kind: 'not_found' };
  }
}

function parsePattern(pattern: string): Segment[] {
  if (!pattern.startsWith('/')) throw new Error(`route pattern must start with '/': ${pattern}`);
  return pattern
    .split('/')
    .filter((s) => s !== '')
    .map((s) => {
      const param = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(s);
      if (param?.[1]) return { kind: 'param', name: param[1] };
      if (s.includes('{') || s.includes('}')) throw new Error(`bad route segment '${s}' in ${pattern}`);
      return { kind: 'static', value: s };
    });
}

function shapeOf(segments: Segment[]): string {
  return segments.map((s) => (s.kind === 'static' ? s.value : '{}')).join('/');
}

/** Static before parameter at the first position where two routes differ. */
function compareSpecificity(a: Segment[], b: Segment[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const ka = a[i]?.kind;
    const kb = b[i]?.kind;
    if (ka !== kb) return ka === 'static' ? -1 : 1;
  }
  return 0;
}

/** Decoded path segments, or null when the path has invalid percent-encoding. */
function splitPath(path: string): string[] | null {
  const parts = path.split('/').filter((s) => s !== '');
  if (!path.includes('%')) return parts;
  try {
    return parts.map((s) => decodeURIComponent(s));
  } catch {
    return null;
  }
}

function matchSegments(segments: Segment[], parts: string[]): Record<string, string> | null {
  if (segments.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    const part = parts[i];
    if (seg === undefined || part === undefined) return null;
    if (seg.kind === 'static') {
      if (seg.value !== part) return null;
    } else {
      params[seg.name] = part;
    }
  }
  return params;
}

const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});
