/**
 * Command lines of one sandboxed run, as pure functions: the bubblewrap argv (isolation, mounts, env, the
 * script and seccomp filter delivered through fds) and the shell launcher that puts itself into the run's
 * cgroups and sets rlimits before exec'ing bwrap.
 */

/** The private writable tmpfs inside the sandbox; the working directory, HOME and /tmp. */
export const SANDBOX_DIR = '/sandbox';
/** User id the program runs as inside the sandbox (mapped to an unprivileged host uid). */
export const SANDBOX_UID = 1000;
/** Group id the program runs as inside the sandbox. */
export const SANDBOX_GID = 1000;
/** The hostname the program sees. */
export const SANDBOX_HOSTNAME = 'sandbox';
/** Exit code the launcher uses when it cannot enter the cgroups or set limits (our fault, not the program's). */
export const LAUNCHER_FAILED_EXIT = 125;
/** Prefix of the launcher's own error message on stderr. */
export const LAUNCHER_ERROR_PREFIX = 'sandbox-launcher:';

/** The environment every program starts with (--clearenv first); runtimes may add to it. */
export const BASE_ENV: Readonly<Record<string, string>> = {
  PATH: '/usr/local/bin:/usr/bin:/bin',
  HOME: SANDBOX_DIR,
  TMPDIR: SANDBOX_DIR,
  LANG: 'C.UTF-8',
  USER: 'sandbox',
};

/** Host paths shown read-only at the same place (/usr holds every runtime; /etc only what loaders need). */
export const SYSTEM_RO_BINDS: readonly string[] = ['/usr'];
/** Optional /etc files, bound read-only when present on the host. */
export const SYSTEM_RO_BINDS_TRY: readonly string[] = ['/etc/ld.so.cache', '/etc/localtime', '/etc/alternatives'];
/** Merged-/usr symlinks at the root: [target, link]. */
export const SYSTEM_SYMLINKS: ReadonlyArray<readonly [string, string]> = [
  ['usr/bin', '/bin'],
  ['usr/sbin', '/sbin'],
  ['usr/lib', '/lib'],
  ['usr/lib64', '/lib64'],
];

/** A host path shown read-only inside the sandbox. */
export interface RoBind {
  src: string;
  dest: string;
}

/** Everything that varies between runs. */
export interface BwrapInput {
  /** argv of the program inside the sandbox (absolute binary path first). */
  command: readonly string[];
  /** File name of the user's script inside SANDBOX_DIR. */
  scriptName: string;
  /** Size of the writable tmpfs (and of /dev/shm). */
  tmpfsBytes: number;
  /** Variables added to BASE_ENV (a runtime's own). */
  env: Readonly<Record<string, string>>;
  /** Extra read-only binds (e.g. /etc/passwd of the sandbox user, the Go standard library cache). */
  roBinds: readonly RoBind[];
  /** Descriptors bwrap reads the script and the seccomp program from. */
  fds: { script: number; seccomp: number };
}

/** The bwrap argv (without the bwrap binary itself) for one run. */
export function buildBwrapArgs(input: BwrapInput): string[] {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(input.scriptName)) throw new Error(`bad script name: ${input.scriptName}`);
  if (!Number.isSafeInteger(input.tmpfsBytes) || input.tmpfsBytes <= 0) throw new Error('tmpfsBytes must be a positive integer');
  if (input.command.length === 0) throw new Error('empty command');
  const args: string[] = [
    '--unshare-all', '--unshare-user', '--disable-userns',
    '--die-with-parent', '--new-session', '--cap-drop', 'ALL',
    '--uid', String(SANDBOX_UID), '--gid', String(SANDBOX_GID), '--hostname', SANDBOX_HOSTNAME,
    '--clearenv',
  ];
  const env = { ...BASE_ENV, ...input.env };
  for (const key of Object.keys(env).sort()) args.push('--setenv', key, env[key]!);
  for (const path of SYSTEM_RO_BINDS) args.push('--ro-bind', path, path);
  for (const [target, link] of SYSTEM_SYMLINKS) args.push('--symlink', target, link);
  for (const path of SYSTEM_RO_BINDS_TRY) args.push('--ro-bind-try', path, path);
  for (const bind of input.roBinds) args.push('--ro-bind', bind.src, bind.dest);
  const size = String(input.tmpfsBytes);
  args.push(
    '--proc', '/proc',
    '--dev', '/dev',
    '--size', size, '--tmpfs', '/dev/shm',
    '--remount-ro', '/dev',
    '--size', size, '--tmpfs', SANDBOX_DIR,
    '--symlink', SANDBOX_DIR, '/tmp',
    '--perms', '0644', '--file', String(input.fds.script), `${SANDBOX_DIR}/${input.scriptName}`,
    '--remount-ro', '/',
    '--seccomp', String(input.fds.seccomp),
    '--chdir', SANDBOX_DIR,
    '--',
    ...input.command,
  );
  return args;
}

