/**
 * npm run bench:http — HTTP overhead of our server against a minimal Fastify server and a bare uWebSockets.js
 * handler, all in this run, on loopback, measured with wrk (autocannon if wrk is missing):
 *   1. GET /api/v1/health/live
 *   2. GET /api/v1/user/executions?limit=20 as a signed-in user with 20 stored executions: the same session check
 *      (access_token cookie → JWT verify → user and revocation lookup), zod validation and SQLite read in all three.
 * Every server runs in a process of its own (bench/http-bench-server.ts) over its own copy of the same stack, so each
 * is measured alone: its CPU per request is read from /proc, and no server pays for another's heap or garbage.
 * Our server runs a second time with telemetry on (tracing at the default sampling ratio, store spans, OTLP export
 * to a local sink), and the cost is printed against the first (target ≤ 10 %; /health/live is never traced).
 * BENCH_AUTH=header swaps the session for the test header (x-test-user), to see what the session check costs.
 * Figures and target ratios are printed, not asserted.
 * The servers take turns for BENCH_ROUNDS rounds and the median of each is printed, so background load on a shared
 * machine hits all four alike. Environment: BENCH_SECONDS (4), BENCH_ROUNDS (3), BENCH_CONNECTIONS (64),
 * BENCH_WARMUP_SECONDS (2, once per server and endpoint).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { loadConfig } from '../system/config.js';
import { startOtlpSink } from './otlp-sink.js';
import { SESSIONS } from './http-bench-stack.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 4);
const ROUNDS = Math.max(1, Number(process.env['BENCH_ROUNDS'] ?? 3));
const WARMUP = Number(process.env['BENCH_WARMUP_SECONDS'] ?? 2);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 64);
const LIVE = '/api/v1/health/live';
const READ = '/api/v1/user/executions?limit=20';
const OURS = 'integr8s (uWS + pipeline)';
const TRACED = 'integr8s + tracing';
const FASTIFY = 'fastify (minimal)';
const BARE = 'bare uWS (no pipeline)';

interface Figures {
  rps: number;
  p99Ms: number;
  /** CPU time the server's process spent per request during the run. */
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

/** CPU time used so far (µs) by the server process `pid`. */
function cpuNow(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / 100) * 1e6;
}

/** Loads one URL for `seconds` and returns requests/s, p99 latency and the CPU the server process `pid` spent per request. */
async function load(tool: Tool, url: string, seconds: number, headers: Record<string, string>, pid: number): Promise<Figures> {
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
  // Telemetry on, as a node runs it: tracing at the default sampling ratio exported over OTLP to a local sink. The
  // per-route HTTP metrics are on in every one of our servers.
  const sink = await startOtlpSink();
  const ratio0 = loadConfig({}).tracing?.samplingRatio ?? 0.1;
  const servers: Record<string, BenchServer> = {};
  for (const [name, kind] of [[OURS, 'ours'], [TRACED, 'traced'], [FASTIFY, 'fastify'], [BARE, 'bare']] as const) {
    servers[name] = await startServer(kind, sink.url);
  }
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
  const [ours, fast, raw] = [OURS, FASTIFY, BARE];
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

  // Let wrk's last connections finish before the stores close under them.
  await new Promise((r) => setTimeout(r, 300));
  await Promise.all(Object.values(servers).map((server) => server.stop()));
  await sink.close();
}

interface BenchServer {
  port: number;
  credentials: Record<string, string>;
  pid: number;
  stop(): Promise<void>;
}

/** Starts one server of http-bench-server.ts and waits for its port and credentials. */
function startServer(kind: 'ours' | 'traced' | 'fastify' | 'bare', otlpEndpoint: string): Promise<BenchServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/http-bench-server.ts', kind], {
    env: kind === 'traced' ? { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint } : process.env,
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
    child.once('exit', (code) => reject(new Error(`${kind} server exited ${code}: ${out}`)));
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
