/**
 * The languages the local sandbox can run, as declarative entries, and the probe that keeps only those really
 * installed on this machine.
 *
 * Versions: every runtime backed by a binary reports the binary's major.minor (python "3.11", node "20.20",
 * ruby "3.1", go "1.26", bash "5.2"), read from the binary itself at startup. TypeScript has no binary here
 * (esbuild transpiles, node runs): it reports the TypeScript language level esbuild parses, "5".
 */
import { realpathSync } from 'node:fs';
import { access, constants } from 'node:fs/promises';
import type { Language, RuntimeCatalogue, RuntimeInfo } from '../../system/domain/runtimes.js';
import { GO_RUN_SCRIPT } from './go-stdlib.js';
import { runHost } from './process.js';
import { TYPESCRIPT_LANGUAGE_LEVEL, transpileTypeScript } from './typescript.js';

/** How to detect and run one language. */
export interface RuntimeSpec {
  lang: Language;
  /** Extension the API reports (file_ext). */
  fileExt: string;
  /** The script's name inside the sandbox's working directory (after any host-side step). */
  fileName: string;
  /** Host binaries to try in order; the first that exists and answers the version probe is used. */
  binaries: readonly string[];
  /** Arguments that make the binary print its version, and where major and minor are in the output. */
  versionArgs: readonly string[];
  versionPattern: RegExp;
  /** Reported instead of the binary's version (the language level of a transpiled language). */
  fixedVersion?: string;
  /** argv inside the sandbox for a resolved binary. */
  command: (binary: string) => string[];
  /** Extra environment inside the sandbox. */
  env?: Readonly<Record<string, string>>;
  /** A step on the host before the run: transpile TypeScript, or have the Go standard library cache ready. */
  hostStep?: 'typescript' | 'go';
}

const NODE_BINARIES = ['/usr/bin/node', '/usr/local/bin/node'];

/** The six runtimes, in the order the API lists them. */
export const RUNTIME_SPECS: readonly RuntimeSpec[] = [
  {
    lang: 'python',
    fileExt: 'py',
    fileName: 'main.py',
    binaries: ['/usr/bin/python3'],
    versionArgs: ['--version'],
    versionPattern: /^Python (\d+)\.(\d+)/,
    command: (bin) => [bin, 'main.py'],
    // output reaches live streams as it is printed, as on a terminal (a pipe would otherwise buffer 8 KB)
    env: { PYTHONUNBUFFERED: '1' },
  },
  {
    lang: 'node',
    fileExt: 'js',
    fileName: 'main.js',
    binaries: NODE_BINARIES,
    versionArgs: ['--version'],
    versionPattern: /^v(\d+)\.(\d+)/,
    command: (bin) => [bin, 'main.js'],
  },
  {
    lang: 'typescript',
    fileExt: 'ts',
    fileName: 'main.mjs',
    binaries: NODE_BINARIES,
    versionArgs: ['--version'],
    versionPattern: /^v(\d+)\.(\d+)/,
    fixedVersion: TYPESCRIPT_LANGUAGE_LEVEL,
    command: (bin) => [bin, '--enable-source-maps', 'main.mjs'],
    hostStep: 'typescript',
  },
  {
    lang: 'ruby',
    fileExt: 'rb',
    fileName: 'main.rb',
    binaries: ['/usr/bin/ruby'],
    versionArgs: ['--version'],
    versionPattern: /^ruby (\d+)\.(\d+)/,
    // without rubygems start-up is ~13 ms instead of ~90 ms; the standard library (json, set, ...) still loads
    command: (bin) => [bin, '--disable-gems', 'main.rb'],
  },
  {
    lang: 'go',
    fileExt: 'go',
    fileName: 'main.go',
    binaries: ['/usr/local/go/bin/go', '/usr/lib/go/bin/go', '/usr/bin/go'],
    versionArgs: ['env', 'GOVERSION'],
    versionPattern: /^go(\d+)\.(\d+)/,
    command: () => ['/bin/sh', '-c', GO_RUN_SCRIPT],
    hostStep: 'go',
  },
  {
    lang: 'bash',
    fileExt: 'sh',
    fileName: 'main.sh',
    binaries: ['/bin/bash', '/usr/bin/bash'],
    versionArgs: ['--version'],
    versionPattern: /version (\d+)\.(\d+)/,
    command: (bin) => [bin, 'main.sh'],
  },
];

/** A runtime found on this machine. */
export interface InstalledRuntime {
  spec: RuntimeSpec;
  /** The host binary (for go: the go command; runs use its toolchain directory). */
  binary: string;
  version: string;
}

/** The catalogue of installed runtimes the backend reports (one version per language). */
export class InstalledRuntimes implements RuntimeCatalogue {
  constructor(private readonly installed: readonly InstalledRuntime[]) {}

  /** Every installed language with its version and file extension. */
  list(): RuntimeInfo[] {
    return this.installed.map((r) => ({ lang: r.spec.lang, versions: [r.version], fileExt: r.spec.fileExt }));
  }

  /** One language's entry, if installed. */
  find(lang: string): RuntimeInfo | undefined {
    return this.list().find((r) => r.lang === lang);
  }

  /** The runtime to use for a language and version, if installed. */
  resolve(lang: string, version: string): InstalledRuntime | undefined {
    return this.installed.find((r) => r.spec.lang === lang && r.version === version);
  }
}

/** major.minor from a version probe's output, or null when it does not match. */
export function parseVersion(output: string, pattern: RegExp): string | null {
  const m = pattern.exec(output.trim());
  return m ? `${m[1]}.${m[2]}` : null;
}

/** Finds the first working binary of one spec and its version; null when none is installed or usable. */
export async function probeRuntime(spec: RuntimeSpec): Promise<InstalledRuntime | null> {
  for (const binary of spec.binaries) {
    try {
      await access(binary, constants.X_OK);
    } catch {
      continue;
    }
    // only /usr is visible inside the sandbox; go's toolchain is bound separately
    if (spec.hostStep !== 'go' && !realpathSync(binary).startsWith('/usr/')) continue;
    const r = await runHost(binary, spec.versionArgs, { env: { PATH: '/usr/bin:/bin', GOTOOLCHAIN: 'local' } });
    const version = r.code === 0 ? parseVersion(r.stdout || r.stderr, spec.versionPattern) : null;
    if (!version) continue;
    if (spec.hostStep === 'typescript' && !(await transpileTypeScript('const ok: boolean = true;')).ok) continue;
    return { spec, binary, version: spec.fixedVersion ?? version };
  }
  return null;
}

/** Probes every spec (in parallel) and keeps those installed, in spec order. */
export async function probeRuntimes(specs: readonly RuntimeSpec[] = RUNTIME_SPECS): Promise<InstalledRuntimes> {
  const found = await Promise.all(specs.map((spec) => probeRuntime(spec).catch(() => null)));
  return new InstalledRuntimes(found.filter((r): r is InstalledRuntime => r !== null));
}
