import uWS from 'uWebSockets.js';
import type { TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import type { ExecutionService, HealthService } from '../system/services/types.js';
import { HttpContext } from './context.js';
import { jsonLineLogger, describeError, type HttpLogger } from './log.js';
import { HttpMetrics, type RouteStats } from './metrics.js';
import { buildPipeline, runPipeline, type CallerResolver, type CsrfVerifier, type RateLimiter } from './pipeline.js';
import { Router } from './router.js';
import { traceRequest, type RequestSampling } from './tracing.js';
import * as eventRoutes from './routes/events.js';
import * as executionRoutes from './routes/executions.js';
import * as healthRoutes from './routes/health.js';
import { SseHub, type SseStats } from './sse.js';
import type { StaticSite } from './static.js';

/** Listening address and transport limits. */
export interface HttpServerConfig {
  host: string;
  /** 0 picks a free port; `listen()` reports the real one. */
  port: number;
  /** Request bodies past this many bytes get 413 (10 MB in production). */
  maxBodyBytes: number;
  /** Origins allowed to call the API with credentials. */
  corsOrigins: string[];
  /** Period of the shared SSE heartbeat (15 000 in production). */
  sseHeartbeatMs: number;
  /** Bytes one SSE stream may hold for a client that is not reading, before it is closed. */
  sseMaxBufferedBytes: number;
  /** Reconnect delay suggested to SSE clients with `retry:`; default 2000. */
  sseRetryMs?: number;
  /** How long close() waits for in-flight requests before dropping connections; default 5000. */
  shutdownGraceMs?: number;
}

/** What a route group gets besides its own services: the SSE hub and the logger. */
export interface RouteGroupContext {
  sse: SseHub;
  log: HttpLogger;
}

/** Registers one API group's routes (each group lives in http/routes/<group>.ts and is wired in system/node.ts). */
export type RouteGroup = (router: Router, ctx: RouteGroupContext) => void;

/** Everything the transport calls into. Optional entries are features whose backend is not built yet. */
export interface HttpServerDeps {
  executions: ExecutionService;
  health: HealthService;
  log?: HttpLogger;
  /** Auth step: credentials → Caller. Default: every caller is anonymous. */
  resolveCaller?: CallerResolver;
  /** CSRF step: binds a csrf_token to its session. Absent: requests with a session cookie fail closed. */
  csrf?: CsrfVerifier;
  /** Rate-limit step. Absent: no limits. */
  rateLimiter?: RateLimiter;
  /** Further API groups (accounts, scripts, admin, ...), registered after the built-in ones. */
  routes?: RouteGroup[];
  /** The built SPA, served at `/` for paths no route matches. Absent: those paths are 404. */
  site?: StaticSite | null;
  /** Server spans for requests (the tracing SDK's sampler). Absent: no spans, no trace context. */
  tracing?: RequestSampling;
  config: HttpServerConfig;
}

/** A running (or ready to run) HTTP server. */
export interface HttpServer {
  /** Starts listening; resolves with the bound port. */
  listen(): Promise<{ port: number }>;
  /** Stops accepting, ends SSE streams with a `retry:` hint, waits for in-flight requests (bounded), closes sockets. */
  close(): Promise<void>;
  /** Per-route request counts and durations. */
  metrics(): RouteStats[];
  /** Requests being handled now (open SSE streams included). */
  activeRequests(): number;
  /** Open SSE streams, the bytes they buffer, frames sent and dropped, streams closed for being slow. */
  sseStats(): SseStats;
}

/** Builds the uWS app: routes registered per API group, every request through the pipeline. */
export function createHttpServer(deps: HttpServerDeps): HttpServer {
  const { config, executions, health } = deps;
  const log = deps.log ?? jsonLineLogger;
  const app = uWS.App();
  const router = new Router();
  const metrics = new HttpMetrics();
  const sse = new SseHub(
    { heartbeatMs: config.sseHeartbeatMs, maxBufferedBytes: config.sseMaxBufferedBytes, retryMs: config.sseRetryMs ?? 2000 },
    log,
  );
  executionRoutes.register(router, { executions });
  healthRoutes.register(router, { health });
  eventRoutes.register(router, { executions, sse, log });
  for (const group of deps.routes ?? []) group(router, { sse, log });

  let listenSocket: us_listen_socket | null = null;
  let closing: Promise<void> | null = null;
  const steps = buildPipeline({
    maxBodyBytes: config.maxBodyBytes,
    corsOrigins: config.corsOrigins,
    router,
    metrics,
    log,
    draining: () => closing !== null,
    ...(deps.resolveCaller ? { resolveCaller: deps.resolveCaller } : {}),
    ...(deps.csrf ? { csrf: deps.csrf } : {}),
    ...(deps.rateLimiter ? { rateLimiter: deps.rateLimiter } : {}),
    ...(deps.site ? { fallback: deps.site.serve } : {}),
  });

  const crashed = (err: unknown) => log.error(describeError(err), 'pipeline crashed');
  const tracing = deps.tracing;
  app.any('/*', (res, req) => {
    const ctx = new HttpContext(res, req);
    // The request's server span (see tracing.ts): events it publishes carry its trace.
    if (tracing) traceRequest(ctx, tracing, () => void runPipeline(steps, ctx, log).catch(crashed));
    else void runPipeline(steps, ctx, log).catch(crashed);
  });

  return {
    listen: () =>
      new Promise((resolve, reject) => {
        if (listenSocket) return reject(new Error('already listening'));
        app.listen(config.host, config.port, (socket) => {
          if (!socket) return reject(new Error(`cannot listen on ${config.host}:${config.port}`));
          listenSocket = socket;
          // us_socket_local_port accepts a listen socket too (uWS docs); its typings only name us_socket.
          resolve({ port: uWS.us_socket_local_port(socket as unknown as uWS.us_socket) });
        });
      }),
    close: () => {
      closing ??= shutdown();
      return closing;
    },
    metrics: () => metrics.snapshot(),
    activeRequests: () => metrics.active,
    sseStats: () => sse.stats(),
  };

  async function shutdown(): Promise<void> {
    if (listenSocket) uWS.us_listen_socket_close(listenSocket);
    listenSocket = null;
    sse.closeAll();
    const deadline = Date.now() + (config.shutdownGraceMs ?? 5000);
    // Every request is counted from the pipeline's first step (metrics) until it finishes.
    while (metrics.active > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    closeAllConnections(app);
  }
}

/** Drops idle keep-alive connections; uWS 20.30 has app.close() but its typings do not declare it. */
function closeAllConnections(app: TemplatedApp): void {
  const closable = app as TemplatedApp & { close?: () => void };
  if (typeof closable.close === 'function') closable.close();
}
