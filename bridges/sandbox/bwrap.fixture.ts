/** Shared set-up of the bwrap real-run tests: one work dir (the Go cache survives between runs) and a run helper. */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveLimits, type Limits } from '../../system/domain/limits.js';
import type { Language } from '../../system/domain/runtimes.js';
import type { OutputChunk, Sandbox, SandboxHandle, SandboxOutcome } from '../../system/ports/sandbox.js';
import { createBwrapSandbox, type BwrapSandboxOptions } from './bwrap.js';

/** Work dir of the tests, kept between test runs so the Go standard library is compiled once per machine. */
export const TEST_WORK_DIR = join(tmpdir(), 'integr8s-sandbox-test');
/** cgroup root of the tests (apart from a running node's). */
export const TEST_CGROUP_ROOT = 'integr8s-test';

/** A bwrap backend for tests. */
export function testSandbox(opts: Partial<BwrapSandboxOptions> = {}): Promise<Sandbox> {
  return createBwrapSandbox({ workDir: TEST_WORK_DIR, cgroupRoot: TEST_CGROUP_ROOT, goWarmup: 'lazy', ...opts });
}

/** Small limits that keep bombs short. */
export const SMALL_LIMITS: Partial<Limits> = { wallMs: 3000, cpuMs: 2000, memoryBytes: 128 * 1024 * 1024, pids: 32 };

/** Starts a script in the installed version of `lang`. */
export async function startScript(sb: Sandbox, lang: Language, script: string, limits: Partial<Limits> = {}): Promise<SandboxHandle> {
  const runtime = sb.runtimes.find(lang);
  if (!runtime) throw new Error(`${lang} is not installed; installed: ${sb.runtimes.list().map((r) => r.lang).join(', ')}`);
  return sb.start({ executionId: `test-${lang}`, lang, langVersion: runtime.versions[0]!, script, limits: resolveLimits(limits) });
}

/** Runs a script to its end and returns the outcome plus the live chunks seen and how long it took. */
export async function runScript(
  sb: Sandbox,
  lang: Language,
  script: string,
  limits: Partial<Limits> = {},
): Promise<SandboxOutcome & { chunks: OutputChunk[]; elapsedMs: number; handle: SandboxHandle }> {
  const t0 = performance.now();
  const handle = await startScript(sb, lang, script, limits);
  const chunks: OutputChunk[] = [];
  const outcome = await sb.watch(handle, (c) => chunks.push(c));
  return { ...outcome, chunks, elapsedMs: performance.now() - t0, handle };
}
