/**
 * One of bench:http's servers, in a process of its own so that each is measured alone (its CPU read from /proc, its
 * heap and garbage its own): `ours` (the platform's HTTP stack with its full pipeline), `traced` (the same with
 * tracing at the default sampling ratio, exporting over OTLP to OTEL_EXPORTER_OTLP_ENDPOINT), `fastify` (a minimal
 * Fastify server) and `bare` (a bare uWebSockets.js handler). All four do the same work over the same kind of stack
 * (http-bench-stack.ts): the same session check, query validation and SQLite read.
 * Prints one JSON line (port, credentials) when ready; stops on SIGTERM or when the bench goes away (its standard
 * input closes).
 */
import Fastify from 'fastify';
import uWS from 'uWebSockets.js';
import { parseInput } from '../http/errors.js';
import type { CallerResolver } from '../http/pipeline.js';
import { UserExecutionsQuery, queryRecord, toListQuery } from '../http/schemas/executions.js';
import { TEST_USER_HEADER } from '../http/test-caller.js';
import { loadConfig } from '../system/config.js';
import { startTracing } from '../system/telemetry/tracing.js';
import type { HttpStack } from '../test/support/http-stack.js';
import { openStack } from './http-bench-stack.js';

const LIVE = '/api/v1/health/live';
const SERVER_KINDS = ['ours', 'traced', 'fastify', 'bare'] as const;
type ServerKind = (typeof SERVER_KINDS)[number];

interface Running {
  port: number;
  close(): Promise<void> | void;
}

/** The baselines' liveness answer: the same fields as ours. */
function liveAnswer(started: number) {
  return () => ({ status: 'ok', uptime_seconds: Math.round((Date.now() - started) / 1000), timestamp: new Date().toISOString() });
}

/** The same work as our routes, on Fastify with no plugins: resolve the caller, validate the query, call the service. */
async function startFastify(s: HttpStack, resolve: CallerResolver, live: () => unknown): Promise<Running> {
  const app = Fastify({ logger: false });
  app.get(LIVE, async () => live());
  app.get('/api/v1/user/executions', async (req, reply) => {
    const caller = await resolve({ headers: req.headers as Record<string, string>, ip: req.ip });
    if (caller.userId === null) return reply.code(401).send({ detail: 'Not authenticated', type: 'Unauthenticated' });
    const query = parseInput(UserExecutionsQuery, queryRecord(new URLSearchParams(req.url.split('?')[1] ?? '')));
    return s.executions.listOwn(caller, toListQuery(query));
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  return { port: typeof address === 'object' && address ? address.port : 0, close: () => app.close() };
}

/** A bare uWS app with the same two handlers and nothing in front of them. */
function startBareUws(s: HttpStack, resolve: CallerResolver, live: () => unknown): Promise<Running> {
  const app = uWS.App();
  app.get(LIVE, (res) => {
    res.cork(() => res.writeHeader('content-type', 'application/json').end(JSON.stringify(live())));
  });
  app.get('/api/v1/user/executions', (res, req) => {
    let aborted = false;
    res.onAborted(() => (aborted = true));
    const headers = { cookie: req.getHeader('cookie'), [TEST_USER_HEADER]: req.getHeader(TEST_USER_HEADER) };
    const query = new URLSearchParams(req.getQuery() ?? '');
    void (async () => {
      const caller = await resolve({ headers, ip: '127.0.0.1' });
      if (caller.userId === null) {
        if (!aborted) res.cork(() => res.writeStatus('401 Unauthorized').end());
        return;
      }
      const page = await s.executions.listOwn(caller, toListQuery(parseInput(UserExecutionsQuery, queryRecord(query))));
      if (!aborted) res.cork(() => res.writeHeader('content-type', 'application/json').end(JSON.stringify(page)));
    })().catch(() => {
      if (!aborted) res.cork(() => res.writeStatus('500 Internal Server Error').end());
    });
  });
  return new Promise((ok, fail) =>
    app.listen('127.0.0.1', 0, (socket) => {
      if (!socket) return fail(new Error('bare uWS cannot listen'));
      ok({ port: uWS.us_socket_local_port(socket as unknown as uWS.us_socket), close: () => uWS.us_listen_socket_close(socket) });
    }),
  );
}

async function main(kind: ServerKind): Promise<void> {
  const config = loadConfig({ DATA_DIR: '/tmp', ...process.env });
  const tracing =
    kind === 'traced'
      ? startTracing({
          nodeId: 'bench-telemetry',
          mode: 'embedded',
          sampling: { enabled: true, ratio: config.tracing?.samplingRatio ?? 0.1 },
          otlpEndpoint: config.otlpEndpoint,
        })
      : null;
  const { s, resolve, credentials } = await openStack(tracing?.sampler);
  const live = liveAnswer(Date.now());
  const server: Running =
    kind === 'fastify' ? await startFastify(s, resolve, live) : kind === 'bare' ? await startBareUws(s, resolve, live) : { port: s.port, close: () => undefined };
  console.log(JSON.stringify({ port: server.port, credentials }));
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void (async () => {
      await server.close();
      await s.close();
      await tracing?.shutdown();
      process.exit(0);
    })();
  };
  process.once('SIGTERM', stop);
  process.stdin.resume();
  process.stdin.once('end', stop);
}

const kind = process.argv[2] as ServerKind;
if (!SERVER_KINDS.includes(kind)) {
  console.error(`usage: http-bench-server.ts <${SERVER_KINDS.join('|')}>`);
  process.exit(2);
}
await main(kind);
