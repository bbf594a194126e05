import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LANGUAGES } from '../../system/domain/runtimes.js';
import { checkRuntime } from '../../system/domain/runtimes.js';
import { withTempDir } from '../../test/support/temp-dir.js';
import { GO_STD_SANDBOX_DIR, sandboxImportcfg } from './go-stdlib.js';
import { InstalledRuntimes, RUNTIME_SPECS, parseVersion, probeRuntime, probeRuntimes, type RuntimeSpec } from './runtimes.js';
import { formatDiagnostics, transpileTypeScript } from './typescript.js';

const python = RUNTIME_SPECS.find((s) => s.lang === 'python')!;

describe('RUNTIME_SPECS', () => {
  it('has one declarative entry per API language, in API order', () => {
    expect(RUNTIME_SPECS.map((s) => s.lang)).toEqual([...LANGUAGES]);
    for (const s of RUNTIME_SPECS) {
      expect(s.binaries.length, s.lang).toBeGreaterThan(0);
      expect(s.fileName, s.lang).toMatch(/^main\.[a-z]+$/);
      const argv = s.command('/usr/bin/x');
      expect(argv[0], s.lang).toMatch(/^\//);
    }
  });

  it('runs ruby without rubygems and typescript with source maps', () => {
    expect(RUNTIME_SPECS.find((s) => s.lang === 'ruby')!.command('/usr/bin/ruby')).toEqual(['/usr/bin/ruby', '--disable-gems', 'main.rb']);
    expect(RUNTIME_SPECS.find((s) => s.lang === 'typescript')!.command('/usr/bin/node')).toEqual(['/usr/bin/node', '--enable-source-maps', 'main.mjs']);
  });
});

describe('parseVersion', () => {
  const cases: Array<[string, string, string | null]> = [
    ['python', 'Python 3.11.2\n', '3.11'],
    ['node', 'v20.20.2\n', '20.20'],
    ['ruby', 'ruby 3.1.2p20 (2022-04-12 revision 4491bb740a) [x86_64-linux-gnu]\n', '3.1'],
    ['go', 'go1.26.8\n', '1.26'],
    ['bash', 'GNU bash, version 5.2.15(1)-release (x86_64-pc-linux-gnu)\n', '5.2'],
    ['python', 'garbage', null],
  ];
  for (const [lang, output, expected] of cases) {
    it(`reads ${JSON.stringify(output.trim())} as ${expected}`, () => {
      expect(parseVersion(output, RUNTIME_SPECS.find((s) => s.lang === lang)!.versionPattern)).toBe(expected);
    });
  }
});

describe('probeRuntime', () => {
  it('finds the real python3 and its major.minor', async () => {
    const r = await probeRuntime(python);
    expect(r?.binary).toBe('/usr/bin/python3');
    expect(r?.version).toMatch(/^3\.\d+$/);
  });

  it('reports the TypeScript language level, not the node version', async () => {
    const r = await probeRuntime(RUNTIME_SPECS.find((s) => s.lang === 'typescript')!);
    expect(r?.version).toBe('5');
  });

  it('skips binaries that are missing, outside /usr, or do not answer the version probe', async () => {
    expect(await probeRuntime({ ...python, binaries: ['/nonexistent/python3'] })).toBeNull();
    await withTempDir(async (dir) => {
      const fake = join(dir, 'python3');
      writeFileSync(fake, '#!/bin/sh\necho "Python 3.99.0"\n');
      chmodSync(fake, 0o755);
      expect(await probeRuntime({ ...python, binaries: [fake] })).toBeNull(); // not visible inside the sandbox
    });
    expect(await probeRuntime({ ...python, binaries: ['/bin/false'] })).toBeNull();
    expect(await probeRuntime({ ...python, binaries: ['/nonexistent/python3', '/usr/bin/python3'] })).not.toBeNull();
  });

  it('keeps only installed runtimes in the catalogue', async () => {
    const missing: RuntimeSpec = { ...python, lang: 'ruby', binaries: ['/nonexistent/ruby'] };
    const cat = await probeRuntimes([python, missing]);
    expect(cat.list().map((r) => r.lang)).toEqual(['python']);
    expect(cat.find('ruby')).toBeUndefined();
  });
});

describe('InstalledRuntimes', () => {
  const cat = new InstalledRuntimes([{ spec: python, binary: '/usr/bin/python3', version: '3.11' }]);

  it('lists, finds and resolves by language and version', () => {
    expect(cat.list()).toEqual([{ lang: 'python', versions: ['3.11'], fileExt: 'py' }]);
    expect(cat.find('python')).toEqual({ lang: 'python', versions: ['3.11'], fileExt: 'py' });
    expect(cat.resolve('python', '3.11')?.binary).toBe('/usr/bin/python3');
    expect(cat.resolve('python', '3.12')).toBeUndefined();
  });

  it('works with the domain check', () => {
    expect(checkRuntime(cat, 'python', '3.11').ok).toBe(true);
    expect(checkRuntime(cat, 'python', '2.7')).toMatchObject({ ok: false, field: 'lang_version' });
    expect(checkRuntime(cat, 'go', '1.26')).toMatchObject({ ok: false, field: 'lang' });
  });
});

describe('TypeScript transpile', () => {
  it('transpiles to an ES module that has require', async () => {
    const t = await transpileTypeScript('const n: number = 1;\nexport {};\nconsole.log(n);\n');
    expect(t.ok).toBe(true);
    if (t.ok) {
      expect(t.code).toContain('createRequire');
      expect(t.code).not.toContain(': number');
      expect(t.code).toContain('sourceMappingURL=data:');
    }
  });

  it('reports every syntax error as file:line:col: error: text', async () => {
    const t = await transpileTypeScript('let a = ;\nlet b = 1;\nfunction (\n');
    expect(t.ok).toBe(false);
    if (!t.ok) expect(t.diagnostics).toMatch(/^main\.ts:1:9: error: Unexpected ";"\n/);
  });

  it('formats diagnostics with 1-based columns', () => {
    const text = formatDiagnostics(
      [
        { id: '', pluginName: '', text: 'Expected ")"', location: { file: 'x', namespace: '', line: 4, column: 0, length: 1, lineText: '', suggestion: '' }, notes: [], detail: undefined },
        { id: '', pluginName: '', text: 'No location', location: null, notes: [], detail: undefined },
      ],
      'main.ts',
    );
    expect(text).toBe('main.ts:4:1: error: Expected ")"\nmain.ts: error: No location\n');
  });
});

describe('Go importcfg for the sandbox', () => {
  it('points every package at the cache as bound inside the sandbox', () => {
    const host = 'packagefile fmt=/data/go/cache/ab/abc-d\npackagefile os=/data/go/cache/cd/cde-d\nnot a packagefile line\n';
    expect(sandboxImportcfg(host, '/data/go/cache')).toBe(
      `packagefile fmt=${GO_STD_SANDBOX_DIR}/cache/ab/abc-d\npackagefile os=${GO_STD_SANDBOX_DIR}/cache/cd/cde-d\n`,
    );
  });
});
