/**
 * monkey mode: --clients workers send requests from MonkeyGenerator back to back until the duration is over.
 * A request fails when the target answers 5xx, resets or closes the connection without answering a
 * well-formed request, or neither answers nor closes within --timeout (a hang). 4xx answers are the expected
 * reaction to garbage and count as fine. Every failure is listed with the request that caused it (up to 100;
 * all are counted and grouped).
 */
import { liftRateLimits, login, passwordFor, register, retryAfterSeconds, throttleNote } from '../accounts.js';
import { TransportError, type HttpClient, type HttpResponse, type StreamResult } from '../http-client.js';
import { sendRaw } from '../raw-http.js';
import { MonkeyGenerator, operationsFrom, type IdPool, type MonkeyHttpRequest, type MonkeyRawRequest, type SessionKind } from './monkey-gen.js';
import { API, type Scenario, type ScenarioResult } from './types.js';

const MAX_LISTED = 100;
const EXCERPT = 300;

/** 5xx answer; reset (closed without answering); hang (no answer, no close); bad-response (the answer broke HTTP). */
export type FailureType = '5xx' | 'reset' | 'hang' | 'bad-response';

export interface MonkeyFailure {
  n: number;
  worker: number;
  /** The worker's request number (with --seed, the same worker sends the same sequence). */
  seq: number;
  failure: FailureType;
  kind: string;
  method: string;
  target: string;
  session: string;
  mutation: string;
  headers: string;
  body: string;
  status: number | null;
  response: string;
  error?: string;
}

function failureOf(kind: string): FailureType {
  return kind === 'timeout' ? 'hang' : kind === 'protocol' ? 'bad-response' : 'reset';
}

function excerpt(value: Buffer | string | undefined, max = EXCERPT): string {
  if (value === undefined) return '';
  const text = typeof value === 'string' ? value : value.subarray(0, max * 4).toString('utf8');
  const total = typeof value === 'string' ? value.length : value.length;
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return total > max ? `${cut} (${total} bytes)` : cut;
}

