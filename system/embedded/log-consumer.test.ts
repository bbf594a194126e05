import { describe, expect, it } from 'vitest';
import { checkRetry, retryWait } from './log-consumer.js';

describe('retry policy', () => {
  const policy = { attempts: 3, initialMs: 100, factor: 2, maxMs: 400 };

  it('waits the full delay without jitter, and at most the delay, at least (1 - jitter) of it, with jitter', () => {
    expect(retryWait(policy, 200, () => 0.99)).toBe(200);
    const jittered = { ...policy, jitter: 0.5 };
    expect(retryWait(jittered, 200, () => 0)).toBe(200);
    expect(retryWait(jittered, 200, () => 0.5)).toBe(150);
    expect(retryWait(jittered, 200, () => 0.999)).toBe(100);
  });

  it('accepts jitter from 0 to 1 only', () => {
    expect(() => checkRetry({ ...policy, jitter: 0 })).not.toThrow();
    expect(() => checkRetry({ ...policy, jitter: 1 })).not.toThrow();
    expect(() => checkRetry({ ...policy, jitter: 1.5 })).toThrow(/invalid retry policy/);
    expect(() => checkRetry({ ...policy, jitter: -0.1 })).toThrow(/invalid retry policy/);
  });
});
