import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTempDir, type TempDir } from '../../test/support/temp-dir.js';
import {
  BASE_ENV,
  LAUNCHER_ERROR_PREFIX,
  LAUNCHER_FAILED_EXIT,
  SANDBOX_DIR,
  buildBwrapArgs,
  buildLauncher,
  buildLauncherInput,
  FIELD_SEPARATOR,
  LAUNCHER_SHELL,
  shellQuote,
  type BwrapInput,
} from './bwrap-args.js';

const input: BwrapInput = {
  command: ['/usr/bin/python3', 'main.py'],
  scriptName: 'main.py',
  tmpfsBytes: 64 * 1024 * 1024,
  env: { EXTRA: 'a b "c"', LANG: 'en_US.UTF-8' },
  roBinds: [{ src: '/data/etc/passwd', dest: '/etc/passwd' }],
  fds: { script: 3, seccomp: 4 },
};
const args = buildBwrapArgs(input);
const sep = args.indexOf('--');
const opts = args.slice(0, sep);

/** Index of the option `flag` followed by `values`, or -1. */
function find(flag: string, ...values: string[]): number {
  for (let i = 0; i < opts.length; i++) {
    if (opts[i] === flag && values.every((v, k) => opts[i + 1 + k] === v)) return i;
  }
  return -1;
}

describe('buildBwrapArgs: isolation', () => {
  it('unshares every namespace including the user namespace, and forbids nested user namespaces', () => {
    expect(find('--unshare-all')).toBeGreaterThanOrEqual(0);
    expect(find('--unshare-user')).toBeGreaterThanOrEqual(0);
    expect(find('--disable-userns')).toBeGreaterThanOrEqual(0);
    expect(opts.filter((a) => a.startsWith('--share-'))).toEqual([]);
  });

  it('dies with its parent, starts a new session, drops every capability', () => {
    expect(find('--die-with-parent')).toBeGreaterThanOrEqual(0);
    expect(find('--new-session')).toBeGreaterThanOrEqual(0);
    expect(find('--cap-drop', 'ALL')).toBeGreaterThanOrEqual(0);
    expect(find('--cap-add')).toBe(-1);
  });

  it('runs as uid/gid 1000 with its own hostname', () => {
    expect(find('--uid', '1000')).toBeGreaterThanOrEqual(0);
    expect(find('--gid', '1000')).toBeGreaterThanOrEqual(0);
    expect(find('--hostname', 'sandbox')).toBeGreaterThanOrEqual(0);
  });

  it('loads the seccomp program from its fd', () => {
    expect(find('--seccomp', '4')).toBeGreaterThanOrEqual(0);
    expect(opts.filter((a) => a === '--seccomp')).toHaveLength(1);
  });
});

describe('buildBwrapArgs: environment', () => {
  it('clears the environment before setting anything', () => {
    const clear = find('--clearenv');
    expect(clear).toBeGreaterThanOrEqual(0);
    expect(opts.indexOf('--setenv')).toBeGreaterThan(clear);
  });

  it('sets the base env plus the runtime env, runtime values winning, in key order', () => {
    const env: Record<string, string> = {};
    const keys: string[] = [];
    opts.forEach((a, i) => {
      if (a === '--setenv') {
        env[opts[i + 1]!] = opts[i + 2]!;
        keys.push(opts[i + 1]!);
      }
    });
    expect(env).toEqual({ ...BASE_ENV, EXTRA: 'a b "c"', LANG: 'en_US.UTF-8' });
    expect(keys).toEqual([...keys].sort());
    expect(env.HOME).toBe(SANDBOX_DIR);
  });
});

