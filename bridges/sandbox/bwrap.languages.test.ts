/** Real runs: every language, exit codes, stderr, compile errors. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LANGUAGES, type Language } from '../../system/domain/runtimes.js';
import type { Sandbox } from '../../system/ports/sandbox.js';
import { runScript, testSandbox } from './bwrap.fixture.js';

const HELLO: Record<Language, string> = {
  python: 'print("Hello, World!")\n',
  node: 'console.log("Hello, World!");\n',
  typescript: 'const greeting: string = "Hello, World!";\nconsole.log(greeting);\n',
  ruby: 'puts "Hello, World!"\n',
  go: 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("Hello, World!")\n}\n',
  bash: 'echo "Hello, World!"\n',
};

let sb: Sandbox;

beforeAll(async () => {
  sb = await testSandbox({ goWarmup: 'eager' });
  // the first Go run waits for the standard library cache (about a minute on a fresh machine)
  await runScript(sb, 'go', HELLO.go);
}, 600_000);
afterAll(async () => {
  await sb.close();
});

describe('bwrap runtimes', () => {
  it('finds all six runtimes on this machine with major.minor versions (TypeScript: language level 5)', () => {
    const list = sb.runtimes.list();
    expect(list.map((r) => r.lang)).toEqual([...LANGUAGES]);
    const ext = Object.fromEntries(list.map((r) => [r.lang, r.fileExt]));
    expect(ext).toEqual({ python: 'py', node: 'js', typescript: 'ts', ruby: 'rb', go: 'go', bash: 'sh' });
    for (const r of list) {
      expect(r.versions, r.lang).toHaveLength(1);
      expect(r.versions[0], r.lang).toMatch(r.lang === 'typescript' ? /^5$/ : /^\d+\.\d+$/);
    }
    expect(sb.runtimes.find('python')!.versions).toEqual(['3.11']);
  });

  for (const lang of LANGUAGES) {
    it(`says hello in ${lang}`, async () => {
      const o = await runScript(sb, lang, HELLO[lang]);
      expect(o.stderr).toBe('');
      expect(o.stdout).toBe('Hello, World!\n');
      expect(o.exitCode).toBe(0);
      expect(o.signal).toBeNull();
      expect(o.limit).toBeNull();
      expect(o.stopped).toBe(false);
      expect(o.chunks.map((c) => c.text).join('')).toBe('Hello, World!\n');
    });
  }

  it('keeps Go hello world well under a second once the library cache is warm', async () => {
    const o = await runScript(sb, 'go', HELLO.go);
    expect(o.stdout).toBe('Hello, World!\n');
    expect(o.elapsedMs).toBeLessThan(1000);
  });
});

describe('bwrap exit codes and stderr', () => {
  const cases: Array<[Language, string]> = [
    ['python', 'import sys\nprint("out")\nprint("err", file=sys.stderr)\nsys.exit(3)\n'],
    ['node', 'console.log("out"); console.error("err"); process.exit(3);\n'],
    ['typescript', 'console.log("out"); console.error("err"); process.exit(3 as number);\n'],
    ['ruby', 'puts "out"\n$stderr.puts "err"\nexit 3\n'],
    ['go', 'package main\n\nimport (\n\t"fmt"\n\t"os"\n)\n\nfunc main() {\n\tfmt.Println("out")\n\tfmt.Fprintln(os.Stderr, "err")\n\tos.Exit(3)\n}\n'],
    ['bash', 'echo out\necho err >&2\nexit 3\n'],
  ];
  for (const [lang, script] of cases) {
    it(`reports exit code 3, stdout and stderr apart in ${lang}`, async () => {
      const o = await runScript(sb, lang, script);
      expect(o.exitCode).toBe(3);
      expect(o.stdout).toBe('out\n');
      expect(o.stderr).toBe('err\n');
      expect(o.signal).toBeNull();
      expect(o.limit).toBeNull();
    });
  }

  it('reports an uncaught Python exception on stderr with exit code 1', async () => {
    const o = await runScript(sb, 'python', 'x = 1\nraise ValueError("bad value")\n');
    expect(o.exitCode).toBe(1);
    expect(o.stderr).toContain('line 2');
    expect(o.stderr).toContain('ValueError: bad value');
  });

  it('reports a program killed by a signal as 128 + n with the signal name', async () => {
    const o = await runScript(sb, 'bash', 'kill -SEGV $$\n');
    expect(o.exitCode).toBe(139);
    expect(o.signal).toBe('SIGSEGV');
    expect(o.limit).toBeNull();
  });
});

describe('bwrap compile errors', () => {
  it('reports TypeScript syntax errors like a compiler, without running anything', async () => {
    const o = await runScript(sb, 'typescript', 'const a: number = 1;\nconsole.log("never");\nlet b: string = ;\n');
    expect(o.exitCode).toBe(1);
    expect(o.stdout).toBe('');
    expect(o.stderr).toMatch(/^main\.ts:3:17: error: Unexpected ";"\n$/);
    expect(o.usage.cpu_time_jiffies).toBe(0);
  });

  it('maps TypeScript runtime errors back to main.ts lines', async () => {
    const o = await runScript(sb, 'typescript', 'type T = { a: number };\nconst t: T = { a: 1 };\n\nthrow new Error("boom " + t.a);\n');
    expect(o.exitCode).toBe(1);
    expect(o.stderr).toContain('Error: boom 1');
    expect(o.stderr).toMatch(/main\.ts:4/);
  });

  it('lets TypeScript use both import and require, and top-level await', async () => {
    const script = 'import * as os from "node:os";\nconst path = require("node:path");\nawait Promise.resolve();\nconsole.log(typeof os.cpus, path.join("a", "b"));\n';
    const o = await runScript(sb, 'typescript', script);
    expect(o.stderr).toBe('');
    expect(o.stdout).toBe('function a/b\n');
  });

  it('reports Go compile errors with the compiler line numbers and a non-zero exit', async () => {
    const o = await runScript(sb, 'go', 'package main\n\nfunc main() {\n\tx := 1\n\tundefinedThing()\n}\n');
    expect(o.exitCode).not.toBe(0);
    expect(o.stdout).toBe('');
    expect(o.stderr).toContain('./main.go:4:2: declared and not used: x');
    expect(o.stderr).toContain('./main.go:5:2: undefined: undefinedThing');
  });

  it('lets Go programs import from across the standard library', async () => {
    const script = 'package main\n\nimport (\n\t"encoding/json"\n\t"fmt"\n\t"net/http"\n\t"sort"\n)\n\nfunc main() {\n\tb, _ := json.Marshal(map[string]int{"a": 1})\n\txs := []int{3, 1, 2}\n\tsort.Ints(xs)\n\tfmt.Println(string(b), xs, http.StatusOK)\n}\n';
    const o = await runScript(sb, 'go', script);
    expect(o.stderr).toBe('');
    expect(o.stdout).toBe('{"a":1} [1 2 3] 200\n');
  });

  it('lets Ruby load its standard library without rubygems', async () => {
    const o = await runScript(sb, 'ruby', 'require "json"\nrequire "set"\nputs JSON.generate({ "a" => Set[1].size })\n');
    expect(o.stderr).toBe('');
    expect(o.stdout).toBe('{"a":1}\n');
  });

  it('lets JavaScript use ES module syntax', async () => {
    const o = await runScript(sb, 'node', 'import { join } from "node:path";\nconsole.log(join("a", "b"));\n');
    expect(o.stderr).toBe('');
    expect(o.stdout).toBe('a/b\n');
  });
});
