/**
 * What the local sandbox costs: python hello world run bare (spawned directly) versus through the Sandbox port
 * (start + watch, end to end), interleaved so both see the same machine load. Run: `npx tsx bench/sandbox-overhead.ts [runs]`.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createBwrapSandbox } from '../bridges/sandbox/bwrap.js';
import { resolveLimits } from '../system/domain/limits.js';
import type { Sandbox } from '../system/ports/sandbox.js';

const HELLO = 'print("Hello, World!")\n';
const PYTHON = '/usr/bin/python3';

/** Mean and median of a series of durations, in ms. */
export interface Timing {
  meanMs: number;
  p50Ms: number;
}

/** Bare and sandboxed python hello world, and the difference (the sandbox's overhead). */
export interface SandboxOverhead {
  runs: number;
  bare: Timing;
  sandboxed: Timing;
  overheadMeanMs: number;
  overheadP50Ms: number;
}

function timing(xs: number[]): Timing {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const p50 = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { meanMs: round(xs.reduce((a, b) => a + b, 0) / xs.length), p50Ms: round(p50) };
}

const round = (n: number): number => Math.round(n * 100) / 100;

/** Runs python3 on a file directly, the way the sandbox would if it did nothing; resolves with the elapsed ms. */
function runBare(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(PYTHON, [file], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0 || out !== 'Hello, World!\n') reject(new Error(`bare python failed: ${code} ${out}`));
      else resolve(performance.now() - t0);
    });
  });
}

/** One end-to-end sandboxed run through the port; resolves with the elapsed ms. */
async function runSandboxed(sandbox: Sandbox, version: string): Promise<number> {
  const t0 = performance.now();
  const handle = await sandbox.start({ executionId: 'bench', lang: 'python', langVersion: version, script: HELLO, limits: resolveLimits() });
  const o = await sandbox.watch(handle);
  const elapsed = performance.now() - t0;
  if (o.exitCode !== 0 || o.stdout !== 'Hello, World!\n') throw new Error(`sandboxed python failed: ${JSON.stringify(o)}`);
  return elapsed;
}

/** Measures bare versus sandboxed python hello world over `runs` interleaved pairs (after 3 warm-up pairs). */
export async function measureSandboxOverhead(sandbox: Sandbox, runs = 30): Promise<SandboxOverhead> {
  const version = sandbox.runtimes.find('python')?.versions[0];
  if (!version) throw new Error('python is not installed in this sandbox');
  const dir = await mkdtemp(join(tmpdir(), 'integr8s-bench-'));
  try {
    const file = join(dir, 'main.py');
    await writeFile(file, HELLO);
    const bare: number[] = [];
    const boxed: number[] = [];
    for (let i = 0; i < runs + 3; i++) {
      const b = await runBare(file);
      const s = await runSandboxed(sandbox, version);
      if (i >= 3) {
        bare.push(b);
        boxed.push(s);
      }
    }
    const t = { bare: timing(bare), sandboxed: timing(boxed) };
    return {
      runs,
      ...t,
      overheadMeanMs: round(t.sandboxed.meanMs - t.bare.meanMs),
      overheadP50Ms: round(t.sandboxed.p50Ms - t.bare.p50Ms),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const runs = Number(process.argv[2] ?? 30);
  const sandbox = await createBwrapSandbox({ workDir: join(tmpdir(), 'integr8s-bench-sandbox'), cgroupRoot: 'integr8s-bench', goWarmup: 'lazy' });
  try {
    const r = await measureSandboxOverhead(sandbox, runs);
    console.log(`python hello world, ${r.runs} runs each (ms)`);
    console.log(`  bare       mean ${r.bare.meanMs.toFixed(2)}  p50 ${r.bare.p50Ms.toFixed(2)}`);
    console.log(`  sandboxed  mean ${r.sandboxed.meanMs.toFixed(2)}  p50 ${r.sandboxed.p50Ms.toFixed(2)}`);
    console.log(`  overhead   mean ${r.overheadMeanMs.toFixed(2)}  p50 ${r.overheadP50Ms.toFixed(2)}`);
  } finally {
    await sandbox.close();
  }
}