describe('buildBwrapArgs: file system', () => {
  it('binds /usr read-only and never binds anything writable', () => {
    expect(find('--ro-bind', '/usr', '/usr')).toBeGreaterThanOrEqual(0);
    for (const flag of ['--bind', '--bind-try', '--dev-bind', '--dev-bind-try', '--bind-data']) expect(find(flag), flag).toBe(-1);
  });

  it('links /bin, /sbin, /lib, /lib64 into /usr and binds the loader cache only if present', () => {
    for (const [t, l] of [['usr/bin', '/bin'], ['usr/sbin', '/sbin'], ['usr/lib', '/lib'], ['usr/lib64', '/lib64']]) {
      expect(find('--symlink', t!, l!), l).toBeGreaterThanOrEqual(0);
    }
    expect(find('--ro-bind-try', '/etc/ld.so.cache', '/etc/ld.so.cache')).toBeGreaterThanOrEqual(0);
    expect(find('--ro-bind', '/etc', '/etc')).toBe(-1);
  });

  it('adds the extra read-only binds', () => {
    expect(find('--ro-bind', '/data/etc/passwd', '/etc/passwd')).toBeGreaterThanOrEqual(0);
  });

  it('mounts /proc and a minimal /dev, with /dev read-only but a size-limited /dev/shm', () => {
    expect(find('--proc', '/proc')).toBeGreaterThanOrEqual(0);
    const dev = find('--dev', '/dev');
    const shm = find('--size', String(input.tmpfsBytes), '--tmpfs', '/dev/shm');
    const ro = find('--remount-ro', '/dev');
    expect(dev).toBeGreaterThanOrEqual(0);
    expect(shm).toBeGreaterThan(dev);
    expect(ro).toBeGreaterThan(shm);
  });

  it('gives the run a private size-limited tmpfs as working dir, with /tmp pointing to it', () => {
    const tmpfs = find('--size', String(input.tmpfsBytes), '--tmpfs', SANDBOX_DIR);
    expect(tmpfs).toBeGreaterThanOrEqual(0);
    expect(find('--symlink', SANDBOX_DIR, '/tmp')).toBeGreaterThan(tmpfs);
    expect(find('--chdir', SANDBOX_DIR)).toBeGreaterThan(tmpfs);
  });

  it('delivers the script from its fd into the tmpfs, after the tmpfs is mounted', () => {
    const file = find('--file', '3', `${SANDBOX_DIR}/main.py`);
    expect(file).toBeGreaterThan(find('--size', String(input.tmpfsBytes), '--tmpfs', SANDBOX_DIR));
    expect(opts[file - 2]).toBe('--perms');
    expect(opts[file - 1]).toBe('0644');
  });

  it('makes the root read-only after every mount and file', () => {
    const ro = find('--remount-ro', '/');
    const mountFlags = new Set(['--ro-bind', '--ro-bind-try', '--symlink', '--proc', '--dev', '--tmpfs', '--file', '--dir']);
    const lastMount = Math.max(...opts.map((a, i) => (mountFlags.has(a) ? i : -1)));
    expect(ro).toBeGreaterThan(lastMount);
  });
});

describe('buildBwrapArgs: command and validation', () => {
  it('ends with -- and the command, unchanged', () => {
    expect(args.slice(sep)).toEqual(['--', '/usr/bin/python3', 'main.py']);
    expect(args.filter((a) => a === '--')).toHaveLength(1);
  });

  it('puts the size right before each tmpfs (bwrap applies --size to the next --tmpfs)', () => {
    opts.forEach((a, i) => {
      if (a === '--tmpfs') expect(opts[i - 2]).toBe('--size');
    });
  });

  it('rejects script names that could leave the working dir, non-positive sizes and empty commands', () => {
    for (const scriptName of ['../x', '..', '.hidden', 'a/b', '', 'x y']) {
      expect(() => buildBwrapArgs({ ...input, scriptName }), scriptName).toThrow(/script name/);
    }
    expect(() => buildBwrapArgs({ ...input, tmpfsBytes: 0 })).toThrow(/tmpfsBytes/);
    expect(() => buildBwrapArgs({ ...input, tmpfsBytes: 1.5 })).toThrow(/tmpfsBytes/);
    expect(() => buildBwrapArgs({ ...input, command: [] })).toThrow(/empty command/);
  });

  it('is deterministic', () => {
    expect(buildBwrapArgs(input)).toEqual(args);
  });
});

describe('shellQuote', () => {
  it('quotes so that sh gives back the same string', () => {
    for (const s of ["it's", 'a b', '$HOME', '`x`', '"q"', '']) {
      expect(execFileSync('/bin/sh', ['-c', `printf %s ${shellQuote(s)}`], { encoding: 'utf8' })).toBe(s);
    }
  });
});

