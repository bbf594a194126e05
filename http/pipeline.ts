/**
 * The request lifecycle, top to bottom. Every request runs these steps in order; a step that sends a
 * response (or throws, which sends the error response) ends the run.
 *
 *   metrics → securityHeaders → cors → requestSize → auth → csrf → rateLimit → route
 *
 * Metrics come first so that requests refused before routing (401, 403, 413, 429) are counted too, under the
 * route they asked for.
 * The steps before `route` stay synchronous up to `requestSize` so the body limit is armed while uWS is
 * still inside the request callback.
 */
import { timingSafeEqual } from 'node:crypto';
import { AppError, errors } from '../system/domain/errors.js';
import { callerOf, type Caller } from '../system/services/types.js';
import { HeaderBlock, type HttpContext, type RequestObserver } from './context.js';
import { MethodNotAllowedError, sendError } from './errors.js';
import type { HttpLogger } from './log.js';
import type { HttpMetrics } from './metrics.js';
import type { Router } from './router.js';

/** One named stage of the lifecycle. */
export interface Step {
  readonly name: string;
  run(ctx: HttpContext): void | Promise<void>;
}

/** Turns request credentials into a Caller; throws Unauthenticated for bad credentials. */
export type CallerResolver = (request: { readonly headers: Readonly<Record<string, string>>; readonly ip: string }) => Caller | Promise<Caller>;

/** Proves a CSRF token belongs to the session carried by the access_token cookie. */
export interface CsrfVerifier {
  verify(csrfToken: string, accessToken: string): boolean | Promise<boolean>;
}

/** One rate-limit verdict: the X-RateLimit-* numbers, and whether this request may pass. */
export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** When the window resets, epoch seconds. */
  resetAt: number;
  retryAfterSeconds: number;
}

/** Counts a request against the caller's rules; null when no rule covers the path. */
export interface RateLimiter {
  check(caller: Caller, path: string): RateLimitDecision | null | Promise<RateLimitDecision | null>;
}

/** What the steps need. Optional dependencies are features whose backend does not exist yet. */
export interface PipelineDeps {
  maxBodyBytes: number;
  corsOrigins: readonly string[];
  router: Router;
  metrics: HttpMetrics;
  log: HttpLogger;
  /** True while the server shuts down: new requests get 503. */
  draining: () => boolean;
  resolveCaller?: CallerResolver;
  csrf?: CsrfVerifier;
  rateLimiter?: RateLimiter;
  /** Answers GET/HEAD requests no route matched (the SPA's files); returns false to leave them a 404. */
  fallback?: (ctx: HttpContext) => boolean;
}

/** The lifecycle as data, in order. */
export function buildPipeline(deps: PipelineDeps): readonly Step[] {
  return [
    { name: 'metrics', run: recordMetrics(deps.metrics, deps.router) },
    { name: 'securityHeaders', run: securityHeaders },
    { name: 'cors', run: cors(deps.corsOrigins) },
    { name: 'requestSize', run: requestSize(deps.maxBodyBytes, deps.log) },
    { name: 'auth', run: auth(deps.resolveCaller ?? anonymousCaller) },
    { name: 'csrf', run: csrf(deps.csrf) },
    { name: 'rateLimit', run: rateLimit(deps.rateLimiter) },
    { name: 'route', run: route(deps.router, deps.draining, deps.fallback) },
  ];
}

/** Runs the steps until one responds; anything thrown becomes the error response. Never rejects. */
export function runPipeline(steps: readonly Step[], ctx: HttpContext, log: HttpLogger): Promise<void> {
  return runFrom(0, steps, ctx, log);
}

/**
 * Runs steps synchronously while they return nothing, and only awaits the ones that return a promise: most
 * requests (no session lookup, a cached rate-limit rule, a synchronous handler) never touch the microtask queue.
 */
function runFrom(first: number, steps: readonly Step[], ctx: HttpContext, log: HttpLogger): Promise<void> {
  try {
    for (let i = first; i < steps.length; i++) {
      if (ctx.responded) return DONE;
      const pending = steps[i]!.run(ctx);
      if (pending) {
        return pending.then(
          () => runFrom(i + 1, steps, ctx, log),
          (err: unknown) => sendError(ctx, err, log),
        );
      }
    }
    if (!ctx.responded) throw new Error(`no response from route ${ctx.route ?? '(none)'}`);
  } catch (err) {
    sendError(ctx, err, log);
  }
  return DONE;
}

const DONE: Promise<void> = Promise.resolve();

/** The caller when no credentials are understood yet: anonymous, keyed by address. */
export const anonymousCaller: CallerResolver = (request) => callerOf(request, null, 'anonymous');

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'strict-origin-when-cross-origin',
  'content-security-policy': "default-src 'self'",
};
const SECURITY_BLOCK = new HeaderBlock(SECURITY_HEADERS);
const API_SECURITY_BLOCK = new HeaderBlock({ ...SECURITY_HEADERS, 'cache-control': 'no-store' });

function securityHeaders(ctx: HttpContext): void {
  ctx.baseHeaders = ctx.path.startsWith('/api/') ? API_SECURITY_BLOCK : SECURITY_BLOCK;
}

const CORS_METHODS = 'GET, POST, PUT, PATCH, DELETE, OPTIONS';
const CORS_REQUEST_HEADERS = 'Content-Type, X-CSRF-Token, Idempotency-Key, Last-Event-ID, Authorization';
const CORS_EXPOSED_HEADERS = 'X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After';