/** The launcher's part: which cgroups it joins and which bwrap it execs. */
export interface LauncherInput {
  /** cgroup.procs files the launcher writes its own pid into (memory, pids, cpuacct). */
  cgroupProcs: readonly string[];
  bwrapPath: string;
  /** Descriptor the launcher reads its limits line from, and bwrap then its NUL-separated args (--args). */
  argsFd: number;
  /** Descriptors above 2 to keep open (script, seccomp, args); every other inherited one is closed. */
  keepFds: readonly number[];
}

/** The launcher's shell: bash, because it can close descriptors above 9 (dash cannot). */
export const LAUNCHER_SHELL = '/bin/bash';

/** Quotes a string for /bin/sh. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Separates the fields of the launcher's go-ahead line (ASCII unit separator). */
export const FIELD_SEPARATOR = '\x1f';

/**
 * The launcher as [file, ...args] for spawn. The shell closes every descriptor it inherited beyond stdio and
 * keepFds (the sandbox must not inherit the node's), joins the run's cgroups (the slow part: a cgroup v1 move
 * waits for an RCU grace period, ~10 ms, so launchers are started ahead of need), then blocks until a run
 * claims it with a go-ahead line on argsFd (limits and the command, see buildLauncherInput), sets the rlimits
 * and execs `bwrap --args argsFd -- COMMAND...`; bwrap reads its options from the rest of argsFd.
 * EOF instead of a line (nobody claimed it, or the node died) makes it exit quietly.
 */
export function buildLauncher(input: LauncherInput): { file: string; args: string[] } {
  const fail = `{ echo ${shellQuote(`${LAUNCHER_ERROR_PREFIX} cannot enter cgroups or set limits`)} >&2; exit ${LAUNCHER_FAILED_EXIT}; }`;
  const fd = input.argsFd;
  const join = input.cgroupProcs.map((procs) => `echo $$ > ${shellQuote(procs)}`).concat('true').join(' && ');
  const limits = ['ulimit -c 0', 'ulimit -S -t "$cpu"', 'ulimit -H -t "$hard"', 'ulimit -f "$blocks"'].join(' && ');
  const keep = [0, 1, 2, ...input.keepFds].join('|');
  const script = [
    'bwrap=$1',
    "us=$'\\x1f'",
    `for fd in /proc/$$/fd/*; do fd=\${fd##*/}; case $fd in ${keep}) ;; *) eval "exec $fd>&-" 2>/dev/null ;; esac; done`,
    `${join} || ${fail}`,
    `IFS=$us read -r cpu hard blocks command <&${fd} || exit 0`,
    `${limits} || ${fail}`,
    'set -f',
    'IFS=$us',
    'set -- $command',
    `exec "$bwrap" --args ${fd} -- "$@"`,
  ].join('\n');
  return { file: LAUNCHER_SHELL, args: ['-c', script, 'sandbox-launcher', input.bwrapPath] };
}

/** Process limits the launcher sets with the shell's ulimit. */
export interface RlimitInput {
  /** CPU time per process in ms; RLIMIT_CPU is whole seconds (soft = ceil, hard = soft + 1 for SIGKILL). */
  cpuMs: number;
  /** Largest file in bytes (RLIMIT_FSIZE). */
  fileBytes: number;
  /** Bytes per unit of the launcher shell's `ulimit -f` (1024 for bash, 512 for dash and POSIX shells). */
  ulimitBlockBytes: number;
}

/**
 * What a claimed launcher reads from argsFd: one line "cpuSoft cpuHard fileBlocks COMMAND..." (fields split by
 * FIELD_SEPARATOR), then bwrap's options (everything before `--` in bwrapArgs), each NUL-terminated.
 */
export function buildLauncherInput(limits: RlimitInput, bwrapArgs: readonly string[]): Buffer {
  const sep = bwrapArgs.indexOf('--');
  if (sep < 0 || sep === bwrapArgs.length - 1) throw new Error('bwrap args need -- and a command');
  const options = bwrapArgs.slice(0, sep);
  const command = bwrapArgs.slice(sep + 1);
  for (const arg of options) if (arg.includes('\0')) throw new Error('bwrap option contains NUL');
  for (const arg of command) if (/[\0\n\x1f]/.test(arg) || arg === '') throw new Error(`bad command argument: ${JSON.stringify(arg)}`);
  const cpuSoft = Math.max(1, Math.ceil(limits.cpuMs / 1000));
  const blocks = Math.max(1, Math.ceil(limits.fileBytes / limits.ulimitBlockBytes));
  const line = [String(cpuSoft), String(cpuSoft + 1), String(blocks), ...command].join(FIELD_SEPARATOR);
  return Buffer.concat([Buffer.from(`${line}\n`), Buffer.from(options.map((a) => `${a}\0`).join(''))]);
}