export function monkeyScenario(): Scenario {
  let generator: MonkeyGenerator;
  const users: HttpClient[] = [];
  let username = '';
  let password = '';
  const pool: IdPool = {};

  return {
    async setup(ctx) {
      const setupClient = ctx.newClient();
      const doc = (await setupClient.request({ method: 'GET', path: `${API}/openapi.json`, unrecorded: true })).json();
      const operations = operationsFrom(doc);
      if (operations.length === 0) throw new Error(`no operations in ${API}/openapi.json`);
      username = `lt_${ctx.runId}_monkey`;
      password = passwordFor(username);
      const step = { unrecorded: true, sleep: ctx.sleep, onThrottle: throttleNote(ctx) };
      await register(setupClient, username, password, step);
      const account = await login(setupClient, username, password, step);
      pool.user_id = account.userId;
      if (ctx.admin && !ctx.options.keepRateLimits) await liftRateLimits(ctx.admin, account.userId, step);
      // Real ids for path parameters: a saved script and an execution of this user.
      const limits = (await setupClient.request({ method: 'GET', path: `${API}/k8s-limits`, unrecorded: true })).json<{
        supported_runtimes?: Record<string, { versions?: string[] }>;
      }>();
      const version = limits?.supported_runtimes?.['python']?.versions?.[0] ?? '3.11';
      const script = await setupClient.request({
        method: 'POST',
        path: `${API}/scripts`,
        json: { name: 'monkey', script: 'print("monkey")', lang: 'python', lang_version: version },
        unrecorded: true,
      });
      pool.script_id = script.json<{ script_id?: string }>()?.script_id;
      const exec = await setupClient.request({ method: 'POST', path: `${API}/execute`, json: { script: 'print("monkey")', lang: 'python', lang_version: version }, unrecorded: true });
      pool.execution_id = exec.json<{ execution_id?: string }>()?.execution_id;
      for (let w = 0; w < ctx.options.clients; w++) {
        const c = ctx.newClient();
        await login(c, username, password, step);
        users.push(c);
      }
      generator = new MonkeyGenerator(operations, pool, ctx.admin !== null);
    },

    async run(ctx): Promise<ScenarioResult> {
      const o = ctx.options;
      const failures: MonkeyFailure[] = [];
      const groups = new Map<string, { failure: FailureType; request: string; count: number; first_n: number }>();
      const byKind: Record<string, number> = {};
      const byFailure: Record<FailureType, number> = { '5xx': 0, reset: 0, hang: 0, 'bad-response': 0 };
      let total = 0;
      let clientRejected = 0;
      let relogins = 0;
      let n = 0;

      const fail = (f: Omit<MonkeyFailure, 'n'>, groupKey: string) => {
        n += 1;
        byFailure[f.failure] += 1;
        ctx.setProgress('failures', n);
        if (failures.length < MAX_LISTED) failures.push({ n, ...f });
        const key = `${f.failure} ${groupKey}`;
        const g = groups.get(key);
        if (g) g.count += 1;
        else groups.set(key, { failure: f.failure, request: groupKey, count: 1, first_n: n });
      };

      const loginBlockedUntil: number[] = [];
      const anons = users.map(() => ctx.newClient());
      const stales = users.map(() => ctx.newClient());

      const clientFor = async (w: number, kind: SessionKind): Promise<{ client: HttpClient; headers: Record<string, string>; csrf: boolean; used: SessionKind }> => {
        const anonymous = () => {
          const anon = anons[w]!;
          anon.jar.clear();
          return { client: anon, headers: {}, csrf: true, used: 'none' as const };
        };
        if (kind === 'admin' && ctx.admin) return { client: ctx.admin, headers: {}, csrf: true, used: kind };
        if (kind === 'none') return anonymous();
        if (kind === 'stale') {
          const stale = stales[w]!;
          stale.jar.clear();
          stale.jar.set('access_token', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJub2JvZHkifQ.invalid-signature');
          stale.jar.set('csrf_token', 'stale.csrf');
          return { client: stale, headers: {}, csrf: true, used: kind };
        }
        const user = users[w]!;
        if (!user.jar.has('access_token') && ctx.now() >= (loginBlockedUntil[w] ?? 0)) {
          // Logged out by an earlier request: sign in again (if the auth rate limit allows).
          try {
            const res = await user.request({ method: 'POST', path: `${API}/auth/login`, form: { username, password }, expect: (s) => s === 200 || s === 429 });
            if (res.status === 200) relogins += 1;
            else loginBlockedUntil[w] = ctx.now() + Math.max(1000, retryAfterSeconds(res) * 1000);
          } catch {
            /* recorded; fall through to an anonymous request */
          }
        }
        if (!user.jar.has('access_token')) return anonymous();
        if (kind === 'no-csrf') return { client: user, headers: {}, csrf: false, used: kind };
        if (kind === 'bad-csrf') return { client: user, headers: { 'x-csrf-token': 'forged.token' }, csrf: true, used: kind };
        return { client: user, headers: {}, csrf: true, used: kind };
      };

      const sendHttp = async (w: number, seq: number, req: MonkeyHttpRequest) => {
        const { client, headers, csrf, used } = await clientFor(w, req.session);
        const spec = {
          method: req.method,
          path: req.path,
          headers: { ...req.headers, ...headers },
          ...(req.body !== undefined ? { body: req.body } : {}),
          route: req.route,
          csrf,
          expect: (s: number) => s < 500,
          // An answer to HEAD must have no body; if it has one anyway, it must not spill into pooled requests.
          fresh: req.method === 'HEAD',
        };
        const describeReq = () => ({
          worker: w,
          seq,
          kind: req.kind,
          method: req.method,
          target: excerpt(req.path, 500),
          session: used,
          mutation: req.mutation,
          headers: excerpt(
            Object.entries(spec.headers)
              .map(([k, v]) => `${k}: ${v}`)
              .join('\n'),
            600,
          ),
          body: excerpt(req.body),
        });
        const isStream = req.method === 'GET' && /\/events\//.test(req.path);
        let status: number | null = null;
        let body: Buffer | undefined;
        try {
          if (isStream) {
            const r: StreamResult = await client.stream(spec, { maxOpenMs: 300, idleTimeoutMs: o.timeoutMs });
            if (r.end === 'cancelled') return;
            if (r.end === 'timeout' || r.end === 'network' || r.end === 'protocol') {
              fail({ ...describeReq(), failure: failureOf(r.end), status: r.status, response: '', ...(r.error ? { error: r.error } : {}) }, `${req.method} ${req.route}`);
              return;
            }
            status = r.status;
            body = r.body;
          } else {
            const r: HttpResponse = await client.request(spec);
            status = r.status;
            body = r.body;
          }
        } catch (err) {
          if (!(err instanceof TransportError)) throw err;
          if (err.kind === 'cancelled') return;
          if (err.kind === 'client') {
            clientRejected += 1;
            return;
          }
          fail({ ...describeReq(), failure: failureOf(err.kind), status: null, response: '', error: err.message }, `${req.method} ${req.route}`);
          return;
        }
        if (status !== null && status >= 500) fail({ ...describeReq(), failure: '5xx', status, response: excerpt(body) }, `${req.method} ${req.route}`);
      };

      const sendRawReq = async (w: number, seq: number, req: MonkeyRawRequest) => {
        const target = o.target;
        const bytes = req.bytes(target.host);
        const res = await sendRaw(bytes, {
          host: target.hostname.replace(/^\[|\]$/g, ''),
          port: Number(target.port || (target.protocol === 'https:' ? 443 : 80)),
          secure: target.protocol === 'https:',
          timeoutMs: o.timeoutMs,
          endAfterWrite: !req.mustAnswer,
          signal: ctx.hard,
          tracker: ctx.transport.tracker,
        });
        if (res.end === 'cancelled') {
          ctx.recorder.cancelled += 1;
          return;
        }
        let failure: FailureType | null = null;
        if (res.status !== null && res.status >= 500) failure = '5xx';
        else if (res.end === 'timeout') failure = 'hang';
        else if (res.status === null && req.mustAnswer) failure = 'reset';
        ctx.recorder.record({
          method: 'RAW',
          route: `(raw) ${req.label}`,
          status: res.status,
          ...(res.status === null ? { failure: res.end === 'timeout' ? ('timeout' as const) : ('network' as const) } : {}),
          latencyMs: res.latencyMs,
          bytesIn: res.bytesIn,
          bytesOut: bytes.length,
          error: failure !== null,
        });
        if (failure) {
          fail(
            {
              worker: w,
              seq,
              failure,
              kind: 'raw',
              method: 'RAW',
              target: req.label,
              session: 'none',
              mutation: req.mustAnswer ? 'well-formed HTTP: must be answered' : 'malformed HTTP: may be refused or closed',
              headers: '',
              body: excerpt(bytes.toString('latin1'), 500),
              status: res.status,
              response: excerpt(res.excerpt),
              ...(res.error ? { error: res.error } : {}),
            },
            `RAW ${req.label}`,
          );
        }
      };

      const worker = async (w: number) => {
        const rng = ctx.rng.fork(1000 + w);
        if (!(await ctx.sleep((o.rampUp * 1000 * w) / o.clients))) return;
        let seq = 0;
        while (!ctx.stop.aborted) {
          const req = generator.next(rng);
          seq += 1;
          total += 1;
          byKind[req.kind] = (byKind[req.kind] ?? 0) + 1;
          if (req.kind === 'raw') await sendRawReq(w, seq, req);
          else await sendHttp(w, seq, req);
        }
      };
      await Promise.all(Array.from({ length: o.clients }, (_, w) => worker(w)));

      const grouped = [...groups.values()].sort((a, b) => b.count - a.count);
      const failuresTotal = byFailure['5xx'] + byFailure.reset + byFailure.hang + byFailure['bad-response'];
      return {
        summary: {
          seed: o.seed,
          operations: generator.operations.length,
          requests_generated: total,
          requests_by_kind: byKind,
          rejected_by_client: clientRejected,
          relogins,
          failures_by_type: byFailure,
          failure_groups: grouped,
          failures_listed: failures.length,
          failures,
        },
        failures: failuresTotal,
        reasons: grouped.slice(0, 20).map((g) => `${g.failure} ×${g.count}: ${g.request} (first: #${g.first_n})`),
      };
    },
  };
}

