import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTempDir, type TempDir } from '../../test/support/temp-dir.js';
import { createSqliteDocumentStore } from '../embedded/document-store.js';
import { createMemoryRateLimitStore } from '../embedded/rate-limit-store.js';
import { openDataDir } from '../embedded/sqlite.js';
import { RateLimitOverrideSchema, type RateLimitOverrideInput } from '../domain/rate-limits.js';
import type { Collection, CollectionOptions, Doc, DocumentStore } from '../ports/document-store.js';
import type { RateLimitStore } from '../ports/rate-limit-store.js';
import { createRateLimitService, OVERRIDES_COLLECTION, type RateLimitService, type RateLimitServiceDeps } from './rate-limits.js';
import type { Caller } from './types.js';

const T0 = Math.ceil(Date.now() / 3_600_000) * 3_600_000;
const anon = (ip: string): Caller => ({ userId: null, role: 'anonymous', ip });
const user = (id: string, ip = '10.0.0.1'): Caller => ({ userId: id, role: 'user', ip });
const override = (value: RateLimitOverrideInput) => RateLimitOverrideSchema.parse(value);

let dir: TempDir;
let store: DocumentStore;
let counters: RateLimitStore;
let clock: number;
let errors: Array<{ error: unknown; what: string }>;

function service(extra: Partial<RateLimitServiceDeps> = {}): RateLimitService {
  return createRateLimitService({
    store,
    counters,
    now: () => clock,
    onError: (error, what) => errors.push({ error, what }),
    ...extra,
  });
}

/** The same store, except that every read fails (a store that went down). */
function failingReads(inner: DocumentStore): DocumentStore {
  return {
    collection<T extends Doc>(name: string, options?: CollectionOptions): Collection<T> {
      const c = inner.collection<T>(name, options);
      return {
        insert: (doc) => c.insert(doc),
        get: async () => Promise.reject(new Error('store down')),
        put: (doc) => c.put(doc),
        update: (id, patch) => c.update(id, patch),
        increment: (id, field, by) => c.increment(id, field, by),
        delete: (id) => c.delete(id),
        find: (filter, opts) => c.find(filter, opts),
        count: (filter) => c.count(filter),
      };
    },
    ping: () => inner.ping(),
    close: () => inner.close(),
  };
}

/** Checks `n` requests; returns how many passed (no verdict means no limit). */
async function passed(limiter: RateLimitService, caller: Caller, path: string, n: number): Promise<number> {
  let ok = 0;
  for (let i = 0; i < n; i++) if ((await limiter.check(caller, path))?.allowed ?? true) ok++;
  return ok;
}

beforeEach(async () => {
  dir = await createTempDir();
  store = createSqliteDocumentStore(openDataDir(dir.path));
  counters = createMemoryRateLimitStore();
  clock = T0 + 1_000;
  errors = [];
});
afterEach(async () => {
  await counters.close();
  await store.close();
  await dir.cleanup();
});

