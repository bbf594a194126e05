/**
 * The Sandbox contract: what every backend (local bwrap, Kubernetes pods) must do, run unchanged against each.
 * Scripts are written for the first installed of python, bash and node, so any backend with one of them passes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveLimits, type Limits } from '../../system/domain/limits.js';
import { LANGUAGES, type Language } from '../../system/domain/runtimes.js';
import { SandboxFault, type OutputChunk, type Sandbox, type SandboxHandle } from '../../system/ports/sandbox.js';
import { waitFor } from '../support/wait.js';

/** The programs the contract needs, in one language. */
interface Programs {
  hello: string;
  /** Prints "out" to stdout and "err" to stderr, exits 3. */
  exit3: string;
  /** Prints n times "x", no newline. */
  bytes: (n: number) => string;
  /** Prints "ready", then sleeps for ten minutes. */
  sleep: string;
  /** Copies standard input to standard output until end of input, then prints "end". */
  cat: string;
}

const PROGRAMS: Partial<Record<Language, Programs>> = {
  python: {
    hello: 'print("hello")\n',
    exit3: 'import sys\nprint("out")\nprint("err", file=sys.stderr)\nsys.exit(3)\n',
    bytes: (n) => `import sys\nsys.stdout.write("x" * ${n})\n`,
    sleep: 'import time\nprint("ready", flush=True)\ntime.sleep(600)\n',
    cat: 'import sys\nfor line in sys.stdin:\n    print(line, end="", flush=True)\nprint("end")\n',
  },
  bash: {
    hello: 'echo hello\n',
    exit3: 'echo out\necho err >&2\nexit 3\n',
    bytes: (n) => `head -c ${n} /dev/zero | tr '\\0' x\n`,
    sleep: 'echo ready\nsleep 600\n',
    cat: 'cat\necho end\n',
  },
  node: {
    hello: 'console.log("hello");\n',
    exit3: 'console.log("out"); console.error("err"); process.exitCode = 3;\n',
    bytes: (n) => `process.stdout.write("x".repeat(${n}));\n`,
    sleep: 'console.log("ready"); setTimeout(() => {}, 600_000);\n',
    cat: 'process.stdin.pipe(process.stdout, { end: false }); process.stdin.on("end", () => console.log("end"));\n',
  },
};

