/**
 * npm run bench:exec — embedded mode, end to end over HTTP: POST /execute until the terminal SSE frame.
 * Prints hello-world latency per language, live output latency and rate, sustained throughput with concurrent
 * clients and the server's RSS, the sandbox's own overhead, and what telemetry costs: two servers, one with tracing
 * (default sampling ratio) and metrics exporting to a local OTLP sink and scraped, one with OTEL_SDK_DISABLED=true,
 * loaded in turns. Figures are printed, not asserted. BENCH_ONLY=telemetry runs the last part alone;
 * BENCH_TELEMETRY_ROUNDS (3) and BENCH_TELEMETRY_SECONDS (10) size it; BENCH_SCRAPE_MS (5000) is the /metrics scrape period.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { bypassRateLimits, login, TEST_ADMIN } from '../test/support/session.js';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { embeddedEnv } from '../test/support/infra.js';
import { startOtlpSink } from './otlp-sink.js';

const PORT = Number(process.env['BENCH_PORT'] ?? 18_080);
const base = `http://127.0.0.1:${PORT}/api/v1`;
const HELLO: Record<string, string> = {
  python: 'print("hello")',
  node: 'console.log("hello")',
  typescript: 'const s: string = "hello"; console.log(s);',
  ruby: 'puts "hello"',
  go: 'package main\nimport "fmt"\nfunc main() { fmt.Println("hello") }',
  bash: 'echo hello',
};
const RUNS: Record<string, number> = { python: 200, node: 60, typescript: 60, ruby: 100, go: 30, bash: 200 };

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const ms = (x: number) => `${x.toFixed(1)} ms`;

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
/** The signed-in admin session's headers (cookies + CSRF), set once the server is up. */
let auth: Record<string, string> = {};

/** A server the client talks to; default the one at PORT with the session in `auth`. */
interface Target {
  port: number;
  auth: Record<string, string>;
}

/** POST /execute with a lean keep-alive client (the bench shares the machine's two cores with the server). */
function post(path: string, body: string, target?: Target): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: target?.port ?? PORT, path: `/api/v1${path}`, method: 'POST', agent, headers: { ...(target?.auth ?? auth), 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Follows an execution's SSE stream until the server closes it; returns the final status. */
function awaitFinal(id: string, target?: Target): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: target?.port ?? PORT, path: `/api/v1/events/executions/${id}`, agent, headers: { ...(target?.auth ?? auth), accept: 'text/event-stream' } }, (res) => {
      let buf = '';
      let final: string | null = null;
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (!data) continue;
          const f = JSON.parse(data.slice(6)) as { event_type: string; status: string };
          if (f.event_type === 'result_stored') final = f.status;
        }
      });
      res.on('end', () => resolve(final));
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error('stream timed out')));
    req.on('error', reject);
  });
}

async function runOnce(script: string, lang: string, version: string, target?: Target): Promise<{ ms: number; ok: boolean }> {
  const t0 = performance.now();
  const res = await post('/execute', JSON.stringify({ script, lang, lang_version: version }), target);
  if (res.status !== 200) return { ms: performance.now() - t0, ok: false };
  const { execution_id } = JSON.parse(res.text) as { execution_id: string };
  const final = await awaitFinal(execution_id, target);
  return { ms: performance.now() - t0, ok: final === 'completed' };
}

/** CPU seconds of a process itself and of its reaped children (the sandboxes), from /proc. */
function cpuOf(pid: number): { self: number; children: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const tick = 100;
  return { self: (Number(fields[11]) + Number(fields[12])) / tick, children: (Number(fields[13]) + Number(fields[14])) / tick };
}

