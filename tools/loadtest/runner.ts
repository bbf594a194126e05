/**
 * Runs one load test: checks the target answers, learns its routes, signs the admin in, lets the scenario set
 * up, then starts the clock, the progress line and the memory sampler, runs the scenario until the duration
 * (plus drain time for sse-soak) is over, and writes report.json and report.html.
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { AccountError, login, throttleNote } from './accounts.js';
import { HttpClient, Transport, TransportError } from './http-client.js';
import { describeOptions, type Options } from './options.js';
import { Progress, type ProgressSink } from './progress.js';
import { buildReport, writeJsonReport, type Report } from './report/json.js';
import { writeHtmlReport } from './report/html.js';
import { Rng } from './rng.js';
import { RouteTemplates } from './routes.js';
import { monkeyScenario } from './scenarios/monkey.js';
import { sseSoakScenario } from './scenarios/sse-soak.js';
import { API, type RunContext, type Scenario, type ScenarioResult } from './scenarios/types.js';
import { userScenario } from './scenarios/user.js';
import { Recorder } from './stats.js';
import { findMemoryProbe } from './target-memory.js';

/** The run could not start (target down, admin login refused, …). */
export class SetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SetupError';
  }
}

export interface RunIo {
  /** Where the progress line and warnings go (default process.stderr). */
  stderr?: ProgressSink;
  /** Ends the run early (Ctrl-C); the report is still written. */
  signal?: AbortSignal;
}

export interface RunOutcome {
  report: Report;
  files: { json: string; html: string };
  /** 0 fine, 1 the scenario found failures (monkey 5xx/resets/hangs, SSE loss). */
  exitCode: 0 | 1;
}

