/**
 * user mode: each virtual user registers (unique name), logs in (form, cookie jar, CSRF echo), then loops
 * until the duration is over:
 *   1. runs a small Python script and follows it to its result, over SSE or by polling (--follow),
 *      then reads the result as the SPA does, checking the output is the one it printed;
 *   2. saved-script CRUD: create, read, update, list, delete;
 *   3. settings: read, then update the theme or the editor;
 *   4. notifications: list and unread count;
 * with a randomized think time (0.5–1.5 × --think-time) between actions. Users start spread over --ramp-up.
 * A 429 is waited out (Retry-After), as a polite client would; it shows in the status codes but is not an error.
 */
import { liftRateLimits, login, passwordFor, register, requestPatiently } from '../accounts.js';
import { TransportError, type HttpClient, type HttpResponse, type RequestSpec } from '../http-client.js';
import type { Rng } from '../rng.js';
import { API, type RunContext, type Scenario, type ScenarioResult } from './types.js';

const TERMINAL_STATUSES = new Set(['completed', 'failed', 'timeout', 'cancelled', 'error']);
const TERMINAL_EVENTS = new Set(['result_stored', 'result_failed', 'execution_failed', 'execution_timeout', 'execution_cancelled']);
const THEMES = ['light', 'dark', 'auto'] as const;
const POLL_INTERVAL_MS = 250;
/** Longest a user waits for one execution's result. */
const RESULT_WAIT_MS = 60_000;

interface UserStats {
  users_started: number;
  users_ready: number;
  setup_failures: number;
  setup_failure_examples: string[];
  iterations: number;
  actions: Record<'execute' | 'scripts' | 'settings' | 'notifications', number>;
  executions: {
    submitted: number;
    finished: number;
    by_status: Record<string, number>;
    /** Completed runs whose stdout was not what the script printed. */
    wrong_output: number;
    /** Submitted runs whose end was not seen within RESULT_WAIT_MS (runs cut by the end of the test are not counted). */
    unfinished: number;
    follow: 'sse' | 'poll';
    /** SSE streams refused with 429 (the user then polled). */
    sse_throttled: number;
    /** SSE streams that ended without a terminal frame (the user then polled). */
    sse_without_result: number;
  };
}

function isCancelled(err: unknown): boolean {
  return err instanceof TransportError && err.kind === 'cancelled';
}

export function userScenario(): Scenario {
  let pythonVersion = '3.11';
  return {
    async setup(ctx) {
      const res = await ctx.newClient().request({ method: 'GET', path: `${API}/k8s-limits`, unrecorded: true });
      const versions = res.json<{ supported_runtimes?: Record<string, { versions?: string[] }> }>()?.supported_runtimes?.['python']?.versions;
      if (!versions || versions.length === 0) throw new Error('the target offers no python runtime (GET /k8s-limits)');
      pythonVersion = versions[0]!;
      if (!ctx.admin) {
        ctx.log('note: no admin account given, so virtual users keep the default rate limits (execute 10/min, SSE 5/min per user): expect 429s.');
      }
    },

    async run(ctx): Promise<ScenarioResult> {
      const o = ctx.options;
      const stats: UserStats = {
        users_started: 0,
        users_ready: 0,
        setup_failures: 0,
        setup_failure_examples: [],
        iterations: 0,
        actions: { execute: 0, scripts: 0, settings: 0, notifications: 0 },
        executions: { submitted: 0, finished: 0, by_status: {}, wrong_output: 0, unfinished: 0, follow: o.follow, sse_throttled: 0, sse_without_result: 0 },
      };
      const virtualUser = async (index: number) => {
        const rng = ctx.rng.fork(index);
        if (!(await ctx.sleep((o.rampUp * 1000 * index) / o.clients))) return;
        stats.users_started += 1;
        ctx.setProgress('users', stats.users_ready);
        const client = ctx.newClient();
        const username = `lt_${ctx.runId}_${index}`;
        const password = passwordFor(username);
        const step = { sleep: ctx.sleep };
        try {
          await register(client, username, password, step);
          const account = await login(client, username, password, step);
          if (ctx.admin && !o.keepRateLimits) await liftRateLimits(ctx.admin, account.userId, step);
        } catch (err) {
          if (isCancelled(err) || ctx.stop.aborted) return;
          stats.setup_failures += 1;
          if (stats.setup_failure_examples.length < 10) stats.setup_failure_examples.push(err instanceof Error ? err.message : String(err));
          return;
        }
        stats.users_ready += 1;
        ctx.setProgress('users', stats.users_ready);
        const user = new VirtualUser(ctx, client, rng, pythonVersion, stats);
        const actions = [
          ['execute', () => user.execute()],
          ['scripts', () => user.scripts()],
          ['settings', () => user.settings()],
          ['notifications', () => user.notifications()],
        ] as const;
        while (!ctx.stop.aborted) {
          for (const [name, action] of actions) {
            if (ctx.stop.aborted) return;
            try {
              await action();
              stats.actions[name] += 1;
            } catch (err) {
              if (isCancelled(err) || ctx.stop.aborted) return;
              // Other failures are already recorded as samples; the user carries on.
            }
            if (!(await ctx.sleep(o.thinkTimeMs * (0.5 + rng.next())))) return;
          }
          stats.iterations += 1;
        }
      };
      await Promise.all(Array.from({ length: o.clients }, (_, i) => virtualUser(i)));
      const reasons: string[] = [];
      if (stats.users_ready === 0 && stats.users_started > 0) reasons.push(`no virtual user could sign in (${stats.setup_failure_examples[0] ?? 'see report'})`);
      return { summary: { ...stats }, failures: reasons.length, reasons };
    },
  };
}