describe('buildLauncher', () => {
  const base = {
    cgroupProcs: ["/sys/fs/cgroup/memory/x/it's/cgroup.procs", '/sys/fs/cgroup/pids/x/r/cgroup.procs'],
    bwrapPath: '/usr/bin/bwrap',
    argsFd: 5,
    keepFds: [3, 4, 5],
  };

  it('runs bash with the bwrap path as its only argument', () => {
    const l = buildLauncher(base);
    expect(l.file).toBe(LAUNCHER_SHELL);
    expect(LAUNCHER_SHELL).toBe('/bin/bash');
    expect(l.args[0]).toBe('-c');
    expect(l.args.slice(2)).toEqual(['sandbox-launcher', '/usr/bin/bwrap']);
  });

  it('joins every cgroup first (quoted), waits for the go-ahead line, sets limits, execs bwrap --args FD -- COMMAND', () => {
    const lines = buildLauncher(base).args[1]!.split('\n');
    const join = lines.findIndex((l) => l.startsWith('echo $$'));
    expect(lines[join]!.startsWith(`echo $$ > ${shellQuote(base.cgroupProcs[0]!)} && echo $$ > ${shellQuote(base.cgroupProcs[1]!)} && true || `)).toBe(true);
    const read = lines.indexOf('IFS=$us read -r cpu hard blocks command <&5 || exit 0');
    expect(read).toBeGreaterThan(join);
    const limits = lines.findIndex((l) => l.includes('ulimit -c 0 && ulimit -S -t "$cpu" && ulimit -H -t "$hard" && ulimit -f "$blocks"'));
    expect(limits).toBeGreaterThan(read);
    expect(lines.at(-1)).toBe('exec "$bwrap" --args 5 -- "$@"');
    expect(lines).toContain('set -f');
    const close = lines.findIndex((l) => l.startsWith('for fd in /proc/$$/fd/*'));
    expect(close).toBeGreaterThanOrEqual(0);
    expect(close).toBeLessThan(join);
    expect(lines[close]).toContain('case $fd in 0|1|2|3|4|5) ;;');
  });

  it('fails with its own exit code and message when a step fails', () => {
    const script = buildLauncher(base).args[1]!;
    expect(script).toContain(`exit ${LAUNCHER_FAILED_EXIT}`);
    expect(script).toContain(LAUNCHER_ERROR_PREFIX);
  });
});

describe('buildLauncherInput', () => {
  const limits = { cpuMs: 2500, fileBytes: 1024 * 1024, ulimitBlockBytes: 512 };
  const US = FIELD_SEPARATOR;
  const firstLine = (b: Buffer): string => b.toString().split('\n')[0]!;

  it('starts with "cpuSoft cpuHard fileBlocks" (seconds rounded up, hard one above for SIGKILL after SIGXCPU)', () => {
    const cmd = ['--', '/bin/true'];
    expect(firstLine(buildLauncherInput(limits, cmd))).toBe(['3', '4', '2048', '/bin/true'].join(US));
    expect(firstLine(buildLauncherInput({ ...limits, cpuMs: 1 }, cmd))).toBe(['1', '2', '2048', '/bin/true'].join(US));
    expect(firstLine(buildLauncherInput({ ...limits, cpuMs: 3000 }, cmd))).toBe(['3', '4', '2048', '/bin/true'].join(US));
    expect(firstLine(buildLauncherInput({ ...limits, fileBytes: 1000, ulimitBlockBytes: 1024 }, cmd))).toBe(['3', '4', '1', '/bin/true'].join(US));
    expect(firstLine(buildLauncherInput({ ...limits, fileBytes: 1025 }, cmd))).toBe(['3', '4', '3', '/bin/true'].join(US));
  });

  it('puts the command on the line and every bwrap option after it, NUL-terminated and untouched', () => {
    const text = buildLauncherInput(limits, ['--setenv', 'A', 'x y\n"z"', '--', '/bin/sh', '-c', 'echo "a b"; exit 3']).toString();
    expect(text).toBe(`3${US}4${US}2048${US}/bin/sh${US}-c${US}echo "a b"; exit 3\n--setenv\0A\0x y\n"z"\0`);
  });

  it('refuses what cannot travel: no command, NUL in options, newline or separator in the command', () => {
    expect(() => buildLauncherInput(limits, ['--unshare-all'])).toThrow(/command/);
    expect(() => buildLauncherInput(limits, ['--unshare-all', '--'])).toThrow(/command/);
    expect(() => buildLauncherInput(limits, ['a\0b', '--', '/bin/true'])).toThrow(/NUL/);
    expect(() => buildLauncherInput(limits, ['--', '/bin/sh', '-c', 'a\nb'])).toThrow(/bad command/);
    expect(() => buildLauncherInput(limits, ['--', `/bin/a${US}b`])).toThrow(/bad command/);
    expect(() => buildLauncherInput(limits, ['--', '/bin/echo', ''])).toThrow(/bad command/);
  });

  it('accepts the real bwrap argv of a run', () => {
    expect(() => buildLauncherInput(limits, args)).not.toThrow();
  });
});

