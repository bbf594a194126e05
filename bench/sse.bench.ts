/**
 * npm run bench:sse — SSE sessions on one embedded node, over the public API.
 *
 * 1. idle cost: N streams (SSE_STREAMS, default 20 000, capped by the open-files limit) on one running execution
 *    that waits for its standard input; the server's RSS and V8 heap before and after, per stream.
 * 2. one message to all N: a line written to the program's stdin comes back as one execution_output frame on every
 *    stream; delivery latency (receipt minus the frame's server timestamp) p50/p99 and frames lost. Then the end of
 *    its input: the program exits, and the time until its terminal frame closed all N streams.
 * 3. sustained: SSE_RATE messages/s (default 100) for SSE_SECONDS (default 10) to SSE_SUSTAINED_STREAMS streams
 *    (default 1 000): ⌈rate/10⌉ programs each printing a line every 100 ms (the output batcher flushes 50 ms
 *    after a first byte, so each line is one frame), the streams spread over them; latency, loss, and the server's
 *    CPU per 1 000 frames delivered.
 * 4. side by side: the idle streams and the one-message fan-out against servers that do nothing else
 *    (bench/plain-sse-server.ts): bare uWebSockets.js (the floor of this machine and this client) and node:http.
 * The streams are read by SSE_READER_THREADS client threads (default 2, bench/sse-readers.ts).
 * Figures are printed, not asserted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { embeddedEnv } from '../test/support/infra.js';
import { bypassRateLimits, login, sessionApi, TEST_ADMIN } from '../test/support/session.js';
import { SseReaderPool, type StreamTally } from './sse-readers.js';

const PORT = Number(process.env['BENCH_PORT'] ?? 18_090);
const base = `http://127.0.0.1:${PORT}/api/v1`;
const WANTED = Number(process.env['SSE_STREAMS'] ?? 20_000);
const RATE = Number(process.env['SSE_RATE'] ?? 100);
const SECONDS = Number(process.env['SSE_SECONDS'] ?? 10);
const SUSTAINED = Number(process.env['SSE_SUSTAINED_STREAMS'] ?? 1_000);
const LINE_GAP_MS = 100;
/** Client threads reading the streams (the node under test has the machine's other core to share). */
const READERS = Number(process.env['SSE_READER_THREADS'] ?? 2);
const ROOT = fileURLToPath(new URL('..', import.meta.url));

const pct = (xs: number[], p: number): number => {
  if (xs.length === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** This process's open-files limit (the server, its child, has the same). */
function openFilesLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  return Number(line?.split(/\s+/)[3] ?? 1024);
}

function procStat(pid: number): { rssBytes: number; cpuSeconds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { rssBytes: rssKb * 1024, cpuSeconds: (Number(fields[11]) + Number(fields[12])) / 100 };
}

/** The server's V8 heap in use and its own SSE figures, from GET /metrics. */
async function serverMetrics(): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${PORT}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (m) out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
  }
  return out;
}

/** Heap and RSS once the server settled: a full GC first (SIGUSR2, see gc-on-signal.mjs), so the heap is live objects. */
async function settledMemory(pid: number): Promise<{ heap: number; rss: number }> {
  await sleep(2_000);
  process.kill(pid, 'SIGUSR2');
  await sleep(1_000);
  const heap = (await serverMetrics())['process_memory_heap_used_bytes'] ?? NaN;
  return { heap, rss: procStat(pid).rssBytes };
}

/** Phase 1 and 2 figures of the platform, for the side-by-side with the baseline servers. */
const platform = { heapPerStream: NaN, rssPerStream: NaN, spread: NaN, p99: NaN };

/** Waits until no stream of `group` is open (or the deadline passed). */
async function untilEnded(pool: SseReaderPool, group: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while ((await pool.count(group)).open > 0 && Date.now() < deadline) await sleep(100);
}

/** Waits until `want` streams of `group` got an output frame (or the deadline passed); what they saw. */
async function untilDelivered(pool: SseReaderPool, group: string, want: number, ms: number): Promise<StreamTally[]> {
  const deadline = Date.now() + ms;
  while ((await pool.count(group)).withOutput < want && Date.now() < deadline) await sleep(100);
  return pool.collect(group);
}

