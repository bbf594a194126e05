/**
 * npm run bench:http — HTTP overhead of our server against a minimal Fastify server and a bare uWebSockets.js
 * handler, all in this run, on loopback, measured with wrk (autocannon if wrk is missing):
 *   1. GET /api/v1/health/live
 *   2. GET /api/v1/user/executions?limit=20 as a signed-in user with 20 stored executions: the same session check
 *      (access_token cookie → JWT verify → user and revocation lookup), zod validation and SQLite read in all three.
 * The same server runs a second time with telemetry on (tracing at the default sampling ratio, store spans, OTLP
 * export to a local sink) in a process of its own (bench/http-telemetry-server.ts, its CPU read from /proc), and the
 * cost is printed against the first (target ≤ 10 %; /health/live is never traced).
 * BENCH_AUTH=header swaps the session for the test header (x-test-user), to see what the session check costs.
 * Figures and target ratios are printed, not asserted.
 * The servers take turns for BENCH_ROUNDS rounds and the median of each is printed, so background load on a shared
 * machine hits all four alike. Environment: BENCH_SECONDS (4), BENCH_ROUNDS (3), BENCH_CONNECTIONS (64),
 * BENCH_WARMUP_SECONDS (2, once per server and endpoint).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import Fastify from 'fastify';
import uWS from 'uWebSockets.js';
import { parseInput } from '../http/errors.js';
import { UserExecutionsQuery, queryRecord, toListQuery } from '../http/schemas/executions.js';
import type { CallerResolver } from '../http/pipeline.js';
import { TEST_USER_HEADER } from '../http/test-caller.js';
import { loadConfig } from '../system/config.js';
import { startOtlpSink } from './otlp-sink.js';
import { openStack, SESSIONS } from './http-bench-stack.js';
import type { HttpStack } from '../test/support/http-stack.js';
import { readFileSync } from 'node:fs';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 4);
const ROUNDS = Math.max(1, Number(process.env['BENCH_ROUNDS'] ?? 3));
const WARMUP = Number(process.env['BENCH_WARMUP_SECONDS'] ?? 2);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 64);
const LIVE = '/api/v1/health/live';
const READ = '/api/v1/user/executions?limit=20';
const OURS = 'integr8s (uWS + pipeline)';
const TRACED = 'integr8s + tracing';

interface Figures {
  rps: number;
  p99Ms: number;
  /** CPU time the bench process (all three servers live in it; wrk does not) spent per request during the run. */
  cpuUsPerRequest: number;
}
type Tool = { kind: 'wrk' } | { kind: 'autocannon'; bin: string };

function findTool(): Tool | null {
  if (spawnSync('wrk', ['--version']).error === undefined) return { kind: 'wrk' };
  const local = 'node_modules/.bin/autocannon';
  if (existsSync(local)) return { kind: 'autocannon', bin: local };
  return null;
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${out}`))));
  });
}

const toMs = (value: string, unit: string) => Number(value) * ({ us: 0.001, ms: 1, s: 1000 }[unit] ?? Number.NaN);

/** CPU time used so far (µs) by this process, or by the server process `pid` when given. */
function cpuNow(pid?: number): number {
  if (pid === undefined) {
    const u = process.cpuUsage();
    return u.user + u.system;
  }
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / 100) * 1e6;
}

/** Loads one URL for `seconds` and returns requests/s and p99 latency; CPU is the server process `pid`'s when given. */
async function load(tool: Tool, url: string, seconds: number, headers: Record<string, string>, pid?: number): Promise<Figures> {
  if (tool.kind === 'wrk') {
    const h = Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
    const cpu = cpuNow(pid);
    const out = await run('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', ...h, url]);
    const used = { user: cpuNow(pid) - cpu, system: 0 };
    const requests = /(\d+) requests in/.exec(out);
    const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
    const p99 = /^\s+99%\s+([\d.]+)(us|ms|s)\s*$/m.exec(out);
    const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
    if (!rps || !p99) throw new Error(`cannot read wrk output:\n${out}`);
    if (non2xx) throw new Error(`${non2xx[1]} non-2xx responses from ${url}`);
    return { rps: Number(rps[1]), p99Ms: toMs(p99[1]!, p99[2]!), cpuUsPerRequest: (used.user + used.system) / Number(requests?.[1] ?? Number.NaN) };
  }
  const h = Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}=${v}`]);
  const cpu = cpuNow(pid);
  const out = JSON.parse(await run(tool.bin, ['-c', String(CONNECTIONS), '-d', String(seconds), '-j', ...h, url])) as {
    requests: { average: number; total: number };
    latency: { p99: number };
    non2xx: number;
  };
  if (out.non2xx) throw new Error(`${out.non2xx} non-2xx responses from ${url}`);
  const used = { user: cpuNow(pid) - cpu, system: 0 };
  return { rps: out.requests.average, p99Ms: out.latency.p99, cpuUsPerRequest: (used.user + used.system) / out.requests.total };
}