class VirtualUser {
  constructor(
    private readonly ctx: RunContext,
    private readonly client: HttpClient,
    private readonly rng: Rng,
    private readonly pythonVersion: string,
    private readonly stats: UserStats,
  ) {}

  private send(spec: RequestSpec): Promise<HttpResponse> {
    return requestPatiently(this.client, spec, { sleep: this.ctx.sleep });
  }

  async execute(): Promise<void> {
    const ex = this.stats.executions;
    const marker = `lt-${this.rng.string(10)}`;
    const started = this.ctx.now();
    const res = await this.send({
      method: 'POST',
      path: `${API}/execute`,
      json: { script: `print("${marker}")`, lang: 'python', lang_version: this.pythonVersion },
      expect: (s) => s === 200,
    });
    const id = res.json<{ execution_id?: string }>()?.execution_id;
    if (res.status !== 200 || !id) return;
    ex.submitted += 1;
    const resultPath = `${API}/executions/${encodeURIComponent(id)}/result`;
    let terminal: string | null = null;
    let terminalAt = 0;
    if (this.ctx.options.follow === 'sse') {
      const sse = await this.client.stream(
        { method: 'GET', path: `${API}/events/executions/${encodeURIComponent(id)}`, timeoutMs: RESULT_WAIT_MS, expect: (s) => s === 200 || s === 429 },
        {
          idleTimeoutMs: 30_000,
          onEvent: (ev) => {
            const frame = parse(ev.data);
            if (!frame) return;
            if (TERMINAL_EVENTS.has(String(frame['event_type'])) || (frame['event_type'] === 'status' && TERMINAL_STATUSES.has(String(frame['status'])))) {
              if (terminal === null) {
                terminal = String(frame['status'] ?? frame['event_type']);
                terminalAt = this.ctx.now();
              }
            }
          },
        },
      );
      if (sse.status === 429) ex.sse_throttled += 1;
      if (sse.end === 'cancelled') return;
      if (sse.status === 200 && terminal === null) ex.sse_without_result += 1;
    }
    let final: { status?: string; stdout?: string | null } | undefined;
    if (terminal === null) {
      // Polling (or an SSE stream that was refused or cut short): ask for the result until it is final.
      const until = Math.min(started + RESULT_WAIT_MS, this.ctx.deadline);
      while (this.ctx.now() < until) {
        const r = await this.send({ method: 'GET', path: resultPath, expect: (s) => s === 200 });
        const body = r.json<{ status?: string; stdout?: string | null }>();
        if (r.status === 200 && body?.status && TERMINAL_STATUSES.has(body.status)) {
          final = body;
          break;
        }
        if (!(await this.ctx.sleep(POLL_INTERVAL_MS))) break;
      }
      if (!final) {
        if (!this.ctx.stop.aborted && this.ctx.now() < this.ctx.deadline) ex.unfinished += 1;
        return;
      }
      this.ctx.recorder.recordMetric('execution_turnaround', this.ctx.now() - started);
    } else {
      this.ctx.recorder.recordMetric('execution_turnaround', terminalAt - started);
      const r = await this.send({ method: 'GET', path: resultPath, expect: (s) => s === 200 });
      final = r.json<{ status?: string; stdout?: string | null }>() ?? { status: terminal };
    }
    const status = final.status ?? 'unknown';
    ex.finished += 1;
    ex.by_status[status] = (ex.by_status[status] ?? 0) + 1;
    if (status === 'completed' && !(final.stdout ?? '').includes(marker)) ex.wrong_output += 1;
  }

  async scripts(): Promise<void> {
    const name = `lt script ${this.rng.string(6)}`;
    const created = await this.send({
      method: 'POST',
      path: `${API}/scripts`,
      json: { name, script: 'print("saved by the load test")', lang: 'python', lang_version: this.pythonVersion, description: 'integr8s-loadtest' },
      expect: (s) => s === 200 || s === 201,
    });
    const id = created.json<{ script_id?: string }>()?.script_id;
    if (!id) return;
    const path = `${API}/scripts/${encodeURIComponent(id)}`;
    await this.send({ method: 'GET', path, expect: (s) => s === 200 });
    await this.send({ method: 'PUT', path, json: { name: `${name} v2`, script: 'print("updated")' }, expect: (s) => s === 200 });
    await this.send({ method: 'GET', path: `${API}/scripts`, expect: (s) => s === 200 });
    await this.send({ method: 'DELETE', path, expect: (s) => s === 204 || s === 200 });
  }

  async settings(): Promise<void> {
    await this.send({ method: 'GET', path: `${API}/user/settings/`, expect: (s) => s === 200 });
    if (this.rng.chance(0.5)) {
      await this.send({ method: 'PUT', path: `${API}/user/settings/theme`, json: { theme: this.rng.pick(THEMES) }, expect: (s) => s === 200 });
    } else {
      await this.send({ method: 'PUT', path: `${API}/user/settings/editor`, json: { font_size: this.rng.int(10, 20), tab_size: this.rng.pick([2, 4]) }, expect: (s) => s === 200 });
    }
  }

  async notifications(): Promise<void> {
    await this.send({ method: 'GET', path: `${API}/notifications`, query: { limit: 20 }, expect: (s) => s === 200 });
    await this.send({ method: 'GET', path: `${API}/notifications/unread-count`, expect: (s) => s === 200 });
  }
}

function parse(data: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(data);
    return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

