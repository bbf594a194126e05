import { describe, expect, it } from 'vitest';
import {
  compileRules,
  DEFAULT_RATE_LIMIT_RULES,
  layerRules,
  matchRule,
  RateLimitOverrideSchema,
  RateLimitRuleSchema,
  scaledRequests,
  type RateLimitRule,
} from './rate-limits.js';

const custom = (over: Partial<RateLimitRule>): RateLimitRule =>
  RateLimitRuleSchema.parse({ endpoint_pattern: '^/api/v1/execute', group: 'mine', requests: 3, window_seconds: 10, ...over });

describe('default rate-limit rules', () => {
  it('are the ones API.md lists, and valid rules', () => {
    expect(DEFAULT_RATE_LIMIT_RULES.map((r) => [r.endpoint_pattern, r.requests, r.window_seconds])).toEqual([
      ['^/api/v1/execute', 10, 60],
      ['^/api/v1/auth/.*', 20, 60],
      ['^/api/v1/admin/.*', 100, 60],
      ['^/api/v1/events/.*', 5, 60],
      ['^/api/v1/(?!health/).*', 60, 60],
    ]);
    for (const rule of DEFAULT_RATE_LIMIT_RULES) expect(RateLimitRuleSchema.parse(rule)).toEqual(rule);
    expect(new Set(DEFAULT_RATE_LIMIT_RULES.map((r) => r.group)).size).toBe(5);
  });

  it('never throttle health probes', () => {
    const rules = compileRules(DEFAULT_RATE_LIMIT_RULES);
    expect(matchRule(rules, '/api/v1/health/live')).toBeFalsy();
    expect(matchRule(rules, '/api/v1/health/ready')).toBeFalsy();
    expect(matchRule(rules, '/api/v1/k8s-limits')?.rule.group).toBe('api');
  });

  it('let the specific rules win over the catch-all, whatever order they are listed in', () => {
    for (const rules of [DEFAULT_RATE_LIMIT_RULES, [...DEFAULT_RATE_LIMIT_RULES].reverse()]) {
      const ordered = compileRules(rules);
      const groupOf = (path: string) => matchRule(ordered, path)?.rule.group ?? null;
      expect(groupOf('/api/v1/execute')).toBe('execution');
      expect(groupOf('/api/v1/auth/login')).toBe('auth');
      expect(groupOf('/api/v1/admin/users/')).toBe('admin');
      expect(groupOf('/api/v1/events/executions/e1')).toBe('sse');
      expect(groupOf('/api/v1/user/executions')).toBe('api');
      expect(groupOf('/metrics')).toBeNull();
    }
  });
});

describe('rule selection', () => {
  const defaults = compileRules(DEFAULT_RATE_LIMIT_RULES);

  it("puts the user's rules before the defaults, even at a lower priority", () => {
    const ordered = layerRules(defaults, compileRules([custom({ endpoint_pattern: '^/api/v1/.*', priority: -5 })]));
    expect(matchRule(ordered, '/api/v1/execute')?.rule.group).toBe('mine');
  });

  it('skips disabled rules; a disabled copy of a default switches that default off for the user', () => {
    const ordered = layerRules(defaults, compileRules([custom({ group: 'execution', enabled: false })]));
    expect(matchRule(ordered, '/api/v1/execute')?.rule.group).toBe('api');
    expect(ordered.filter((c) => c.rule.endpoint_pattern === '^/api/v1/execute')).toHaveLength(1);
    expect(layerRules(defaults, [])).toEqual(defaults);
  });

  it('orders equal priorities by position', () => {
    const ordered = compileRules([custom({ group: 'a' }), custom({ group: 'b' }), custom({ group: 'c', priority: 1 })]);
    expect(ordered.map((c) => c.rule.group)).toEqual(['c', 'a', 'b']);
  });

  it('scales requests by the multiplier, never below one', () => {
    expect(scaledRequests(10, 2)).toBe(20);
    expect(scaledRequests(10, 0.25)).toBe(2);
    expect(scaledRequests(10, 0.01)).toBe(1);
    expect(scaledRequests(10, 1.5)).toBe(15);
  });
});

describe('override schema', () => {
  const issues = (value: unknown) => {
    const parsed = RateLimitOverrideSchema.safeParse(value);
    return parsed.success ? [] : parsed.error.issues.map((i) => i.path.join('.'));
  };

  it('fills defaults for an empty override and for a rule', () => {
    expect(RateLimitOverrideSchema.parse({})).toEqual({ bypass_rate_limit: false, global_multiplier: 1, rules: [], notes: null });
    expect(custom({})).toMatchObject({ burst_multiplier: 1.5, algorithm: 'sliding_window', priority: 0, enabled: true });
  });

  it('names each bad field: a regex that does not compile, numbers out of range, unknown keys', () => {
    const rule = { endpoint_pattern: '^/api/(', group: 'g', requests: 0, window_seconds: 1.5, algorithm: 'fixed' };
    expect(issues({ rules: [rule] }).sort()).toEqual(['rules.0.algorithm', 'rules.0.endpoint_pattern', 'rules.0.requests', 'rules.0.window_seconds']);
    expect(issues({ global_multiplier: 0 })).toEqual(['global_multiplier']);
    expect(issues({ rules: [{ ...custom({}), group: 'no spaces' }] })).toEqual(['rules.0.group']);
    expect(issues({ bypass: true })).toEqual(['']);
    expect(issues({ endpoint_pattern: 'x'.repeat(301) })).toEqual(['']);
    expect(issues({ rules: [{ ...custom({}), endpoint_pattern: 'x'.repeat(301) }] })).toEqual(['rules.0.endpoint_pattern']);
  });
});