/** The same work as our routes, on Fastify with no plugins: resolve the caller, validate the query, call the service. */
async function startFastify(s: HttpStack, resolve: CallerResolver, live: () => unknown): Promise<{ port: number; close(): Promise<void> }> {
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
function startBareUws(s: HttpStack, resolve: CallerResolver, live: () => unknown): Promise<{ port: number; close(): void }> {
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

const fmt = (f: Figures) =>
  `${f.rps.toFixed(0).padStart(8)} req/s   p99 ${f.p99Ms.toFixed(2).padStart(7)} ms   ${f.cpuUsPerRequest.toFixed(1).padStart(6)} µs CPU/request`;
const ratio = (a: Figures, b: Figures) => a.rps / b.rps;
/** How many requests one CPU-second serves, relative: the ratio least disturbed by other load on the machine. */
const cpuRatio = (a: Figures, b: Figures) => b.cpuUsPerRequest / a.cpuUsPerRequest;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const tool = findTool();
  if (!tool) {
    console.error('wrk is not installed. Install it with:  apt-get install -y wrk   (Debian), or add autocannon to node_modules.');
    process.exit(1);
  }
  const { s, resolve, credentials } = await openStack();
  // The same stack with telemetry on, as a node runs it, in a process of its own (see http-telemetry-server.ts):
  // tracing at the default sampling ratio exported over OTLP to a local sink. The per-route HTTP metrics are on in both.
  const sink = await startOtlpSink();
  const ratio0 = loadConfig({}).tracing?.samplingRatio ?? 0.1;
  const traced = await startTelemetryServer(sink.url);
  const started = Date.now();
  const live = () => ({ status: 'ok', uptime_seconds: Math.round((Date.now() - started) / 1000), timestamp: new Date().toISOString() });
  const fastify = await startFastify(s, resolve, live);
  const bare = await startBareUws(s, resolve, live);
  const servers: Record<string, { port: number; credentials: Record<string, string>; pid?: number }> = {
    [OURS]: { port: s.port, credentials },
    [TRACED]: { port: traced.port, credentials: traced.credentials, pid: traced.pid },
    'fastify (minimal)': { port: fastify.port, credentials },
    'bare uWS (no pipeline)': { port: bare.port, credentials },
  };
  const how = SESSIONS ? 'the session cookie (JWT + user lookup)' : 'the test header';
  console.log(`tool ${tool.kind}, ${CONNECTIONS} connections, ${SECONDS} s per run, loopback; caller from ${how}; tracing sampling ratio ${ratio0}`);

  const results: Record<string, Record<string, Figures>> = {};
  for (const [label, path, signedIn] of [
    ['GET /health/live', LIVE, false],
    ['GET /user/executions?limit=20 (signed in, 20 stored)', READ, true],
  ] as const) {
    console.log(`\n## ${label} (median of ${ROUNDS} interleaved rounds)`);
    const runs: Record<string, Figures[]> = {};
    const headersOf = (name: string) => (signedIn ? servers[name]!.credentials : {});
    for (const [name, { port }] of Object.entries(servers)) {
      const url = `http://127.0.0.1:${port}${path}`;
      const probe = await fetch(url, { headers: headersOf(name) });
      if (probe.status !== 200) throw new Error(`${name} answered ${probe.status} for ${path}`);
      await load(tool, url, WARMUP, headersOf(name), servers[name]!.pid);
      runs[name] = [];
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, { port, pid }] of Object.entries(servers)) runs[name]!.push(await load(tool, `http://127.0.0.1:${port}${path}`, SECONDS, headersOf(name), pid));
    }
    results[label] = {};
    for (const [name, figures] of Object.entries(runs)) {
      const f = { rps: median(figures.map((x) => x.rps)), p99Ms: median(figures.map((x) => x.p99Ms)), cpuUsPerRequest: median(figures.map((x) => x.cpuUsPerRequest)) };
      results[label]![name] = f;
      const spread = `rps ${Math.min(...figures.map((x) => x.rps)).toFixed(0)}–${Math.max(...figures.map((x) => x.rps)).toFixed(0)}`;
      console.log(`${name.padEnd(28)} ${fmt(f)}   (${spread})`);
    }
  }

  const [liveRes, readRes] = Object.values(results) as [Record<string, Figures>, Record<string, Figures>];
  const [ours, , fast, raw] = Object.keys(servers);
  const targets: Array<[string, number, number]> = [
    ['health/live: ours / bare uWS', ratio(liveRes[ours!]!, liveRes[raw!]!), 0.7],
    ['health/live: ours / Fastify', ratio(liveRes[ours!]!, liveRes[fast!]!), 1.8],
    ['authenticated read: ours / Fastify', ratio(readRes[ours!]!, readRes[fast!]!), 1.5],
    ['authenticated read: ours / bare uWS', ratio(readRes[ours!]!, readRes[raw!]!), 0],
  ];
  console.log('\n## ratios (requests/s)');
  for (const [name, value, target] of targets) {
    console.log(`${name.padEnd(38)} ${value.toFixed(2)}${target ? `   target ≥ ${target}  ${value >= target ? 'met' : 'MISSED'}` : ''}`);
  }
  // Requests/s swing with whatever else the machine runs; CPU per request barely does.
  const cpuTargets: Array<[string, number, number]> = [
    ['health/live: ours / bare uWS', cpuRatio(liveRes[ours!]!, liveRes[raw!]!), 0.7],
    ['health/live: ours / Fastify', cpuRatio(liveRes[ours!]!, liveRes[fast!]!), 1.8],
    ['authenticated read: ours / Fastify', cpuRatio(readRes[ours!]!, readRes[fast!]!), 1.5],
  ];
  console.log('\n## ratios (requests per CPU-second: inverse of CPU per request)');
  for (const [name, value, target] of cpuTargets) {
    console.log(`${name.padEnd(38)} ${value.toFixed(2)}   target ≥ ${target}  ${value >= target ? 'met' : 'MISSED'}`);
  }

  console.log(`\n## telemetry cost (tracing at ratio ${ratio0} + OTLP export, against the same server without; target ≤ 10 %)`);
  for (const [name, res] of [['health/live (never traced)', liveRes], ['authenticated read', readRes]] as const) {
    const cost = (1 - ratio(res[TRACED]!, res[OURS]!)) * 100;
    const cpu = (res[TRACED]!.cpuUsPerRequest / res[OURS]!.cpuUsPerRequest - 1) * 100;
    console.log(`${name.padEnd(38)} throughput ${cost.toFixed(1).padStart(5)} %   CPU/request ${cpu >= 0 ? '+' : ''}${cpu.toFixed(1)} %   ${cost <= 10 ? 'met' : 'MISSED'}`);
  }
  console.log(`OTLP sink got ${JSON.stringify(sink.received)}`);

  // Let wrk's last connections finish before the store closes under them.
  await new Promise((r) => setTimeout(r, 300));
  bare.close();
  await fastify.close();
  await s.close();
  await traced.stop();
  await sink.close();
}

/** Starts http-telemetry-server.ts and waits for its port and credentials. */
function startTelemetryServer(otlpEndpoint: string): Promise<{ port: number; credentials: Record<string, string>; pid: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/http-telemetry-server.ts'], {
    env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint },
    // Its standard input stays open while this process lives: it stops when the bench goes away, however.
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('exit', (code) => reject(new Error(`telemetry server exited ${code}: ${out}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (!line) return;
      const { port, credentials } = JSON.parse(line) as { port: number; credentials: Record<string, string> };
      resolve({ port, credentials, pid: child.pid!, stop });
    });
  });
}


main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
