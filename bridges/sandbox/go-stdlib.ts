/**
 * A compiled Go standard library, built once on the host into a cache under the backend's work dir, so a run
 * compiles only the user's file: inside the sandbox `compile` and `link` are called directly with an importcfg
 * pointing at the read-only cache (no `go` command, no writable GOCACHE, hello world in ~0.2 s).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RoBind } from './bwrap-args.js';
import { runHost } from './process.js';

/** Where the cache is shown inside the sandbox. */
export const GO_STD_SANDBOX_DIR = '/opt/go-std';

/** Facts about the host's Go toolchain. */
export interface GoToolchain {
  goBin: string;
  goroot: string;
  tooldir: string;
  /** e.g. "go1.26.8". */
  version: string;
}

/** A ready standard-library cache: what to bind into the sandbox and the env the run script reads. */
export interface GoStdlib {
  binds: RoBind[];
  env: Record<string, string>;
}

/** Env for trusted host go commands: local toolchain only, no cgo, no user config, our own cache. */
function goEnv(cacheDir: string): NodeJS.ProcessEnv {
  return {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: cacheDir,
    XDG_CONFIG_HOME: join(cacheDir, 'config'),
    GOCACHE: join(cacheDir, 'cache'),
    GOPATH: join(cacheDir, 'gopath'),
    GOTOOLCHAIN: 'local',
    CGO_ENABLED: '0',
    GOFLAGS: '',
    GOENV: 'off',
    GOWORK: 'off',
    GO111MODULE: 'on',
  };
}

/** Asks `go env` where the toolchain lives (`dir` is where go may keep its own files); null when it does not answer. */
export async function probeGo(goBin: string, dir: string): Promise<GoToolchain | null> {
  await mkdir(dir, { recursive: true });
  const r = await runHost(goBin, ['env', '-json', 'GOROOT', 'GOTOOLDIR', 'GOVERSION'], { env: goEnv(dir) });
  if (r.code !== 0) return null;
  try {
    const env = JSON.parse(r.stdout) as Record<string, string>;
    if (!env.GOROOT || !env.GOTOOLDIR || !env.GOVERSION) return null;
    return { goBin, goroot: env.GOROOT, tooldir: env.GOTOOLDIR, version: env.GOVERSION };
  } catch {
    return null;
  }
}

/** The importcfg lines for the sandbox: cache paths rewritten to where the cache is bound. */
export function sandboxImportcfg(hostImportcfg: string, hostCacheDir: string): string {
  return hostImportcfg
    .split('\n')
    .filter((line) => line.startsWith('packagefile '))
    .map((line) => line.split(`=${hostCacheDir}/`).join(`=${GO_STD_SANDBOX_DIR}/cache/`))
    .join('\n')
    .concat('\n');
}

/**
 * Builds (or reuses) the standard library cache under `dir`. Reuse needs the same toolchain and every archive
 * still present. Concurrent callers in other processes are safe: the Go cache is, and files are renamed into place.
 */
export async function ensureGoStdlib(tc: GoToolchain, dir: string): Promise<GoStdlib> {
  const cacheDir = join(dir, 'cache');
  const cfgFile = join(dir, 'importcfg');
  const stampFile = join(dir, 'stamp');
  const stamp = `${tc.version} ${tc.goroot}`;
  const result: GoStdlib = {
    binds: [
      { src: cacheDir, dest: `${GO_STD_SANDBOX_DIR}/cache` },
      { src: cfgFile, dest: `${GO_STD_SANDBOX_DIR}/importcfg` },
    ],
    env: { GOROOT: tc.goroot, GOTOOLDIR: tc.tooldir, GO_IMPORTCFG: `${GO_STD_SANDBOX_DIR}/importcfg` },
  };
  if (tc.goroot !== '/usr' && !tc.goroot.startsWith('/usr/')) result.binds.push({ src: tc.goroot, dest: tc.goroot });
  if (await isValid(stampFile, stamp, cfgFile, cacheDir)) return result;

  await mkdir(cacheDir, { recursive: true });
  const format = '{{if .Export}}packagefile {{.ImportPath}}={{.Export}}{{end}}';
  const r = await runHost(tc.goBin, ['list', '-export', '-deps', '-f', format, 'std'], {
    env: goEnv(dir),
    cwd: dir,
    timeoutMs: 15 * 60_000,
  });
  if (r.code !== 0) throw new Error(`go list -export std failed: ${r.stderr.slice(0, 2000)}`);
  const tmp = `${cfgFile}.${process.pid}.tmp`;
  await writeFile(tmp, sandboxImportcfg(r.stdout, cacheDir));
  await rename(tmp, cfgFile);
  await writeFile(`${stampFile}.${process.pid}.tmp`, stamp);
  await rename(`${stampFile}.${process.pid}.tmp`, stampFile);
  return result;
}

async function isValid(stampFile: string, stamp: string, cfgFile: string, cacheDir: string): Promise<boolean> {
  try {
    if ((await readFile(stampFile, 'utf8')) !== stamp) return false;
    const lines = (await readFile(cfgFile, 'utf8')).split('\n').filter(Boolean);
    if (lines.length < 100) return false;
    const prefix = `${GO_STD_SANDBOX_DIR}/cache/`;
    return lines.every((line) => {
      const path = line.slice(line.indexOf('=') + 1);
      return path.startsWith(prefix) && existsSync(join(cacheDir, path.slice(prefix.length)));
    });
  } catch {
    return false;
  }
}

/**
 * The run script for Go inside the sandbox: compile main.go against the cached library, link a static binary
 * without symbols, run it. Compiler errors (printed by the tools on stdout, moved to stderr like `go build`) keep
 * the compiler's own `./main.go:LINE:COL: message` form, with exit code 1. One line: commands travel as one line.
 */
export const GO_RUN_SCRIPT = [
  // the tools' telemetry counters would land in the tmpfs under HOME; an unusable config dir turns them off
  'export XDG_CONFIG_HOME=/nonexistent',
  '"$GOTOOLDIR/compile" -p main -complete -importcfg "$GO_IMPORTCFG" -pack -o .main.a ./main.go >&2 || exit 1',
  '"$GOTOOLDIR/link" -s -w -importcfg "$GO_IMPORTCFG" -buildmode=exe -o .main .main.a >&2 || exit 1',
  'rm -f .main.a',
  'unset XDG_CONFIG_HOME',
  'exec ./.main',
].join('; ');