/** Registers the Sandbox contract tests for one backend; `make` gives a fresh backend, closed after the suite. */
export function sandboxContract(name: string, make: () => Promise<Sandbox>): void {
  describe(`Sandbox contract: ${name}`, () => {
    let sb: Sandbox;
    let lang: Language;
    let p: Programs;
    const started: SandboxHandle[] = [];

    beforeAll(async () => {
      sb = await make();
      const found = (['python', 'bash', 'node'] as const).find((l) => sb.runtimes.find(l));
      if (!found) throw new Error(`${name} offers none of python, bash, node`);
      lang = found;
      p = PROGRAMS[found]!;
    }, 120_000);
    afterAll(async () => {
      await Promise.all(started.map((h) => sb.stop(h).catch(() => {})));
      await sb.close();
    });

    const start = async (script: string, limits: Partial<Limits> = {}, input: { stdin?: string; keepStdinOpen?: boolean } = {}): Promise<SandboxHandle> => {
      const version = sb.runtimes.find(lang)!.versions[0]!;
      const handle = await sb.start({ executionId: `contract-${started.length}`, lang, langVersion: version, script, limits: resolveLimits(limits), ...input });
      started.push(handle);
      return handle;
    };

    it('reports its installed runtimes', async () => {
      const list = sb.runtimes.list();
      expect(list.length).toBeGreaterThan(0);
      for (const r of list) {
        expect(LANGUAGES).toContain(r.lang);
        expect(r.versions.length).toBeGreaterThan(0);
        expect(r.fileExt).toMatch(/^[a-z]+$/);
        expect(sb.runtimes.find(r.lang)).toEqual(r);
      }
      expect(sb.runtimes.find('cobol')).toBeUndefined();
      expect((await sb.ready()).ok).toBe(true);
    });

    it('returns a serialisable handle naming the backend and the execution', async () => {
      const before = Date.now();
      const handle = await start(p.hello);
      expect(handle.backend).toBe(sb.backend);
      expect(handle.id).toMatch(/\S/);
      expect(handle.executionId).toBe(`contract-${started.length - 1}`);
      expect(Date.parse(handle.startedAt)).toBeGreaterThanOrEqual(before - 1000);
      const copy = JSON.parse(JSON.stringify(handle)) as SandboxHandle;
      expect(copy).toEqual(handle);
      expect((await sb.watch(copy)).stdout).toBe('hello\n');
    });

    it('ends with a complete outcome', async () => {
      const o = await sb.watch(await start(p.hello));
      expect(Object.keys(o).sort()).toEqual(
        ['exitCode', 'limit', 'signal', 'stderr', 'stderrTruncated', 'stdout', 'stdoutTruncated', 'stopped', 'usage'].sort(),
      );
      expect(o).toMatchObject({ exitCode: 0, signal: null, stdout: 'hello\n', stderr: '', stdoutTruncated: false, stderrTruncated: false, limit: null, stopped: false });
      expect(Object.keys(o.usage).sort()).toEqual(['clk_tck_hertz', 'cpu_time_jiffies', 'execution_time_wall_seconds', 'peak_memory_kb']);
      expect(o.usage.clk_tck_hertz).toBe(100);
      expect(Number.isInteger(o.usage.cpu_time_jiffies) && o.usage.cpu_time_jiffies >= 0).toBe(true);
      expect(o.usage.execution_time_wall_seconds).toBeGreaterThanOrEqual(0);
      expect(o.usage.peak_memory_kb).toBeGreaterThanOrEqual(0);
    });

    it('keeps stdout and stderr apart and reports the exit code', async () => {
      const o = await sb.watch(await start(p.exit3));
      expect(o).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n', limit: null, stopped: false, signal: null });
    });

    it('streams output live, adding up to the outcome', async () => {
      const chunks: OutputChunk[] = [];
      const o = await sb.watch(await start(p.exit3), (c) => chunks.push(c));
      const text = (s: 'stdout' | 'stderr'): string => chunks.filter((c) => c.stream === s).map((c) => c.text).join('');
      expect(text('stdout')).toBe(o.stdout);
      expect(text('stderr')).toBe(o.stderr);
    });

    it('caps output at limits.outputBytes and flags it', async () => {
      const o = await sb.watch(await start(p.bytes(5000), { outputBytes: 1000 }));
      expect(o.stdout).toBe('x'.repeat(1000));
      expect(o.stdoutTruncated).toBe(true);
      expect(o.stderrTruncated).toBe(false);
      const exact = await sb.watch(await start(p.bytes(1000), { outputBytes: 1000 }));
      expect(exact.stdout).toBe('x'.repeat(1000));
      expect(exact.stdoutTruncated).toBe(false);
    });

    it('feeds stdin at start, then end of input; without stdin the program reads end of input at once', async () => {
      expect((await sb.watch(await start(p.cat, {}, { stdin: 'one\ntwo\n' }))).stdout).toBe('one\ntwo\nend\n');
      const none = await sb.watch(await start(p.cat, { wallMs: 5000 }));
      expect(none).toMatchObject({ stdout: 'end\n', stopped: false, limit: null });
    });

    it('writes to a running program kept open for input, in order, until eof', async () => {
      const handle = await start(p.cat, { wallMs: 10_000 }, { stdin: 'at start\n', keepStdinOpen: true });
      const chunks: OutputChunk[] = [];
      const outcome = sb.watch(handle, (c) => chunks.push(c));
      await waitFor(() => chunks.map((c) => c.text).join('').includes('at start\n'), { message: 'the submitted input echoed' });
      await sb.write(handle, 'typed ', false);
      await sb.write(handle, 'later\n', false);
      await waitFor(() => chunks.map((c) => c.text).join('').includes('typed later\n'), { message: 'the written input echoed while running' });
      await sb.write(handle, 'last\n', true);
      expect(await outcome).toMatchObject({ stdout: 'at start\ntyped later\nlast\nend\n', stopped: false, exitCode: 0 });
      await expect(sb.write(handle, 'after the end', true)).resolves.toBeUndefined();
    });

    it('gives every watcher the same outcome', async () => {
      const handle = await start(p.hello);
      const [a, b] = await Promise.all([sb.watch(handle), sb.watch(handle)]);
      expect(b).toEqual(a);
      expect(await sb.watch(handle)).toEqual(a);
    });

    it('keeps concurrent runs apart', async () => {
      const handles = await Promise.all([1000, 2000, 3000].map((n) => start(p.bytes(n))));
      const outcomes = await Promise.all(handles.map((h) => sb.watch(h)));
      expect(outcomes.map((o) => o.stdout.length)).toEqual([1000, 2000, 3000]);
      expect(new Set(handles.map((h) => h.id)).size).toBe(3);
    });

    it('stops a running program quickly, idempotently, and says it was stopped', async () => {
      const handle = await start(p.sleep, { wallMs: 600_000, cpuMs: 600_000 });
      let seen = '';
      const outcome = sb.watch(handle, (c) => (seen += c.text));
      await waitFor(() => seen.includes('ready'), { timeoutMs: 30_000, message: 'program ready' });
      expect(await sb.reattach(handle)).toEqual(handle);
      const t0 = Date.now();
      await sb.stop(handle);
      const o = await outcome;
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(o.stopped).toBe(true);
      expect(o.limit).toBeNull();
      expect(o.exitCode === 0 && o.signal === null).toBe(false);
      await expect(sb.stop(handle)).resolves.toBeUndefined();
      expect(await sb.watch(handle)).toEqual(o);
    });

    it('does not mark a run that ended on its own as stopped when stop() comes late', async () => {
      const handle = await start(p.hello);
      const o = await sb.watch(handle);
      await sb.stop(handle);
      expect(o.stopped).toBe(false);
      expect((await sb.watch(handle)).stopped).toBe(false);
    });

    it('ends a program at its wall limit when nobody stops it', async () => {
      const o = await sb.watch(await start(p.sleep, { wallMs: 1000 }));
      expect(o.limit).toBe('wall_time');
      expect(o.stopped).toBe(false);
      expect(o.stdout).toBe('ready\n');
    }, 30_000);

    it('re-attaches only to its own runs', async () => {
      const handle = await start(p.hello);
      expect(await sb.reattach(handle)).toEqual(handle);
      expect(await sb.reattach({ ...handle, id: 'no-such-run' })).toBeNull();
      expect(await sb.reattach({ ...handle, backend: `not-${sb.backend}` })).toBeNull();
      await sb.watch(handle);
    });

    it('rejects watching or writing to an unknown run with a SandboxFault', async () => {
      const handle: SandboxHandle = { backend: sb.backend, id: 'no-such-run', executionId: 'x', startedAt: new Date().toISOString() };
      await expect(sb.watch(handle)).rejects.toBeInstanceOf(SandboxFault);
      await expect(sb.write(handle, 'x', true)).rejects.toBeInstanceOf(SandboxFault);
      await expect(sb.stop(handle)).resolves.toBeUndefined();
    });
  });

  describe(`Sandbox contract: ${name} (close)`, () => {
    it('stops running programs on close and refuses new ones', async () => {
      const sb = await make();
      const lang = (['python', 'bash', 'node'] as const).find((l) => sb.runtimes.find(l))!;
      const spec = { executionId: 'contract-close', lang, langVersion: sb.runtimes.find(lang)!.versions[0]!, limits: resolveLimits({ wallMs: 600_000 }) };
      const handle = await sb.start({ ...spec, script: PROGRAMS[lang]!.sleep });
      const outcome = sb.watch(handle).catch((e: unknown) => e);
      await sb.close();
      const o = await outcome;
      expect(o instanceof SandboxFault || (o as { stopped: boolean }).stopped).toBe(true);
      await expect(sb.start({ ...spec, script: PROGRAMS[lang]!.hello })).rejects.toBeInstanceOf(SandboxFault);
      expect((await sb.ready()).ok).toBe(false);
    }, 60_000);
  });
}
