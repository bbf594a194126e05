import { describe, expect, it } from 'vitest';
import type { CounterRule } from '../ports/rate-limit-store.js';
import { createMemoryRateLimitStore } from './rate-limit-store.js';

const RULE: CounterRule = { algorithm: 'sliding_window', limit: 2, windowMs: 60_000 };
const T0 = 1_800_000_000_000;

describe('in-memory rate-limit store', () => {
  it('holds at most maxKeys counters, evicting the least recently used', async () => {
    const store = createMemoryRateLimitStore({ maxKeys: 3 });
    for (const name of ['a', 'b', 'c']) await store.hit({ subject: 's', name }, RULE, T0);
    await store.hit({ subject: 's', name: 'a' }, RULE, T0);
    await store.hit({ subject: 's', name: 'd' }, RULE, T0);
    expect(store.size).toBe(3);
    // 'b' was evicted (fresh budget); 'a' was touched and kept its count.
    expect((await store.peek({ subject: 's', name: 'b' }, RULE, T0)).remaining).toBe(2);
    expect((await store.peek({ subject: 's', name: 'a' }, RULE, T0)).remaining).toBe(0);
  });

  it('prefers dropping expired counters over evicting live ones', async () => {
    const store = createMemoryRateLimitStore({ maxKeys: 2, sweepEveryMs: Number.MAX_SAFE_INTEGER });
    await store.hit({ subject: 's', name: 'old' }, { ...RULE, windowMs: 1_000 }, T0);
    await store.hit({ subject: 's', name: 'live' }, RULE, T0);
    await store.hit({ subject: 's', name: 'new' }, RULE, T0 + 5_000);
    expect((await store.peek({ subject: 's', name: 'live' }, RULE, T0 + 5_000)).remaining).toBe(1);
    expect(store.size).toBe(2);
  });

  it('sweeps idle counters on the sweep period even when no key is full', async () => {
    const store = createMemoryRateLimitStore({ sweepEveryMs: 1_000 });
    for (let i = 0; i < 50; i++) await store.hit({ subject: `ip:${i}`, name: 'api' }, { ...RULE, windowMs: 100 }, T0);
    expect(store.size).toBe(50);
    await store.hit({ subject: 'ip:x', name: 'api' }, RULE, T0 + 999);
    expect(store.size).toBe(51);
    await store.hit({ subject: 'ip:x', name: 'api' }, RULE, T0 + 1_000);
    expect(store.size).toBe(1);
  });

  it('refuses work once closed', async () => {
    const store = createMemoryRateLimitStore();
    await store.hit({ subject: 's', name: 'a' }, RULE, T0);
    await store.close();
    expect(store.size).toBe(0);
    await expect(store.hit({ subject: 's', name: 'a' }, RULE, T0)).rejects.toThrow(/closed/);
    await expect(store.ping()).rejects.toThrow(/closed/);
  });
});
