import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTempDir, type TempDir } from '../../test/support/temp-dir.js';
import { createSqliteDocumentStore } from '../../system/embedded/document-store.js';
import { createMemoryRateLimitStore } from '../../system/embedded/rate-limit-store.js';
import { openDataDir } from '../../system/embedded/sqlite.js';
import type { DocumentStore } from '../../system/ports/document-store.js';
import type { RateLimitStore } from '../../system/ports/rate-limit-store.js';
import { createRateLimitService, type RateLimitService } from '../../system/services/rate-limits.js';
import type { CallerResolver, RateLimiter } from '../pipeline.js';
import { Router } from '../router.js';
import { testCallerResolver } from '../test-caller.js';
import { startHarness, type Harness } from '../test-support.js';
import { adminRateLimitRoutes } from './admin-rate-limits.js';

const T0 = Math.ceil(Date.now() / 3_600_000) * 3_600_000;

/** Test auth (test-caller.ts), plus `x-test-ip` standing in for the client address. */
const testCaller = testCallerResolver();
const resolveCaller: CallerResolver = ({ headers, ip }) => testCaller({ headers, ip: headers['x-test-ip'] ?? ip });

let dir: TempDir;
let store: DocumentStore;
let counters: RateLimitStore;
let clock: number;
let limiter: RateLimitService;
let h: Harness | null = null;

async function start(): Promise<Harness> {
  await h?.server.close();
  limiter = createRateLimitService({ store, counters, now: () => clock });
  // The pipeline's interface, checked at compile time.
  const rateLimiter: RateLimiter = limiter;
  h = await startHarness({ rateLimiter, resolveCaller, routes: [adminRateLimitRoutes({ rateLimits: limiter })] });
  return h;
}

const as = (who?: string, ip?: string): Record<string, string> => ({
  'content-type': 'application/json',
  ...(who ? { 'x-test-user': who } : {}),
  ...(ip ? { 'x-test-ip': ip } : {}),
});
const execute = (base: string, headers: Record<string, string>) =>
  fetch(`${base}/api/v1/execute`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ script: 'print(1)', lang: 'python', lang_version: '3.11' }),
  });