function rssOf(pid: number): { rssMb: number; hwmMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(status.match(new RegExp(`${k}:\\s+(\\d+)`))?.[1] ?? 0);
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

/** The fewest namespaces-and-mounts bwrap call: what the machine can launch at best, for comparison. */
const PLAIN_BWRAP = ['/usr/bin/bwrap', '--unshare-all', '--die-with-parent', '--ro-bind', '/usr', '/usr', '--symlink', 'usr/lib', '/lib',
  '--symlink', 'usr/lib64', '/lib64', '--symlink', 'usr/bin', '/bin', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--'];

/** Runs a command 400 times from 4 parallel shell loops (cheaper than spawning from node); returns runs per second. */
async function launchRate(argv: string[], loops = 4, perLoop = 100): Promise<number> {
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const loop = `for i in $(seq ${perLoop}); do ${quoted} >/dev/null || exit 1; done`;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: loops }, () => new Promise<void>((resolve, reject) => {
      spawn('/bin/bash', ['-c', loop], { stdio: 'ignore' }).on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`launch loop exited ${code}`))));
    })),
  );
  return (loops * perLoop) / ((performance.now() - t0) / 1000);
}

async function main(): Promise<void> {
  if (process.env['BENCH_ONLY'] !== 'telemetry') await mainParts();
  await telemetryOverhead();
}

async function mainParts(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'integr8s-bench-'));
  const server = spawn(process.execPath, ['--import', 'tsx', 'system/main.ts'], {
    env: { ...embeddedEnv(), PORT: String(PORT), DATA_DIR: dataDir, LOG_LEVEL: 'warn', ADMIN_USERNAME: TEST_ADMIN.username, ADMIN_PASSWORD: TEST_ADMIN.password, ...(process.env['BENCH_MAX_CONCURRENT'] ? { MAX_CONCURRENT_EXECUTIONS: process.env['BENCH_MAX_CONCURRENT'] } : {}) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    for (let i = 0; ; i++) {
      if (await fetch(`${base}/health/live`).then((r) => r.ok, () => false)) break;
      if (i > 300) throw new Error('server did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const session = await login(base, TEST_ADMIN.username, TEST_ADMIN.password);
    await bypassRateLimits(base, session, session.userId);
    auth = session.headers();
    const limits = (await (await fetch(`${base}/k8s-limits`)).json()) as { supported_runtimes: Record<string, { versions: string[] }> };
    const version = (lang: string) => limits.supported_runtimes[lang]!.versions[0]!;

    console.log('## hello world, POST /execute → terminal SSE frame (sequential)');
    const langs = (process.env['BENCH_LANGS'] ?? Object.keys(HELLO).join(',')).split(',');
    for (const lang of langs) {
      if (!limits.supported_runtimes[lang] || !HELLO[lang]) continue;
      for (let i = 0; i < 3; i++) await runOnce(HELLO[lang]!, lang, version(lang));
      const times: number[] = [];
      let errors = 0;
      for (let i = 0; i < RUNS[lang]!; i++) {
        const r = await runOnce(HELLO[lang]!, lang, version(lang));
        times.push(r.ms);
        if (!r.ok) errors++;
      }
      console.log(`${lang.padEnd(11)} n=${String(times.length).padEnd(4)} p50 ${ms(pct(times, 50)).padEnd(10)} p99 ${ms(pct(times, 99)).padEnd(10)} errors ${errors}`);
    }

    console.log('\n## live output: python print → execution_output frame at an SSE client');
    const { measureLiveOutput } = await import('./live-output.js');
    const live = await measureLiveOutput({ base, auth, pythonVersion: version('python') });
    const { flood } = live;
    console.log(`print → frame  n=${live.printToFrameMs.length} p50 ${ms(pct(live.printToFrameMs, 50))} p99 ${ms(pct(live.printToFrameMs, 99))}`);
    console.log(
      `flood (print as fast as it can, cap ${process.env['SANDBOX_OUTPUT_KB'] ?? 1024} KB): ${flood.frames} frames, ${(flood.bytes / 1024).toFixed(0)} KB in ${flood.seconds.toFixed(2)} s = ${(flood.frames / flood.seconds).toFixed(0)} frames/s${flood.truncated ? ' (cut at the cap)' : ''}; /health/live meanwhile p50 ${ms(pct(live.healthMs, 50))} p99 ${ms(pct(live.healthMs, 99))}`,
    );

    const clients = Number(process.env['BENCH_CLIENTS'] ?? 32);
    const seconds = Number(process.env['BENCH_SECONDS'] ?? 20);
    console.log(`\n## throughput: ${clients} concurrent clients running print(1) for ${seconds} s`);
    const until = performance.now() + seconds * 1000;
    let done = 0;
    let errors = 0;
    let peakRss = 0;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssOf(server.pid!).rssMb)), 200);
    const t0 = performance.now();
    const cpu0 = cpuOf(server.pid!);
    const client0 = process.cpuUsage();
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (performance.now() < until) {
          const r = await runOnce('print(1)', 'python', version('python'));
          if (r.ok) done++;
          else errors++;
        }
      }),
    );
    clearInterval(sampler);
    const elapsed = (performance.now() - t0) / 1000;
    const mem = rssOf(server.pid!);
    const cpu1 = cpuOf(server.pid!);
    const client = process.cpuUsage(client0);
    const per = (s: number) => `${((s * 1000) / Math.max(1, done)).toFixed(1)} ms`;
    console.log(`executions/s ${(done / elapsed).toFixed(1)}  completed ${done}  errors ${errors}  server RSS peak ${peakRss.toFixed(0)} MB (VmHWM ${mem.hwmMb.toFixed(0)} MB)`);
    console.log(
      `CPU per execution: server ${per(cpu1.self - cpu0.self)}, sandboxes ${per(cpu1.children - cpu0.children)}, bench client ${per((client.user + client.system) / 1e6)}`,
    );
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    await rm(dataDir, { recursive: true, force: true });
  }

  console.log('\n## machine ceiling: python hello world started back to back by 4 parallel loops, no server');
  const bareRate = await launchRate(['/usr/bin/python3', '-c', 'print(1)']);
  const bwrapRate = await launchRate([...PLAIN_BWRAP, '/usr/bin/python3', '-c', 'print(1)']);
  console.log(`bare python3 ${bareRate.toFixed(0)} runs/s; python3 in a plain bwrap (no cgroups, no seccomp) ${bwrapRate.toFixed(0)} runs/s`);

  console.log('\n## sandbox overhead: the same program bare vs in the sandbox');
  const { measureSandboxOverhead } = await import('./sandbox-overhead.js');
  const { createBwrapSandbox } = await import('../bridges/sandbox/bwrap.js');
  const work = await mkdtemp(join(tmpdir(), 'integr8s-bench-sbx-'));
  const sandbox = await createBwrapSandbox({ workDir: work });
  try {
    const o = await measureSandboxOverhead(sandbox, 40);
    console.log(JSON.stringify(o, null, 2));
  } finally {
    await sandbox.close();
    await rm(work, { recursive: true, force: true });
  }
}