describe('rate-limit service: checks', () => {
  it("counts a signed-in caller by user without reading the address, an anonymous one by address", async () => {
    const limiter = service();
    let reads = 0;
    const signedIn: Caller = {
      userId: 'u1',
      role: 'user',
      get ip(): string {
        reads++;
        return '10.0.0.9';
      },
    };
    expect(await limiter.check(signedIn, '/api/v1/scripts')).not.toBeNull();
    expect(reads).toBe(0);
    const a = await limiter.check(anon('10.0.0.7'), '/api/v1/scripts');
    const b = await limiter.check(anon('10.0.0.7'), '/api/v1/scripts');
    const other = await limiter.check(anon('10.0.0.8'), '/api/v1/scripts');
    expect(b!.remaining).toBe(a!.remaining - 1);
    expect(other!.remaining).toBe(a!.remaining);
  });

  it('admits ten executions a minute per address, then refuses with the retry time', async () => {
    const limiter = service();
    const first = await limiter.check(anon('1.1.1.1'), '/api/v1/execute');
    expect(first).toEqual({ allowed: true, limit: 10, remaining: 9, resetAt: (T0 + 60_000) / 1000, retryAfterSeconds: 0 });
    expect(await passed(limiter, anon('1.1.1.1'), '/api/v1/execute', 10)).toBe(9);
    const refused = await limiter.check(anon('1.1.1.1'), '/api/v1/execute');
    expect(refused).toMatchObject({ allowed: false, limit: 10, remaining: 0 });
    expect(refused!.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(refused!.resetAt).toBe(Math.ceil(clock / 1000) + refused!.retryAfterSeconds);
    expect(await passed(limiter, anon('2.2.2.2'), '/api/v1/execute', 10)).toBe(10);
  });

  it('keys signed-in callers by user, whatever address they come from', async () => {
    const limiter = service();
    expect(await passed(limiter, user('u1', '1.1.1.1'), '/api/v1/execute', 10)).toBe(10);
    expect(await passed(limiter, user('u1', '9.9.9.9'), '/api/v1/execute', 1)).toBe(0);
    expect(await passed(limiter, user('u2', '1.1.1.1'), '/api/v1/execute', 10)).toBe(10);
    expect(await passed(limiter, anon('1.1.1.1'), '/api/v1/execute', 10)).toBe(10);
  });

  it('counts each rule group apart, and has no rule outside the API', async () => {
    const limiter = service();
    await passed(limiter, anon('1.1.1.1'), '/api/v1/execute', 10);
    expect(await limiter.check(anon('1.1.1.1'), '/api/v1/user/executions')).toMatchObject({ allowed: true, limit: 60 });
    expect(await passed(limiter, anon('1.1.1.1'), '/api/v1/events/executions/e1', 6)).toBe(5);
    expect(await limiter.check(anon('1.1.1.1'), '/metrics')).toBeNull();
  });

  it('lets the budget back in as the window slides', async () => {
    const limiter = service();
    await passed(limiter, anon('1.1.1.1'), '/api/v1/execute', 10);
    clock = T0 + 90_000;
    expect(await passed(limiter, anon('1.1.1.1'), '/api/v1/execute', 10)).toBe(5);
  });

  it('fails open and reports when the counter store is down', async () => {
    const broken = createMemoryRateLimitStore();
    await broken.close();
    const limiter = service({ counters: broken });
    expect(await limiter.check(anon('1.1.1.1'), '/api/v1/execute')).toBeNull();
    expect(errors[0]?.what).toBe('counting /api/v1/execute');
  });

  it('applies the defaults and reports when overrides cannot be read', async () => {
    await service().setOverride('u1', override({ bypass_rate_limit: true }), 'admin-1');
    const blind = service({ store: failingReads(store) });
    expect(await blind.check(user('u1'), '/api/v1/execute')).toMatchObject({ allowed: true, limit: 10 });
    expect(errors[0]?.what).toBe('reading the override of user u1');
  });
});

describe('rate-limit service: overrides', () => {
  it('a multiplier scales the budget, bypass lifts it, and both survive a restart of the store', async () => {
    const limiter = service();
    await limiter.setOverride('u1', override({ global_multiplier: 2 }), 'admin-1');
    await limiter.setOverride('u2', override({ bypass_rate_limit: true, notes: 'load tester' }), 'admin-1');
    expect(await passed(limiter, user('u1'), '/api/v1/execute', 21)).toBe(20);
    expect(await limiter.check(user('u2'), '/api/v1/execute')).toBeNull();

    await store.close();
    store = createSqliteDocumentStore(openDataDir(dir.path));
    await counters.close();
    counters = createMemoryRateLimitStore();
    const restarted = service();
    expect(await passed(restarted, user('u1'), '/api/v1/execute', 21)).toBe(20);
    expect(await passed(restarted, user('u2'), '/api/v1/execute', 50)).toBe(50);
    expect(await passed(restarted, user('u3'), '/api/v1/execute', 11)).toBe(10);
  });

  it("custom rules come first; a token bucket allows the burst, then refills at the steady rate", async () => {
    const limiter = service();
    const rule = { endpoint_pattern: '^/api/v1/execute$', group: 'burst', requests: 4, window_seconds: 60, algorithm: 'token_bucket' as const };
    await limiter.setOverride('u1', override({ rules: [rule] }), 'admin-1');
    const first = await limiter.check(user('u1'), '/api/v1/execute');
    expect(first).toMatchObject({ allowed: true, limit: 6, remaining: 5 });
    expect(await passed(limiter, user('u1'), '/api/v1/execute', 6)).toBe(5);
    const refused = await limiter.check(user('u1'), '/api/v1/execute');
    expect(refused).toMatchObject({ allowed: false, retryAfterSeconds: 15 });
    clock += 15_000;
    expect(await passed(limiter, user('u1'), '/api/v1/execute', 2)).toBe(1);
    // Paths the custom rule does not cover still fall to the defaults.
    expect(await limiter.check(user('u1'), '/api/v1/executions/e1/result')).toMatchObject({ limit: 60 });
  });

  it('a change made on another node shows once the cached override expires', async () => {
    const here = service({ overrideCacheMs: 5_000 });
    const elsewhere = service();
    expect(await passed(here, user('u1'), '/api/v1/user/executions', 1)).toBe(1);
    await elsewhere.setOverride('u1', override({ bypass_rate_limit: true }), 'admin-1');
    expect(await here.check(user('u1'), '/api/v1/user/executions')).not.toBeNull();
    clock += 5_000;
    expect(await here.check(user('u1'), '/api/v1/user/executions')).toBeNull();
    // Two changes stamped with the same millisecond are still told apart.
    clock += 5_000;
    await elsewhere.setOverride('u1', override({ global_multiplier: 3 }), 'admin-1');
    expect(await here.check(user('u1'), '/api/v1/user/executions')).toMatchObject({ limit: 180 });
    await elsewhere.setOverride('u1', override({ global_multiplier: 2 }), 'admin-1');
    clock += 5_000;
    expect(await here.check(user('u1'), '/api/v1/user/executions')).toMatchObject({ limit: 120 });
  });

  it('ignores and reports a stored override that is no longer valid', async () => {
    await store.collection<{ id: string; global_multiplier: number }>(OVERRIDES_COLLECTION).put({ id: 'u1', global_multiplier: -3 });
    const limiter = service();
    expect(await limiter.check(user('u1'), '/api/v1/execute')).toMatchObject({ allowed: true, limit: 10 });
    expect(errors[0]?.what).toBe('reading the override of user u1');
  });
});

describe('rate-limit service: administration', () => {
  it('shows defaults and usage for a user without an override, and resets their counters', async () => {
    const limiter = service();
    await passed(limiter, user('u1'), '/api/v1/execute', 4);
    const view = await limiter.userLimits('u1');
    expect(view).toMatchObject({
      user_id: 'u1',
      has_custom_limits: false,
      rate_limit_config: { bypass_rate_limit: false, global_multiplier: 1, rules: [], notes: null, updated_at: null },
    });
    expect(view.effective_rules.map((r) => r.group)).toEqual(['execution', 'auth', 'admin', 'sse', 'api']);
    expect(view.current_usage['execution']).toEqual({
      algorithm: 'sliding_window',
      limit: 10,
      remaining: 6,
      reset_at: new Date(T0 + 60_000).toISOString(),
    });
    expect(view.current_usage['api']).toMatchObject({ limit: 60, remaining: 60 });
    expect(await limiter.resetCounters('u1')).toBe(1);
    expect((await limiter.userLimits('u1')).current_usage['execution']?.remaining).toBe(10);
    expect(await limiter.resetCounters('u1')).toBe(0);
  });

  it('stores who changed an override and when; usage reflects the multiplier', async () => {
    const limiter = service();
    const view = await limiter.setOverride('u1', override({ global_multiplier: 3, notes: 'course' }), 'admin-1');
    expect(view).toMatchObject({
      has_custom_limits: true,
      rate_limit_config: { global_multiplier: 3, notes: 'course', updated_by: 'admin-1', updated_at: new Date(clock).toISOString() },
      current_usage: { execution: { limit: 30, remaining: 30 } },
    });
    expect(limiter.defaults()).toHaveLength(5);
  });
});