function cors(origins: readonly string[]): Step['run'] {
  const allowed = new Set(origins);
  return (ctx) => {
    const origin = ctx.header('origin');
    if (origin === undefined) return;
    const h = ctx.responseHeaders;
    h.set('vary', 'Origin');
    const preflight = ctx.method === 'OPTIONS' && ctx.header('access-control-request-method') !== undefined;
    if (!allowed.has(origin)) {
      if (preflight) throw errors.forbidden('CORS origin not allowed');
      return;
    }
    h.set('access-control-allow-origin', origin);
    h.set('access-control-allow-credentials', 'true');
    h.set('access-control-expose-headers', CORS_EXPOSED_HEADERS);
    if (!preflight) return;
    h.set('access-control-allow-methods', CORS_METHODS);
    h.set('access-control-allow-headers', CORS_REQUEST_HEADERS);
    h.set('access-control-max-age', '600');
    ctx.send(204, null);
  };
}

function requestSize(maxBytes: number, log: HttpLogger): Step['run'] {
  return (ctx) => {
    const declared = ctx.header('content-length');
    if (declared !== undefined && Number(declared) > maxBytes) throw errors.tooLarge(maxBytes);
    // Counted as bytes arrive, so a chunked body without Content-Length is cut off as soon as it passes the cap.
    if (ctx.body.expectsBody) ctx.body.limit(maxBytes, () => sendError(ctx, errors.tooLarge(maxBytes), log));
  };
}

function auth(resolve: CallerResolver): Step['run'] {
  return (ctx) => {
    // The address stays unread until something needs it (see HttpContext.ip).
    const caller = resolve(ctx);
    if (!(caller instanceof Promise)) {
      ctx.caller = caller;
      return;
    }
    return caller.then((resolved) => {
      ctx.caller = resolved;
    });
  };
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const CSRF_EXEMPT = new Set(['/api/v1/auth/login', '/api/v1/auth/register']);

function csrf(verifier: CsrfVerifier | undefined): Step['run'] {
  const fail = () => {
    throw errors.forbidden('CSRF validation failed');
  };
  return (ctx) => {
    if (!UNSAFE_METHODS.has(ctx.method) || !ctx.path.startsWith('/api/') || CSRF_EXEMPT.has(ctx.path)) return;
    // Without a session cookie a forged cross-site request carries no authority to abuse.
    const session = ctx.cookie('access_token');
    if (session === undefined) return;
    const header = ctx.header('x-csrf-token');
    const cookie = ctx.cookie('csrf_token');
    const paired = header !== undefined && cookie !== undefined && sameSecret(header, cookie);
    // No verifier means the binding to the session cannot be proven: fail closed.
    if (!paired || !verifier) return fail();
    const bound = verifier.verify(header, session);
    if (!(bound instanceof Promise)) return bound ? undefined : fail();
    return bound.then((ok) => (ok ? undefined : fail()));
  };
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function rateLimit(limiter: RateLimiter | undefined): Step['run'] {
  if (!limiter) return () => {};
  return (ctx) => {
    const decision = limiter.check(ctx.caller, ctx.path);
    if (decision instanceof Promise) return decision.then((d) => applyDecision(ctx, d));
    applyDecision(ctx, decision);
  };
}

function applyDecision(ctx: HttpContext, decision: RateLimitDecision | null): void {
  if (!decision) return;
  const h = ctx.responseHeaders;
  h.set('x-ratelimit-limit', String(decision.limit));
  h.set('x-ratelimit-remaining', String(Math.max(0, decision.remaining)));
  h.set('x-ratelimit-reset', String(decision.resetAt));
  if (decision.allowed) return;
  throw new AppError('Throttled', 'Rate limit exceeded', {
    headers: { 'retry-after': String(decision.retryAfterSeconds) },
    body: { retry_after: decision.retryAfterSeconds, reset_at: new Date(decision.resetAt * 1000).toISOString() },
  });
}

function recordMetrics(metrics: HttpMetrics, router: Router): Step['run'] {
  // One observer for every request: no closure per request.
  const observer: RequestObserver = {
    finished(ctx, outcome) {
      metrics.end();
      metrics.record(ctx.method, ctx.route ?? patternOf(router, ctx), outcome, performance.now() - ctx.startedAt, ctx.declaredBodyBytes, ctx.bytesSent);
    },
  };
  return (ctx) => {
    metrics.begin();
    ctx.observe(observer);
  };
}

/** The route a request refused before routing asked for (looked up only for those), or `unmatched`. */
function patternOf(router: Router, ctx: HttpContext): string {
  const match = router.match(ctx.method, ctx.path);
  return match.kind === 'found' ? match.pattern : 'unmatched';
}

function route(router: Router, draining: () => boolean, fallback?: (ctx: HttpContext) => boolean): Step['run'] {
  return (ctx) => {
    if (draining()) throw errors.unavailable('Server is shutting down');
    const match = router.match(ctx.method, ctx.path);
    if (match.kind === 'not_found') {
      if (fallback?.(ctx)) return;
      throw new AppError('NotFound', 'Not found');
    }
    if (match.kind === 'method_not_allowed') throw new MethodNotAllowedError(match.allowed);
    ctx.route = match.pattern;
    ctx.params = match.params;
    return match.handler(ctx);
  };
}
