/**
 * Command-line options: parsed with node:util parseArgs, validated with zod. Every problem is reported with the
 * option's name (`--clients: …`), all of them at once.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';

export const MODES = ['user', 'monkey', 'sse-soak'] as const;
export type Mode = (typeof MODES)[number];

export interface Options {
  mode: Mode;
  /** Origin (plus base path, if any) of the node, without `/api/v1`. */
  target: URL;
  clients: number;
  concurrency: number;
  duration: number;
  rampUp: number;
  reportDir: string;
  username?: string;
  password?: string;
  seed: number;
  follow: 'sse' | 'poll';
  thinkTimeMs: number;
  timeoutMs: number;
  rate: number;
  execSleep: number;
  drain: number;
  allowRemote: boolean;
  keepRateLimits: boolean;
  quiet: boolean;
}

/** A bad command line: the message names the option(s). */
export class OptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OptionsError';
  }
}

export const USAGE = `Usage: npm run loadtest -- <user|monkey|sse-soak> [options]

Modes
  user       virtual users register, log in, then loop: execute a script and follow it (SSE or polling),
             saved-script CRUD, settings read/update, notifications list, with think time in between
  monkey     random and malformed requests (OpenAPI routes, garbage paths, bad bodies/headers/queries,
             raw malformed HTTP), with and without a session; 5xx, resets and hangs are failures
  sse-soak   --clients SSE streams on the same execution per batch, --rate executions per second;
             measures delivery latency (server timestamp -> receipt), fan-out spread and loss

Options (all modes)
  --target URL          node to load (default http://127.0.0.1:8080); non-loopback needs --allow-remote
  --clients N           virtual users / monkey workers / streams per batch (default 10 / 4 / 50)
  --concurrency N       most HTTP requests in flight at once, SSE streams not included (default: clients, min 8)
  --duration S          seconds of load (default 30)
  --ramp-up S           seconds over which clients start (default 0)
  --report-dir DIR      where report.json and report.html go (default ./loadtest-report)
  --username U --password P
                        an admin account: lifts the rate limits of the users the run creates
  --keep-rate-limits    with an admin account, leave the created users' rate limits in place
  --seed N              random seed (monkey requests, think times); printed in the report
  --timeout MS          per-request timeout; a monkey request past it is a hang (default 10000)
  --allow-remote        allow a target that is not a loopback address
  --quiet               no progress line
  --help                this text

user:      --follow sse|poll (default sse)   --think-time MS (default 500)
sse-soak:  --rate R executions/s (default 1)  --exec-sleep S script run time (default 1)
           --drain S wait for batches in flight after --duration (default 15)
`;

const MODE_ONLY: Record<string, Mode> = {
  follow: 'user',
  'think-time': 'user',
  rate: 'sse-soak',
  'exec-sleep': 'sse-soak',
  drain: 'sse-soak',
};

const DEFAULT_CLIENTS: Record<Mode, number> = { user: 10, monkey: 4, 'sse-soak': 50 };

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[?::1\]?|\[?::ffff:127(?:\.\d{1,3}){3}\]?)$/i;

/** True when a hostname is this machine's loopback interface. */
export function isLoopback(hostname: string): boolean {
  return LOOPBACK.test(hostname);
}

const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d+$/, { error: 'expected an integer' })
    .transform(Number)
    .pipe(z.number().int().min(min, { error: `must be at least ${min}` }).max(max, { error: `must be at most ${max}` }));

const num = (min: number, max: number, minExclusive = false) =>
  z
    .string()
    .regex(/^\d+(\.\d+)?$/, { error: 'expected a number' })
    .transform(Number)
    .pipe(
      (minExclusive ? z.number().gt(min, { error: `must be greater than ${min}` }) : z.number().min(min, { error: `must be at least ${min}` })).max(max, {
        error: `must be at most ${max}`,
      }),
    );

const Raw = z.object({
  mode: z.enum(MODES, { error: `mode must be one of ${MODES.join(', ')}` }),
  target: z
    .string()
    .prefault('http://127.0.0.1:8080')
    .transform((s, ctx) => {
      let url: URL;
      try {
        url = new URL(s);
      } catch {
        ctx.addIssue({ code: 'custom', message: `not a URL: ${JSON.stringify(s)}` });
        return z.NEVER;
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        ctx.addIssue({ code: 'custom', message: 'must be an http:// or https:// URL' });
        return z.NEVER;
      }
      if (url.search || url.hash || url.username || url.password) {
        ctx.addIssue({ code: 'custom', message: 'must not carry a query, fragment or credentials' });
        return z.NEVER;
      }
      url.pathname = url.pathname.replace(/\/+$/, '').replace(/\/api\/v1$/, '') || '/';
      return url;
    }),
  clients: int(1, 5000).optional(),
  concurrency: int(1, 5000).optional(),
  duration: num(0, 86_400, true).prefault('30'),
  'ramp-up': num(0, 86_400).prefault('0'),
  'report-dir': z.string().min(1, { error: 'must not be empty' }).default('./loadtest-report'),
  username: z.string().min(1, { error: 'must not be empty' }).optional(),
  password: z.string().min(1, { error: 'must not be empty' }).optional(),
  seed: int(0, 2 ** 32 - 1).optional(),
  follow: z.enum(['sse', 'poll'], { error: 'must be sse or poll' }).prefault('sse'),
  'think-time': int(0, 600_000).prefault('500'),
  timeout: int(100, 600_000).prefault('10000'),
  rate: num(0, 1000, true).prefault('1'),
  'exec-sleep': num(0, 8).prefault('1'),
  drain: num(0, 600).prefault('15'),
  'allow-remote': z.boolean().default(false),
  'keep-rate-limits': z.boolean().default(false),
  quiet: z.boolean().default(false),
});