describe('launcher under a real /bin/sh', () => {
  let dir: TempDir;
  beforeAll(async () => {
    dir = await createTempDir('integr8s-launcher-');
  });
  afterAll(async () => {
    await dir.cleanup();
  });

  /** Runs the launcher (args on stdin, fd 7 an extra inherited pipe) with a stub in place of bwrap. */
  function launch(cgroupProcs: string[], stub: string, input: Buffer): { status: number | null; stdout: string; stderr: string } {
    const path = join(dir.path, 'stub');
    writeFileSync(path, `#!/bin/sh\n${stub}\n`);
    chmodSync(path, 0o755);
    const l = buildLauncher({ cgroupProcs, bwrapPath: path, argsFd: 0, keepFds: [4] });
    const r = spawnSync(l.file, l.args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe', 'ignore', 'pipe', 'ignore', 'ignore', 'pipe'] });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it('sets the limits it was sent, execs bwrap with the command, and leaves the options on the descriptor', () => {
    const input = buildLauncherInput({ cpuMs: 2500, fileBytes: 1024 * 1024, ulimitBlockBytes: 1024 }, ['--unshare-all', '--setenv', 'A', '*', '--', '/bin/x', 'a b', '*', '"q"']);
    const r = launch([], 'for a in "$@"; do echo "arg: $a"; done; tr "\\0" "|"; echo; cat /proc/self/limits', input);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('arg: --args\narg: 0\narg: --\narg: /bin/x\narg: a b\narg: *\narg: "q"\n--unshare-all|--setenv|A|*|\n');
    const row = (name: string): string[] => new RegExp(`^${name}\\s+(\\S+)\\s+(\\S+)`, 'm').exec(r.stdout)!.slice(1);
    expect(row('Max cpu time')).toEqual(['3', '4']);
    expect(row('Max core file size')).toEqual(['0', '0']);
    // bash counts ulimit -f in 1024-byte blocks (the backend probes the unit at startup)
    expect(row('Max file size')).toEqual([String(1024 * 1024), String(1024 * 1024)]);
  });

  it('closes every inherited descriptor except stdio and the kept ones', () => {
    const r = launch([], 'ls /proc/self/fd | sort -n | tr "\\n" " "', Buffer.from(`1${FIELD_SEPARATOR}2${FIELD_SEPARATOR}3${FIELD_SEPARATOR}/bin/x\n`));
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('0 1 2 3 4 '); // 3 is ls's own listing; the pipe on 7 is gone
  });

  it('exits quietly without starting bwrap when nobody claims it (EOF)', () => {
    const r = launch([], 'echo started', Buffer.alloc(0));
    expect(r).toEqual({ status: 0, stdout: '', stderr: '' });
  });

  it('exits 125 with its message when it cannot join a cgroup', () => {
    const r = launch(['/proc/no-such-dir/cgroup.procs'], 'echo started', Buffer.from('1 2 3\n'));
    expect(r.status).toBe(LAUNCHER_FAILED_EXIT);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(LAUNCHER_ERROR_PREFIX);
  });
});
