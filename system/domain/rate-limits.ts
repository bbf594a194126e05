/**
 * Rate-limit rules and per-user overrides (API names, as admins send and the store keeps them), the default
 * rules, and how the rule for a request is chosen: the user's own rules first, then the defaults, each list by
 * priority (higher first); the first enabled rule whose pattern matches the path applies.
 */
import { z } from 'zod';

/** How a rule counts: a sliding window over `window_seconds`, or a token bucket refilled at `requests` per window. */
export const RATE_LIMIT_ALGORITHMS = ['sliding_window', 'token_bucket'] as const;
export type RateLimitAlgorithm = (typeof RATE_LIMIT_ALGORITHMS)[number];

/** Longest endpoint pattern accepted; patterns run against every request path. */
export const MAX_PATTERN_CHARS = 300;

/** One rule. `burst_multiplier` sizes a token bucket (`requests × burst_multiplier` tokens); windows ignore it. */
export const RateLimitRuleSchema = z.strictObject({
  endpoint_pattern: z
    .string()
    .min(1)
    .max(MAX_PATTERN_CHARS)
    .refine((source) => compilePattern(source) !== null, 'not a valid regular expression'),
  group: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, '1 to 64 letters, digits, dots, dashes or underscores'),
  requests: z.number().int().min(1).max(1_000_000),
  window_seconds: z.number().int().min(1).max(86_400),
  burst_multiplier: z.number().min(1).max(100).default(1.5),
  algorithm: z.enum(RATE_LIMIT_ALGORITHMS).default('sliding_window'),
  priority: z.number().int().min(-1_000).max(1_000).default(0),
  enabled: z.boolean().default(true),
});
export type RateLimitRule = z.output<typeof RateLimitRuleSchema>;

/**
 * A user's override. `bypass_rate_limit` lifts every limit; `global_multiplier` scales `requests` of every rule
 * that applies to the user; `rules` come before the defaults, and one with the same `endpoint_pattern` as a
 * default replaces it (so a disabled copy switches that default off for the user).
 */
export const RateLimitOverrideSchema = z.strictObject({
  bypass_rate_limit: z.boolean().default(false),
  global_multiplier: z.number().positive().max(1_000).default(1),
  rules: z.array(RateLimitRuleSchema).max(50).default([]),
  notes: z.string().max(2_000).nullable().default(null),
});
export type RateLimitOverride = z.output<typeof RateLimitOverrideSchema>;
/** An override as sent, before defaults are filled in. */
export type RateLimitOverrideInput = z.input<typeof RateLimitOverrideSchema>;

/** The override of a user who has none. */
export const NO_OVERRIDE: RateLimitOverride = { bypass_rate_limit: false, global_multiplier: 1, rules: [], notes: null };

const rule = (
  endpoint_pattern: string,
  group: string,
  requests: number,
  priority: number,
): RateLimitRule => ({
  endpoint_pattern,
  group,
  requests,
  window_seconds: 60,
  burst_multiplier: 1.5,
  algorithm: 'sliding_window',
  priority,
  enabled: true,
});

/**
 * The rules every caller gets (API.md): the specific groups outrank the catch-all. The catch-all leaves out
 * `/api/v1/health/`: liveness and readiness probes (load balancers, Kubernetes) must never be throttled.
 */
export const DEFAULT_RATE_LIMIT_RULES: readonly RateLimitRule[] = Object.freeze([
  rule('^/api/v1/execute', 'execution', 10, 40),
  rule('^/api/v1/auth/.*', 'auth', 20, 30),
  rule('^/api/v1/admin/.*', 'admin', 100, 30),
  rule('^/api/v1/events/.*', 'sse', 5, 30),
  rule('^/api/v1/(?!health/).*', 'api', 60, 0),
]);

/** A rule with its pattern compiled once. */
export interface CompiledRule {
  rule: RateLimitRule;
  pattern: RegExp;
}

/** The regular expression for a pattern, or null when it does not compile. */
export function compilePattern(source: string): RegExp | null {
  try {
    return new RegExp(source);
  } catch {
    return null;
  }
}

/** Compiles rules (already validated) and orders them by priority, higher first; ties keep their order. */
export function compileRules(rules: readonly RateLimitRule[]): CompiledRule[] {
  return rules
    .map((r, index) => {
      const pattern = compilePattern(r.endpoint_pattern);
      if (!pattern) throw new Error(`rate-limit rule ${index} has an invalid endpoint_pattern`);
      return { rule: r, pattern, index };
    })
    .sort((a, b) => b.rule.priority - a.rule.priority || a.index - b.index)
    .map(({ rule: r, pattern }) => ({ rule: r, pattern }));
}

/** The order rules are tried in for a user: their own first, then the defaults they did not replace. */
export function layerRules(defaults: readonly CompiledRule[], custom: readonly CompiledRule[]): CompiledRule[] {
  if (custom.length === 0) return [...defaults];
  const replaced = new Set(custom.map((c) => c.rule.endpoint_pattern));
  return [...custom, ...defaults.filter((d) => !replaced.has(d.rule.endpoint_pattern))];
}

/** The rule that applies to a path: the first enabled one that matches, or null. */
export function matchRule(ordered: readonly CompiledRule[], path: string): CompiledRule | null {
  for (const candidate of ordered) {
    if (candidate.rule.enabled && candidate.pattern.test(path)) return candidate;
  }
  return null;
}

/** `requests` scaled by a user's multiplier, never below one request. */
export function scaledRequests(requests: number, multiplier: number): number {
  return Math.max(1, Math.floor(requests * multiplier));
}
