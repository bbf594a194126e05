/** Accounts for virtual users: register, log in (form + cookie jar), lift rate limits through an admin. */
import { type HttpClient, type HttpResponse, type RequestSpec } from './http-client.js';
import { API } from './scenarios/types.js';

/** Thrown when an account step fails in a way the scenario cannot work around. */
export class AccountError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AccountError';
  }
}

/** Seconds to wait from a 429 answer (`Retry-After`, else the body's `retry_after`, else 1). */
export function retryAfterSeconds(res: HttpResponse): number {
  const header = Number(res.headers['retry-after']);
  if (Number.isFinite(header) && header >= 0) return header;
  const body = res.json<{ retry_after?: number }>();
  if (body && typeof body.retry_after === 'number') return body.retry_after;
  return 1;
}

/** Options for a step that may be throttled: how to wait, and whether to record it. */
export interface StepOptions {
  /** Waits (false when the run is over); when absent, a 429 is returned as is. */
  sleep?: (ms: number) => Promise<boolean>;
  unrecorded?: boolean;
  /** Told how long a 429 makes the step wait (setup steps print it). */
  onThrottle?: (seconds: number, path: string) => void;
}

const MAX_WAITS = 10;

/** Sends a request, waiting out 429 answers (Retry-After) while the run lasts, at most MAX_WAITS times. */
export async function requestPatiently(client: HttpClient, spec: RequestSpec, opts: StepOptions): Promise<HttpResponse> {
  // A 429 that is waited out is the server pacing us, not an error (it still shows in the status codes).
  const expect = spec.expect;
  const paced: RequestSpec = { ...spec, ...(opts.unrecorded ? { unrecorded: true } : {}), ...(expect && opts.sleep ? { expect: (s: number) => s === 429 || expect(s) } : {}) };
  for (let attempt = 1; ; attempt++) {
    const res = await client.request(paced);
    if (res.status !== 429 || !opts.sleep || attempt > MAX_WAITS) return res;
    const wait = retryAfterSeconds(res);
    opts.onThrottle?.(wait, spec.path);
    if (!(await opts.sleep(Math.max(100, wait * 1000)))) return res;
  }
}

export interface Account {
  userId: string;
  username: string;
  role: string;
}

/** Registers a user; returns its id. 409 (already there) is fine when `existingOk`. */
export async function register(client: HttpClient, username: string, password: string, opts: StepOptions & { existingOk?: boolean } = {}): Promise<string | null> {
  const res = await requestPatiently(
    client,
    {
      method: 'POST',
      path: `${API}/auth/register`,
      json: { username, email: `${username}@loadtest.example.com`, password },
      route: `${API}/auth/register`,
      expect: (s) => s === 200 || s === 201 || (opts.existingOk === true && s === 409),
    },
    opts,
  );
  if (res.status === 200 || res.status === 201) return res.json<{ user_id?: string }>()?.user_id ?? null;
  if (res.status === 409 && opts.existingOk) return null;
  throw new AccountError(`register ${username}: HTTP ${res.status} ${res.text().slice(0, 200)}`);
}

/** Logs in with the form the SPA uses; the jar then holds access_token and csrf_token. */
export async function login(client: HttpClient, username: string, password: string, opts: StepOptions = {}): Promise<Account> {
  const res = await requestPatiently(
    client,
    { method: 'POST', path: `${API}/auth/login`, form: { username, password }, route: `${API}/auth/login`, expect: (s) => s === 200 },
    opts,
  );
  if (res.status !== 200) throw new AccountError(`login ${username}: HTTP ${res.status} ${res.text().slice(0, 200)}`);
  if (!client.jar.has('csrf_token')) throw new AccountError(`login ${username}: no csrf_token cookie in the answer`);
  const me = await requestPatiently(client, { method: 'GET', path: `${API}/auth/me`, expect: (s) => s === 200 }, opts);
  const body = me.json<{ user_id?: string; role?: string }>();
  if (me.status !== 200 || !body?.user_id) throw new AccountError(`auth/me after login: HTTP ${me.status}`);
  return { userId: body.user_id, username, role: body.role ?? 'user' };
}

/** Lifts every rate limit of a user (admin session needed). */
export async function liftRateLimits(admin: HttpClient, userId: string, opts: StepOptions = {}): Promise<void> {
  const res = await requestPatiently(
    admin,
    {
      method: 'PUT',
      path: `${API}/admin/rate-limits/${encodeURIComponent(userId)}`,
      json: { bypass_rate_limit: true, global_multiplier: 1, rules: [], notes: 'integr8s-loadtest virtual user' },
      expect: (s) => s === 200,
    },
    opts,
  );
  if (res.status !== 200) throw new AccountError(`lifting rate limits of ${userId}: HTTP ${res.status} ${res.text().slice(0, 200)}`);
}

/** A password good enough for any sane password policy. */
export function passwordFor(username: string): string {
  return `lt-${username}-Correct-Horse-9`;
}

/** A setup step's 429 note: "rate limited on /api/v1/auth/login, waiting 12 s". */
export function throttleNote(ctx: { log(line: string): void }): (seconds: number, path: string) => void {
  return (seconds, path) => ctx.log(`setup: rate limited on ${path.split('?')[0]}, waiting ${seconds} s`);
}