function createScenario(mode: Options['mode']): Scenario {
  switch (mode) {
    case 'user':
      return userScenario();
    case 'monkey':
      return monkeyScenario();
    case 'sse-soak':
      return sseSoakScenario();
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function runLoadTest(options: Options, io: RunIo = {}): Promise<RunOutcome> {
  const sink: ProgressSink = io.stderr ?? process.stderr;
  const now = () => performance.now();
  const stopCtl = new AbortController();
  const hardCtl = new AbortController();
  // Every request in flight listens for the end of the run: thousands of listeners are expected here.
  setMaxListeners(0, stopCtl.signal, hardCtl.signal);
  const recorder = new Recorder(now(), now);
  const transport = new Transport({ target: options.target, concurrency: options.concurrency, timeoutMs: options.timeoutMs, signal: hardCtl.signal, recorder });
  const base = options.target.href.replace(/\/$/, '');
  const timers: NodeJS.Timeout[] = [];
  let progress: Progress | null = null;
  try {
    const probe = new HttpClient(transport);
    try {
      const live = await probe.request({ method: 'GET', path: `${API}/health/live`, unrecorded: true, timeoutMs: 5000 });
      if (live.status !== 200) throw new SetupError(`target ${base} answered ${live.status} on ${API}/health/live`);
    } catch (err) {
      if (err instanceof SetupError) throw err;
      throw new SetupError(`target ${base} is not reachable: ${describe(err)}`);
    }
    try {
      const doc = (await probe.request({ method: 'GET', path: `${API}/openapi.json`, unrecorded: true })).json<{ paths?: Record<string, unknown> }>();
      if (doc?.paths) transport.templates = new RouteTemplates(Object.keys(doc.paths));
    } catch {
      /* no OpenAPI document: ids are recognised by their shape */
    }

    const sleep = (ms: number) =>
      new Promise<boolean>((resolve) => {
        if (stopCtl.signal.aborted) return resolve(false);
        const done = (value: boolean) => {
          clearTimeout(timer);
          stopCtl.signal.removeEventListener('abort', onAbort);
          resolve(value);
        };
        const onAbort = () => done(false);
        const timer = setTimeout(() => done(true), Math.max(0, ms));
        stopCtl.signal.addEventListener('abort', onAbort, { once: true });
      });
    let admin: HttpClient | null = null;
    if (options.username !== undefined && options.password !== undefined) {
      admin = new HttpClient(transport);
      try {
        const account = await login(admin, options.username, options.password, { unrecorded: true, sleep, onThrottle: throttleNote({ log: (l) => sink.write(`${l}\n`) }) });
        if (account.role !== 'admin') throw new SetupError(`--username: ${options.username} is not an admin (role ${account.role})`);
      } catch (err) {
        if (err instanceof SetupError) throw err;
        throw new SetupError(`--username/--password: admin login failed: ${describe(err)}`);
      }
    }

    const extras: Record<string, number | string> = {};
    const clock = { startedAt: now(), deadline: now() + options.duration * 1000 };
    const ctx: RunContext = {
      options,
      transport,
      recorder,
      rng: new Rng(options.seed),
      stop: stopCtl.signal,
      hard: hardCtl.signal,
      get startedAt() {
        return clock.startedAt;
      },
      get deadline() {
        return clock.deadline;
      },
      now,
      sleep,
      newClient: () => new HttpClient(transport),
      admin,
      runId: `${Date.now().toString(36).slice(-5)}${randomBytes(2).toString('hex')}`,
      log: (line) => (progress ? progress.log(line) : sink.write(`${line}\n`)),
      setProgress: (key, value) => {
        extras[key] = value;
      },
    };

    const scenario = createScenario(options.mode);
    try {
      await scenario.setup?.(ctx);
    } catch (err) {
      throw new SetupError(`${options.mode} setup failed: ${describe(err)}`);
    }
    const memory = await findMemoryProbe(base);

    // The clock starts now.
    clock.startedAt = now();
    clock.deadline = clock.startedAt + options.duration * 1000;
    recorder.begin(clock.startedAt);
    const startedIso = new Date().toISOString();
    const drainS = options.mode === 'sse-soak' ? options.drain : 0;
    timers.push(setTimeout(() => stopCtl.abort(), options.duration * 1000));
    const interrupt = () => {
      stopCtl.abort();
      hardCtl.abort();
    };
    if (io.signal?.aborted) interrupt();
    io.signal?.addEventListener('abort', interrupt, { once: true });
    timers.push(setTimeout(() => hardCtl.abort(), (options.duration + drainS) * 1000));
    timers.push(setInterval(() => recorder.flush(), 250));
    let memoryStat: { source: string; last_bytes: number; peak_bytes: number } | null = null;
    if (memory) {
      let reading = false;
      const sample = async () => {
        if (reading) return;
        reading = true;
        const value = await memory.read();
        reading = false;
        if (value === null) return;
        recorder.noteTargetMemory(value);
        memoryStat = { source: memory.source, last_bytes: value, peak_bytes: Math.max(value, memoryStat?.peak_bytes ?? 0) };
      };
      void sample();
      timers.push(setInterval(() => void sample(), 1000));
    }
    if (!options.quiet) {
      progress = new Progress(sink, () => ({
        elapsedS: (now() - clock.startedAt) / 1000,
        durationS: options.duration,
        requests: recorder.requests,
        errors: recorder.errors,
        rps: recorder.currentRps(),
        open: transport.tracker.open,
        extra: extras,
      }));
      progress.start();
    }

    let result: ScenarioResult;
    let guard: NodeJS.Timeout | undefined;
    try {
      result = await Promise.race([
        scenario.run(ctx),
        new Promise<ScenarioResult>((resolve) => {
          guard = setTimeout(
            () => resolve({ summary: { error: 'the scenario did not stop in time' }, failures: 1, reasons: ['the scenario did not stop within 10 s of the end'] }),
            (options.duration + drainS + 10) * 1000,
          );
        }),
      ]);
    } catch (err) {
      if (err instanceof AccountError || err instanceof TransportError) result = { summary: { error: describe(err) }, failures: 1, reasons: [describe(err)] };
      else throw err;
    } finally {
      clearTimeout(guard);
    }
    stopCtl.abort();
    hardCtl.abort();
    const durationS = (now() - clock.startedAt) / 1000;
    recorder.finish();
    progress?.stop();
    progress = null;

    const report = buildReport({
      mode: options.mode,
      target: base,
      startedAtIso: startedIso,
      endedAtIso: new Date().toISOString(),
      durationS,
      options: describeOptions(options),
      recorder,
      memory: memoryStat,
      scenario: result.summary,
      failures: result.failures,
      reasons: result.reasons,
    });
    const json = await writeJsonReport(options.reportDir, report);
    const html = await writeHtmlReport(options.reportDir, report);
    return { report, files: { json, html }, exitCode: result.failures > 0 ? 1 : 0 };
  } finally {
    for (const t of timers) clearTimeout(t);
    progress?.stop();
    stopCtl.abort();
    hardCtl.abort();
    transport.close();
  }
}
