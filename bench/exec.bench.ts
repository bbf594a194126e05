/**
 * npm run bench:exec — embedded mode, end to end over HTTP: POST /execute until the terminal SSE frame.
 * Prints hello-world latency per language, live output latency and rate, sustained throughput with concurrent
 * clients and the server's RSS, and the sandbox's own overhead. Figures are printed, not asserted.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { bypassRateLimits, login, TEST_ADMIN } from '../test/support/session.js';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { embeddedEnv } from '../test/support/infra.js';

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

/** POST /execute with a lean keep-alive client (the bench shares the machine's two cores with the server). */
function post(path: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: PORT, path: `/api/v1${path}`, method: 'POST', agent, headers: { ...auth, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
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
function awaitFinal(id: string): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: PORT, path: `/api/v1/events/executions/${id}`, agent, headers: { ...auth, accept: 'text/event-stream' } }, (res) => {
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

async function runOnce(script: string, lang: string, version: string): Promise<{ ms: number; ok: boolean }> {
  const t0 = performance.now();
  const res = await post('/execute', JSON.stringify({ script, lang, lang_version: version }));
  if (res.status !== 200) return { ms: performance.now() - t0, ok: false };
  const { execution_id } = JSON.parse(res.text) as { execution_id: string };
  const final = await awaitFinal(execution_id);
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

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