/** A node process of its own on `port`, signed in as the admin. */
async function startServer(port: number, env: Record<string, string>): Promise<{ target: Target; pid: number; stop(): Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'integr8s-bench-'));
  const server = spawn(process.execPath, ['--import', 'tsx', 'system/main.ts'], {
    env: { ...embeddedEnv(), PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'warn', ADMIN_USERNAME: TEST_ADMIN.username, ADMIN_PASSWORD: TEST_ADMIN.password, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const stop = async () => {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    await rm(dataDir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}/api/v1`;
  try {
    for (let i = 0; ; i++) {
      if (await fetch(`${url}/health/live`).then((r) => r.ok, () => false)) break;
      if (i > 300) throw new Error(`server on ${port} did not start`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const session = await login(url, TEST_ADMIN.username, TEST_ADMIN.password);
    await bypassRateLimits(url, session, session.userId);
    return { target: { port, auth: session.headers() }, pid: server.pid!, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Throughput with telemetry on and off in the same run: two servers, loaded in turns (the order swapped every
 * round) so background load hits both alike; the median round of each is compared.
 */
async function telemetryOverhead(): Promise<void> {
  const SCRAPE_MS = Number(process.env['BENCH_SCRAPE_MS'] ?? 5_000);
  const rounds = Math.max(1, Number(process.env['BENCH_TELEMETRY_ROUNDS'] ?? 3));
  const seconds = Number(process.env['BENCH_TELEMETRY_SECONDS'] ?? 10);
  const clients = Number(process.env['BENCH_CLIENTS'] ?? 32);
  const sink = await startOtlpSink();
  // On: the defaults (tracing at the default sampling ratio, 0.1; metrics pushed every 15 s) with traces and metrics
  // going to the sink, and /metrics scraped every SCRAPE_MS. Off: no tracing SDK, no exporter, no scrape.
  // BENCH_TELEMETRY_ON=tracing keeps only the tracing SDK on (no exporter, no scrape), to see which part costs what.
  const tracingOnly = process.env['BENCH_TELEMETRY_ON'] === 'tracing';
  const on = await startServer(PORT + 1, tracingOnly ? {} : { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url });
  const off = await startServer(PORT + 2, { OTEL_SDK_DISABLED: 'true' });
  const modes = { 'telemetry on ': on, 'telemetry off': off } as const;
  const figures: Record<string, Array<{ rate: number; cpuMs: number }>> = { 'telemetry on ': [], 'telemetry off': [] };
  console.log(`\n## telemetry overhead: ${clients} clients running print(1), ${rounds} rounds of ${seconds} s per server, in turns`);
  try {
    const version = async (t: Target) =>
      ((await (await fetch(`http://127.0.0.1:${t.port}/api/v1/k8s-limits`)).json()) as { supported_runtimes: Record<string, { versions: string[] }> }).supported_runtimes['python']!.versions[0]!;
    for (const server of [on, off]) for (let i = 0; i < 5; i++) await runOnce('print(1)', 'python', await version(server.target), server.target);
    for (let round = 0; round < rounds; round++) {
      const order = Object.entries(modes);
      if (round % 2 === 1) order.reverse();
      for (const [name, server] of order) {
        const v = await version(server.target);
        const scrape = server === on && !tracingOnly ? setInterval(() => void fetch(`http://127.0.0.1:${server.target.port}/metrics`).then((r) => r.text(), () => ''), SCRAPE_MS) : undefined;
        const until = performance.now() + seconds * 1000;
        let done = 0;
        const cpu0 = cpuOf(server.pid);
        const t0 = performance.now();
        await Promise.all(
          Array.from({ length: clients }, async () => {
            while (performance.now() < until) if ((await runOnce('print(1)', 'python', v, server.target)).ok) done++;
          }),
        );
        clearInterval(scrape);
        const cpu = cpuOf(server.pid).self - cpu0.self;
        figures[name]!.push({ rate: done / ((performance.now() - t0) / 1000), cpuMs: (cpu * 1000) / Math.max(1, done) });
      }
    }
  } finally {
    await Promise.all([on.stop(), off.stop()]);
    await sink.close();
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const summary = Object.fromEntries(
    Object.entries(figures).map(([name, runs]) => [name, { rate: med(runs.map((r) => r.rate)), cpuMs: med(runs.map((r) => r.cpuMs)), spread: runs.map((r) => r.rate.toFixed(1)).join(' / ') }]),
  );
  for (const [name, f] of Object.entries(summary)) {
    console.log(`${name}  executions/s ${f.rate.toFixed(1).padStart(6)}   server CPU per execution ${f.cpuMs.toFixed(2)} ms   (rounds ${f.spread})`);
  }
  const onF = summary['telemetry on ']!;
  const offF = summary['telemetry off']!;
  const cost = (1 - onF.rate / offF.rate) * 100;
  console.log(`throughput cost of telemetry ${cost.toFixed(1)} %   target ≤ 10 %  ${cost <= 10 ? 'met' : 'MISSED'}`);
  console.log(`server CPU per execution +${((onF.cpuMs / offF.cpuMs - 1) * 100).toFixed(1)} %; OTLP sink got ${JSON.stringify(sink.received)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