/**
 * The same idle streams and one-message fan-out against bench/plain-sse-server.ts, as `kind`: `node` (node:http)
 * or `uws` (bare uWebSockets.js: the floor of this machine and this client).
 */
async function baselineServer(kind: 'node' | 'uws', n: number, pool: SseReaderPool): Promise<void> {
  const port = PORT + 1;
  const child = spawn(process.execPath, ['--expose-gc', '--import', './bench/gc-on-signal.mjs', '--import', 'tsx', 'bench/plain-sse-server.ts', String(port), kind], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  process.once('exit', () => child.kill('SIGKILL'));
  const memory = async () => {
    await sleep(2_000);
    process.kill(child.pid!, 'SIGUSR2');
    await sleep(1_000);
    const m = (await (await fetch(`http://127.0.0.1:${port}/memory`)).json()) as { heapUsed: number };
    return { heap: m.heapUsed, rss: procStat(child.pid!).rssBytes };
  };
  const group = `baseline-${kind}`;
  try {
    for (let i = 0; !(await fetch(`http://127.0.0.1:${port}/memory`).then((r) => r.ok, () => false)); i++) {
      if (i > 100) throw new Error(`${kind} baseline server did not start`);
      await sleep(100);
    }
    const warm = Math.min(200, Math.floor(n / 10));
    await pool.open(port, '/stream', {}, warm, group);
    const before = await memory();
    await pool.open(port, '/stream', {}, n - warm, group);
    const after = await memory();
    const heap = (after.heap - before.heap) / (n - warm);
    const rss = (after.rss - before.rss) / (n - warm);
    await fetch(`http://127.0.0.1:${port}/publish`, { method: 'POST' });
    const tallies = await untilDelivered(pool, group, n, 60_000);
    const latencies = tallies.flatMap((t) => t.latencies);
    const arrivals = tallies.flatMap((t) => [...t.frames.values()].slice(0, 1));
    const spread = Math.max(...arrivals) - Math.min(...arrivals);
    const label = kind === 'node' ? 'plain node:http' : 'bare uWS';
    console.log(`${label}: heap ${(heap / 1024).toFixed(2)} KB, RSS ${(rss / 1024).toFixed(2)} KB per stream; one message to ${n}: delivered ${arrivals.length}, p50 ${pct(latencies, 50).toFixed(0)} ms  p99 ${pct(latencies, 99).toFixed(0)} ms, spread ${spread.toFixed(0)} ms`);
    console.log(`platform / ${label}: heap per stream ×${(platform.heapPerStream / heap).toFixed(2)}, RSS per stream ×${(platform.rssPerStream / rss).toFixed(2)}, fan-out p99 ×${(platform.p99 / pct(latencies, 99)).toFixed(2)}, spread ×${(platform.spread / spread).toFixed(2)}`);
  } finally {
    await pool.close(group);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

async function main(): Promise<void> {
  const limit = openFilesLimit();
  const n = Math.min(WANTED, limit - 300);
  if (n < WANTED) console.log(`open-files limit ${limit} (ulimit -n could not be raised further): ${n} streams instead of ${WANTED}`);
  const dataDir = await mkdtemp(join(tmpdir(), 'integr8s-bench-sse-'));
  const pool = await SseReaderPool.start(READERS);
  const server: ChildProcess = spawn(process.execPath, ['--expose-gc', '--import', './bench/gc-on-signal.mjs', '--import', 'tsx', 'system/main.ts'], {
    cwd: ROOT,
    env: { ...embeddedEnv(), PORT: String(PORT), DATA_DIR: dataDir, LOG_LEVEL: 'warn', ADMIN_USERNAME: TEST_ADMIN.username, ADMIN_PASSWORD: TEST_ADMIN.password },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const pid = server.pid!;
  // Never leave the server behind, whatever ends this process.
  const killServer = () => server.kill('SIGTERM');
  process.once('exit', killServer);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGPIPE', 'SIGHUP'] as const) process.once(signal, () => process.exit(130));
  try {
    for (let i = 0; !(await fetch(`${base}/health/live`).then((r) => r.ok, () => false)); i++) {
      if (i > 300) throw new Error('server did not start');
      await sleep(100);
    }
    const session = await login(base, TEST_ADMIN.username, TEST_ADMIN.password);
    await bypassRateLimits(base, session, session.userId);
    const api = sessionApi(base, session);
    const settings = (await api('/admin/settings/')).body as Record<string, unknown>;
    await api('/admin/settings/', { method: 'PUT', json: { ...settings, max_timeout_seconds: 900, max_concurrent_executions: Math.max(Number(settings['max_concurrent_executions']), 32) } });
    const limits = (await api('/k8s-limits')).body as { supported_runtimes: { python: { versions: string[] } } };
    const version = limits.supported_runtimes.python.versions[0]!;
    const headers = session.headers();
    const submit = async (script: string): Promise<string> => {
      const res = await api('/execute', { method: 'POST', json: { script, lang: 'python', lang_version: version, interactive: true } });
      if (res.status !== 200) throw new Error(`submit: ${res.status} ${JSON.stringify(res.body)}`);
      const id = (res.body as { execution_id: string }).execution_id;
      for (;;) {
        const r = await api(`/executions/${id}/result`);
        if ((r.body as { status: string }).status === 'running') return id;
        await sleep(50);
      }
    };
    const stdin = async (id: string, data: string, eof = false) => {
      const r = await api(`/executions/${id}/stdin`, { method: 'POST', json: { data, eof } });
      if (r.status !== 200) throw new Error(`stdin: ${r.status} ${JSON.stringify(r.body)}`);
    };

    console.log(`## 1. idle cost: ${n} streams on one execution (read by ${READERS} client threads)`);
    const waiting = await submit('import sys\nfor line in sys.stdin:\n    print(line.strip(), flush=True)\n');
    const path = `/api/v1/events/executions/${waiting}`;
    // The first streams load and compile code paths the server has not run yet: measure from after them.
    const warm = Math.min(200, Math.floor(n / 10));
    await pool.open(PORT, path, headers, warm, 'idle');
    const before = await settledMemory(pid);
    const openedAt = performance.now();
    await pool.open(PORT, path, headers, n - warm, 'idle');
    const openSeconds = (performance.now() - openedAt) / 1000;
    const after = await settledMemory(pid);
    const m = await serverMetrics();
    const measured = n - warm;
    const refused = (await pool.collect('idle')).filter((t) => t.refused).length;
    if (refused) console.log(`  ${refused} streams refused at open`);
    platform.heapPerStream = (after.heap - before.heap) / measured;
    platform.rssPerStream = (after.rss - before.rss) / measured;
    console.log(`opened ${measured} more streams in ${openSeconds.toFixed(1)} s (${(measured / openSeconds).toFixed(0)}/s) after ${warm} to warm up; server reports sse_sessions_open ${m['sse_sessions_open'] ?? '?'}`);
    console.log(`server heap ${(before.heap / 2 ** 20).toFixed(1)} → ${(after.heap / 2 ** 20).toFixed(1)} MiB: ${((after.heap - before.heap) / measured / 1024).toFixed(2)} KB per stream`);
    console.log(`server RSS  ${(before.rss / 2 ** 20).toFixed(1)} → ${(after.rss / 2 ** 20).toFixed(1)} MiB: ${((after.rss - before.rss) / measured / 1024).toFixed(2)} KB per stream`);

    console.log(`\n## 2. one message to all ${n} streams`);
    const cpu0 = procStat(pid).cpuSeconds;
    await stdin(waiting, 'hello\n');
    await untilDelivered(pool, 'idle', n, 60_000);
    const fanoutCpu = procStat(pid).cpuSeconds - cpu0;
    // Then the end of input: the program exits and its terminal frame ends all N streams (measured on its own).
    const endedAt = Date.now();
    await stdin(waiting, '', true);
    await untilEnded(pool, 'idle', 60_000);
    const teardownMs = Date.now() - endedAt;
    const tallies = await pool.collect('idle');
    const fanout = tallies.flatMap((t) => t.latencies);
    const got = tallies.filter((t) => t.latencies.length === 1).length;
    const terminal = tallies.filter((t) => t.frames.size >= 2 && t.ended).length;
    console.log(`output frame delivered to ${got}/${n} streams (lost ${n - got}); streams that also got the terminal frame and a clean end ${terminal}/${n}`);
    console.log(`delivery latency p50 ${pct(fanout, 50).toFixed(0)} ms  p99 ${pct(fanout, 99).toFixed(0)} ms  max ${pct(fanout, 100).toFixed(0)} ms; server CPU ${fanoutCpu.toFixed(2)} s`);
    console.log(`end of the run: all ${n} streams closed ${teardownMs} ms after the end of input (terminal frame, stream end, session stop)`);
    // Latency starts at the frame's timestamp, taken before the output is stored; the spread is the fan-out alone.
    const arrivals = tallies.flatMap((t) => [...t.frames.values()].slice(0, 1));
    platform.spread = Math.max(...arrivals) - Math.min(...arrivals);
    platform.p99 = pct(fanout, 99);
    console.log(`fan-out spread (last minus first stream to receive it, client clock): ${platform.spread.toFixed(0)} ms`);
    await pool.close('idle');
    // Phase 3 measures the steady state: let the node collect what 20 000 closed streams left behind first.
    await settledMemory(pid);

    const programs = Math.max(1, Math.ceil(RATE / (1000 / LINE_GAP_MS)));
    const lines = Math.round((SECONDS * 1000) / LINE_GAP_MS);
    console.log(`\n## 3. sustained: ${programs} programs × 10 lines/s = ${programs * 10} messages/s for ${SECONDS} s to ${SUSTAINED} streams`);
    const script = `import sys, time\nsys.stdin.readline()\nt = time.time()\nfor i in range(${lines}):\n    time.sleep(max(0, t + i * ${LINE_GAP_MS / 1000} - time.time()))\n    print(i, flush=True)\n`;
    const ids = await Promise.all(Array.from({ length: programs }, () => submit(script)));
    for (const [k, id] of ids.entries()) await pool.open(PORT, `/api/v1/events/executions/${id}`, headers, Math.ceil(SUSTAINED / programs), `sustained-${k}`);
    const c0 = procStat(pid).cpuSeconds;
    await Promise.all(ids.map((id) => stdin(id, 'go\n', true)));
    for (const k of ids.keys()) await untilEnded(pool, `sustained-${k}`, SECONDS * 1000 + 30_000);
    const cpu = procStat(pid).cpuSeconds - c0;
    let delivered = 0;
    let lost = 0;
    let published = 0;
    const latencies: number[] = [];
    for (const k of ids.keys()) {
      const ts = await pool.collect(`sustained-${k}`);
      const all = new Set(ts.flatMap((t) => [...t.frames.keys()]));
      published += all.size;
      for (const t of ts) {
        delivered += t.frames.size;
        lost += all.size - t.frames.size;
        latencies.push(...t.latencies);
      }
      await pool.close(`sustained-${k}`);
    }
    console.log(`frames published ${published} (incl. terminal frames), delivered ${delivered}, lost ${lost}`);
    console.log(`delivery latency p50 ${pct(latencies, 50).toFixed(0)} ms  p99 ${pct(latencies, 99).toFixed(0)} ms  max ${pct(latencies, 100).toFixed(0)} ms`);
    console.log(`server CPU ${cpu.toFixed(2)} s = ${((cpu * 1000 * 1000) / Math.max(1, delivered)).toFixed(1)} ms per 1000 frames delivered (includes running the programs' events)`);
    const end = await serverMetrics();
    console.log(`server: sse_frames_sent ${end['sse_frames_sent_total'] ?? '?'}  sse_frames_dropped ${end['sse_frames_dropped_total'] ?? '?'}  sse_streams_closed_slow ${end['sse_streams_closed_slow_total'] ?? '?'}  RSS ${(procStat(pid).rssBytes / 2 ** 20).toFixed(0)} MiB`);
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    await rm(dataDir, { recursive: true, force: true });
  }
  console.log(`\n## 4. side by side: the same ${n} idle streams and one message, served by servers that do nothing else (no auth, actors or store)`);
  await baselineServer('uws', n, pool);
  await baselineServer('node', n, pool);
  await pool.stop();
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