const STRING_OPTIONS = [
  'target',
  'clients',
  'concurrency',
  'duration',
  'ramp-up',
  'report-dir',
  'username',
  'password',
  'seed',
  'follow',
  'think-time',
  'timeout',
  'rate',
  'exec-sleep',
  'drain',
] as const;
const BOOLEAN_OPTIONS = ['allow-remote', 'keep-rate-limits', 'quiet', 'help'] as const;

/** True when the command line asks for help. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h') || argv.length === 0;
}

/** Parses and validates a command line (without `node script`); throws OptionsError naming the bad options. */
export function parseOptions(argv: readonly string[]): Options {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        ...Object.fromEntries(STRING_OPTIONS.map((name) => [name, { type: 'string' as const }])),
        ...Object.fromEntries(BOOLEAN_OPTIONS.map((name) => [name, { type: 'boolean' as const }])),
      },
    });
  } catch (err) {
    // parseArgs names the option in its message already ("Unknown option '--foo'", "Option '--clients <value>' argument missing").
    throw new OptionsError(`invalid options:\n  ${(err as Error).message.split('\n')[0]!.replace(/\. To specify a positional argument.*$/, '')}`);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    throw new OptionsError(
      positionals.length === 0 ? `missing <mode>: one of ${MODES.join(', ')}` : `expected one <mode>, got ${positionals.map((p) => JSON.stringify(p)).join(' ')}`,
    );
  }
  const result = Raw.safeParse({ ...values, mode: positionals[0] });
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '');
      const raw = key === 'mode' ? positionals[0] : (values as Record<string, unknown>)[key];
      const name = key === 'mode' ? '<mode>' : `--${key}`;
      return `${name}: ${issue.message}${raw !== undefined && typeof raw === 'string' && key !== 'password' ? ` (got ${JSON.stringify(raw)})` : ''}`;
    });
    throw new OptionsError(`invalid options:\n  ${lines.join('\n  ')}`);
  }
  const v = result.data;
  const problems: string[] = [];
  for (const [option, mode] of Object.entries(MODE_ONLY)) {
    if ((values as Record<string, unknown>)[option] !== undefined && v.mode !== mode) problems.push(`--${option}: only applies to mode ${mode}`);
  }
  if ((v.username === undefined) !== (v.password === undefined)) problems.push(`--${v.username === undefined ? 'username' : 'password'}: --username and --password go together`);
  if (v['ramp-up'] > v.duration) problems.push(`--ramp-up: must not exceed --duration (${v.duration})`);
  if (!v['allow-remote'] && !isLoopback(v.target.hostname)) {
    problems.push(`--target: ${v.target.hostname} is not a loopback address; pass --allow-remote to load a machine you are responsible for`);
  }
  if (v['keep-rate-limits'] && v.username === undefined) problems.push('--keep-rate-limits: only meaningful with --username/--password of an admin');
  if (problems.length > 0) throw new OptionsError(`invalid options:\n  ${problems.join('\n  ')}`);
  const clients = v.clients ?? DEFAULT_CLIENTS[v.mode];
  return {
    mode: v.mode,
    target: v.target,
    clients,
    concurrency: v.concurrency ?? Math.max(8, v.mode === 'sse-soak' ? 8 : clients),
    duration: v.duration,
    rampUp: v['ramp-up'],
    reportDir: v['report-dir'],
    ...(v.username !== undefined ? { username: v.username, password: v.password } : {}),
    seed: v.seed ?? Math.floor(Math.random() * 2 ** 32),
    follow: v.follow,
    thinkTimeMs: v['think-time'],
    timeoutMs: v.timeout,
    rate: v.rate,
    execSleep: v['exec-sleep'],
    drain: v.drain,
    allowRemote: v['allow-remote'],
    keepRateLimits: v['keep-rate-limits'],
    quiet: v.quiet,
  };
}

/** The options as written to the report (password hidden). */
export function describeOptions(o: Options): Record<string, unknown> {
  return {
    mode: o.mode,
    target: o.target.href.replace(/\/$/, ''),
    clients: o.clients,
    concurrency: o.concurrency,
    duration: o.duration,
    ramp_up: o.rampUp,
    seed: o.seed,
    timeout_ms: o.timeoutMs,
    admin: o.username ?? null,
    keep_rate_limits: o.keepRateLimits,
    ...(o.mode === 'user' ? { follow: o.follow, think_time_ms: o.thinkTimeMs } : {}),
    ...(o.mode === 'sse-soak' ? { rate: o.rate, exec_sleep: o.execSleep, drain: o.drain } : {}),
  };
}