async function statuses(base: string, headers: Record<string, string>, n: number, path = '/api/v1/execute'): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = path === '/api/v1/execute' ? await execute(base, headers) : await fetch(`${base}${path}`, { headers });
    await res.arrayBuffer();
    out.push(res.status);
  }
  return out;
}
const admin = (base: string, method: string, path: string, who: string | undefined, body?: unknown) =>
  fetch(`${base}/api/v1/admin/rate-limits${path}`, {
    method,
    headers: as(who),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
const ok = (n: number) => Array<number>(n).fill(200);

beforeEach(async () => {
  dir = await createTempDir();
  store = createSqliteDocumentStore(openDataDir(dir.path));
  counters = createMemoryRateLimitStore();
  clock = T0 + 1_000;
});
afterEach(async () => {
  await h?.server.close();
  h = null;
  await counters.close();
  await store.close();
  await dir.cleanup();
});

describe('rate limits through the server', () => {
  it('the 11th execution in a minute gets 429 with Retry-After and {detail, retry_after, reset_at}', async () => {
    const { base } = await start();
    const remaining: string[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await execute(base, as('alice:user'));
      expect(res.status).toBe(200);
      expect(res.headers.get('x-ratelimit-limit')).toBe('10');
      expect(res.headers.get('x-ratelimit-reset')).toBe(String((T0 + 60_000) / 1000));
      remaining.push(res.headers.get('x-ratelimit-remaining') ?? '');
      await res.arrayBuffer();
    }
    expect(remaining).toEqual(['9', '8', '7', '6', '5', '4', '3', '2', '1', '0']);
    const res = await execute(base, as('alice:user'));
    expect(res.status).toBe(429);
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(res.headers.get('x-ratelimit-remaining')).toBe('0');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toEqual({
      detail: 'Rate limit exceeded',
      type: 'Throttled',
      retry_after: retryAfter,
      reset_at: new Date(Number(res.headers.get('x-ratelimit-reset')) * 1000).toISOString(),
    });
    expect(h!.executions.submitted).toHaveLength(10);
  });

  it('counts anonymous callers per address and signed-in callers per user', async () => {
    const { base } = await start();
    const limits = '/api/v1/k8s-limits';
    expect(await statuses(base, as(undefined, '1.1.1.1'), 61, limits)).toEqual([...ok(60), 429]);
    expect(await statuses(base, as(undefined, '2.2.2.2'), 1, limits)).toEqual([200]);
    // Anonymous attempts on a signed-in route spend the address's budget too.
    expect(await statuses(base, as(undefined, '1.1.1.1'), 11)).toEqual([...Array<number>(10).fill(401), 429]);
    expect(await statuses(base, as('alice:user', '1.1.1.1'), 11)).toEqual([...ok(10), 429]);
    expect(await statuses(base, as('bob:user', '1.1.1.1'), 10)).toEqual(ok(10));
    expect(await statuses(base, as('alice:user', '3.3.3.3'), 1)).toEqual([429]);
  });

  it('an override with a multiplier or bypass changes the outcome, and outlives a restart', async () => {
    let { base } = await start();
    expect((await admin(base, 'PUT', '/alice', 'root:admin', { global_multiplier: 2 })).status).toBe(200);
    expect((await admin(base, 'PUT', '/bob', 'root:admin', { bypass_rate_limit: true, notes: 'load test' })).status).toBe(200);
    expect(await statuses(base, as('alice:user'), 21)).toEqual([...ok(20), 429]);
    const bypassed = await execute(base, as('bob:user'));
    expect(bypassed.headers.get('x-ratelimit-limit')).toBeNull();
    expect(await statuses(base, as('bob:user'), 30)).toEqual(ok(30));

    // A new node on the same database file: fresh counters, same overrides.
    await h!.server.close();
    await store.close();
    store = createSqliteDocumentStore(openDataDir(dir.path));
    counters = createMemoryRateLimitStore();
    ({ base } = await start());
    expect(await statuses(base, as('alice:user'), 21)).toEqual([...ok(20), 429]);
    expect(await statuses(base, as('bob:user'), 15)).toEqual(ok(15));
    expect(await statuses(base, as('carol:user'), 11)).toEqual([...ok(10), 429]);
  });

  it('a token-bucket rule allows the burst, then refills', async () => {
    const { base } = await start();
    const rule = { endpoint_pattern: '^/api/v1/execute$', group: 'execution', requests: 10, window_seconds: 60, algorithm: 'token_bucket' };
    expect((await admin(base, 'PUT', '/alice', 'root:admin', { rules: [rule] })).status).toBe(200);
    expect(await statuses(base, as('alice:user'), 16)).toEqual([...ok(15), 429]);
    const refused = await execute(base, as('alice:user'));
    expect(refused.headers.get('retry-after')).toBe('6');
    clock += 6_000;
    expect(await statuses(base, as('alice:user'), 2)).toEqual([200, 429]);
    clock += 90_000;
    expect(await statuses(base, as('alice:user'), 16)).toEqual([...ok(15), 429]);
  });
});

describe('admin rate-limit routes', () => {
  it('are for admins only: 401 without a session, 403 for a user', async () => {
    const { base } = await start();
    for (const [method, path] of [['GET', '/defaults'], ['GET', '/u1'], ['PUT', '/u1'], ['POST', '/u1/reset']] as const) {
      expect((await admin(base, method, path, undefined, method === 'PUT' ? {} : undefined)).status, `${method} ${path}`).toBe(401);
      expect((await admin(base, method, path, 'u2:user', method === 'PUT' ? {} : undefined)).status, `${method} ${path}`).toBe(403);
    }
    expect(await limiter.userLimits('u1')).toMatchObject({ has_custom_limits: false });
  });

  it('GET defaults lists the default rules', async () => {
    const { base } = await start();
    const res = await admin(base, 'GET', '/defaults', 'root:admin');
    expect(res.status).toBe(200);
    const rules = (await res.json()) as Array<{ endpoint_pattern: string; requests: number }>;
    expect(rules.map((r) => `${r.endpoint_pattern} ${r.requests}`)).toEqual([
      '^/api/v1/execute 10',
      '^/api/v1/auth/.* 20',
      '^/api/v1/admin/.* 100',
      '^/api/v1/events/.* 5',
      '^/api/v1/(?!health/).* 60',
    ]);
  });

  it('PUT validates with 422 naming each field and keeps the old override', async () => {
    const { base } = await start();
    await admin(base, 'PUT', '/u1', 'root:admin', { global_multiplier: 2 });
    const bad = await admin(base, 'PUT', '/u1', 'root:admin', {
      global_multiplier: 0,
      rules: [{ endpoint_pattern: '^/api/(', group: 'g', requests: 0, window_seconds: 60 }],
    });
    expect(bad.status).toBe(422);
    const body = (await bad.json()) as { type: string; errors: Array<{ field: string }> };
    expect(body.type).toBe('ValidationError');
    expect(body.errors.map((e) => e.field).sort()).toEqual(['global_multiplier', 'rules.0.endpoint_pattern', 'rules.0.requests']);
    expect((await admin(base, 'PUT', '/u1', 'root:admin', { bypass: true })).status).toBe(422);
    expect((await admin(base, 'PUT', '/u1', 'root:admin')).status).toBe(422);
    expect((await admin(base, 'GET', `/${'x'.repeat(129)}`, 'root:admin')).status).toBe(422);
    expect((await limiter.userLimits('u1')).rate_limit_config.global_multiplier).toBe(2);
  });

  it('GET shows the config, effective rules and usage; reset clears the counters', async () => {
    const { base } = await start();
    const put = await admin(base, 'PUT', '/alice', 'root:admin', { global_multiplier: 0.5, notes: 'trial' });
    expect(await put.json()).toMatchObject({ user_id: 'alice', has_custom_limits: true, rate_limit_config: { updated_by: 'root' } });
    expect(await statuses(base, as('alice:user'), 6)).toEqual([...ok(5), 429]);
    const view = await (await admin(base, 'GET', '/alice', 'root:admin')).json();
    expect(view).toMatchObject({
      user_id: 'alice',
      has_custom_limits: true,
      rate_limit_config: { bypass_rate_limit: false, global_multiplier: 0.5, rules: [], notes: 'trial' },
      current_usage: { execution: { algorithm: 'sliding_window', limit: 5, remaining: 0 }, api: { limit: 30, remaining: 30 } },
    });
    const reset = await admin(base, 'POST', '/alice/reset', 'root:admin');
    expect(await reset.json()).toEqual({ message: 'Rate limits reset for user alice', cleared: 1 });
    expect(await statuses(base, as('alice:user'), 1)).toEqual([200]);
    const nobody = await (await admin(base, 'GET', '/nobody', 'root:admin')).json();
    expect(nobody).toMatchObject({ has_custom_limits: false, rate_limit_config: { global_multiplier: 1, updated_at: null } });
  });

  it('registers every route with its documentation', () => {
    const router = new Router();
    adminRateLimitRoutes({ rateLimits: createRateLimitService({ store, counters }) })(router, {} as never);
    const docs = router.list();
    expect(docs.map((r) => `${r.method} ${r.pattern}`).sort()).toEqual([
      'GET /api/v1/admin/rate-limits/defaults',
      'GET /api/v1/admin/rate-limits/{user_id}',
      'POST /api/v1/admin/rate-limits/{user_id}/reset',
      'PUT /api/v1/admin/rate-limits/{user_id}',
    ]);
    for (const { doc } of docs) expect(doc).toMatchObject({ auth: 'admin', tag: 'admin-rate-limits', summary: expect.any(String), response: expect.anything() });
  });
});
