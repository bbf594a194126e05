/**
 * Rate limiting: the limiter the HTTP pipeline asks on every request, and the per-user overrides admins manage.
 * Counters live behind the RateLimitStore port, keyed by subject (`user:<id>` when signed in, `ip:<address>`
 * otherwise) and the rule's group (rules of one group and shape share a budget). Overrides are documents in
 * `rate_limit_overrides`, so they survive restarts; each node caches them for `overrideCacheMs` (refreshed at
 * once by this node's own changes, so another node's change shows within that time).
 */
import { randomUUID } from 'node:crypto';
import {
  compileRules,
  DEFAULT_RATE_LIMIT_RULES,
  layerRules,
  matchRule,
  NO_OVERRIDE,
  RateLimitOverrideSchema,
  scaledRequests,
  type CompiledRule,
  type RateLimitOverride,
  type RateLimitOverrideInput,
  type RateLimitRule,
} from '../domain/rate-limits.js';
import type { Collection, DocumentStore } from '../ports/document-store.js';
import type { CounterRule, CounterVerdict, RateLimitStore } from '../ports/rate-limit-store.js';
import { requestGuardMetrics } from '../telemetry/instruments.js';
import type { Caller } from './types.js';

/** One verdict as the HTTP pipeline's rate-limit step reads it (its RateLimitDecision). */
export interface RateLimitVerdict {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Epoch seconds. */
  resetAt: number;
  retryAfterSeconds: number;
}

/** The standing budget of one rule group, for admins. */
export interface GroupUsage {
  algorithm: RateLimitRule['algorithm'];
  limit: number;
  remaining: number;
  reset_at: string;
}

/** A user's limits as the admin API shows them. */
export interface UserRateLimits {
  user_id: string;
  has_custom_limits: boolean;
  rate_limit_config: RateLimitOverride & { updated_at: string | null; updated_by: string | null };
  /** The rules in the order they are tried for this user. */
  effective_rules: RateLimitRule[];
  current_usage: Record<string, GroupUsage>;
}

/** The limiter and its administration. Throws AppError from the catalogue only through its callers' validation. */
export interface RateLimitService {
  /** Counts a request against the rule that applies to it; null when none applies or the user bypasses limits. */
  check(caller: Caller, path: string): RateLimitVerdict | null | Promise<RateLimitVerdict | null>;
  /** The rules every caller gets. */
  defaults(): RateLimitRule[];
  /** A user's override (or none), the rules that apply and what is left of each group's budget. */
  userLimits(userId: string): Promise<UserRateLimits>;
  /** Replaces a user's override (validated again here; a ZodError means the caller skipped validation). */
  setOverride(userId: string, override: RateLimitOverrideInput, by: string): Promise<UserRateLimits>;
  /** Clears a user's counters; resolves with how many there were. */
  resetCounters(userId: string): Promise<number>;
}

/** What the service needs. */
export interface RateLimitServiceDeps {
  store: DocumentStore;
  counters: RateLimitStore;
  /** The rules every caller gets; default DEFAULT_RATE_LIMIT_RULES. */
  defaults?: readonly RateLimitRule[];
  /** Epoch milliseconds; default Date.now. */
  now?: () => number;
  /** How long a node trusts a cached override; default 5 000 (a change on another node shows within it). */
  overrideCacheMs?: number;
  /** Most overrides cached; default 10 000. */
  overrideCacheSize?: number;
  /**
   * Our own faults, reported here: an override that cannot be read (the defaults apply) or counters that cannot
   * be counted (the request is let through without limits rather than refusing everyone).
   */
  onError?: (error: unknown, what: string) => void;
}

/** The collection that keeps overrides, one document per user id. */
export const OVERRIDES_COLLECTION = 'rate_limit_overrides';

interface OverrideDoc extends RateLimitOverride {
  id: string;
  updated_at: string;
  updated_by: string;
  /** New on every write, so a node can tell a changed override from the one it compiled. */
  revision: string;
}

/** A user's override ready for requests. */
interface LoadedOverride {
  override: RateLimitOverride;
  ordered: CompiledRule[];
}

/** Paths whose rule is remembered per rule list (then the memory starts again: paths with ids are unbounded). */
const REMEMBERED_PATHS = 2048;
const remembered = new WeakMap<readonly CompiledRule[], Map<string, CompiledRule | null>>();

/** matchRule, remembered per (immutable) rule list and path: requests repeat paths, and matching tries each rule's pattern. */
function matchRemembered(ordered: readonly CompiledRule[], path: string): CompiledRule | null {
  let memo = remembered.get(ordered);
  if (!memo) remembered.set(ordered, (memo = new Map()));
  let match = memo.get(path);
  if (match === undefined) {
    match = matchRule(ordered, path);
    if (memo.size >= REMEMBERED_PATHS) memo.clear();
    memo.set(path, match);
  }
  return match;
}

/** Builds the rate-limit service over a document store (overrides) and a counter store. */
export function createRateLimitService(deps: RateLimitServiceDeps): RateLimitService {
  const now = deps.now ?? Date.now;
  const cacheMs = deps.overrideCacheMs ?? 5_000;
  const cacheSize = deps.overrideCacheSize ?? 10_000;
  const onError = deps.onError ?? ((error, what) => console.error(`rate limiting: ${what} failed:`, error));
  const defaultRules = [...(deps.defaults ?? DEFAULT_RATE_LIMIT_RULES)];
  const defaults = compileRules(defaultRules);
  const docs: Collection<OverrideDoc> = deps.store.collection<OverrideDoc>(OVERRIDES_COLLECTION);
  const cache = new Map<string, { loaded: LoadedOverride | null; revision: string | null; expiresAtMs: number }>();

  /** Reads a user's override from the store (a fresh read) and caches it; an unchanged one is not compiled again. */
  async function fetchOverride(userId: string): Promise<{ doc: OverrideDoc | null; loaded: LoadedOverride | null }> {
    const doc = await docs.get(userId);
    const revision = doc?.revision ?? null;
    const cached = cache.get(userId);
    const loaded = cached && revision !== null && cached.revision === revision ? cached.loaded : compileOverride(userId, doc);
    cache.delete(userId);
    if (cache.size >= cacheSize) {
      const oldest = cache.keys().next();
      if (!oldest.done) cache.delete(oldest.value);
    }
    cache.set(userId, { loaded, revision, expiresAtMs: now() + cacheMs });
    return { doc, loaded };
  }

  function compileOverride(userId: string, doc: OverrideDoc | null): LoadedOverride | null {
    if (!doc) return null;
    const parsed = RateLimitOverrideSchema.safeParse(stripMeta(doc));
    if (parsed.success) return { override: parsed.data, ordered: layerRules(defaults, compileRules(parsed.data.rules)) };
    onError(parsed.error, `reading the override of user ${userId}`);
    return null;
  }

  async function usage(subject: string, ordered: readonly CompiledRule[], multiplier: number): Promise<Record<string, GroupUsage>> {
    const out: Record<string, GroupUsage> = {};
    const at = now();
    for (const { rule } of ordered) {
      if (!rule.enabled || out[rule.group]) continue;
      const verdict = await deps.counters.peek({ subject, name: counterName(rule) }, counterRule(rule, multiplier), at);
      out[rule.group] = {
        algorithm: rule.algorithm,
        limit: verdict.limit,
        remaining: verdict.remaining,
        reset_at: new Date(verdict.resetAtMs).toISOString(),
      };
    }
    return out;
  }

  async function userLimits(userId: string): Promise<UserRateLimits> {
    const { doc, loaded } = await fetchOverride(userId);
    const override = loaded?.override ?? NO_OVERRIDE;
    const ordered = loaded?.ordered ?? defaults;
    return {
      user_id: userId,
      has_custom_limits: loaded !== null,
      rate_limit_config: { ...override, updated_at: doc?.updated_at ?? null, updated_by: doc?.updated_by ?? null },
      effective_rules: ordered.map((c) => c.rule),
      current_usage: await usage(subjectOf(userId, ''), ordered, override.global_multiplier),
    };
  }

  /** Which rule a request counts against: none when the user bypasses limits or no rule matches the path. */
  function ruleFor(path: string, loaded: LoadedOverride | null): CompiledRule | null {
    if (loaded?.override.bypass_rate_limit) return null;
    return matchRemembered(loaded?.ordered ?? defaults, path);
  }

  /** Counts the request against the first rule that matches; null when none does or the user bypasses limits. */
  async function count(caller: Caller, path: string, loaded: LoadedOverride | null, match = ruleFor(path, loaded)): Promise<RateLimitVerdict | null> {
    if (!match) return null;
    const rule = counterRule(match.rule, loaded?.override.global_multiplier ?? 1);
    // The address is read only for anonymous callers: reading it costs more than the rest of a small request.
    const key = { subject: caller.userId !== null ? subjectOf(caller.userId, '') : subjectOf(null, caller.ip), name: counterName(match.rule) };
    try {
      const verdict = toVerdict(await deps.counters.hit(key, rule, now()));
      requestGuardMetrics.rateLimited(match.rule.group, verdict.allowed);
      return verdict;
    } catch (error) {
      onError(error, `counting ${path}`);
      return null;
    }
  }

  return {
    check(caller, path) {
      let loaded: LoadedOverride | null = null;
      if (caller.userId !== null) {
        const cached = cache.get(caller.userId);
        if (cached && cached.expiresAtMs > now()) loaded = cached.loaded;
        else {
          return fetchOverride(caller.userId).then(
            (fetched) => count(caller, path, fetched.loaded),
            (error: unknown) => {
              onError(error, `reading the override of user ${caller.userId}`);
              return count(caller, path, null);
            },
          );
        }
      }
      // Paths no rule covers (health probes) and users who bypass limits are answered without a promise.
      const match = ruleFor(path, loaded);
      return match ? count(caller, path, loaded, match) : null;
    },
    defaults: () => defaultRules.map((r) => ({ ...r })),
    userLimits,
    async setOverride(userId, override, by) {
      const valid = RateLimitOverrideSchema.parse(override);
      await docs.put({ id: userId, ...valid, updated_at: new Date(now()).toISOString(), updated_by: by, revision: randomUUID() });
      return userLimits(userId);
    },
    async resetCounters(userId) {
      return deps.counters.reset(subjectOf(userId, ''));
    },
  };
}

/** Whose budget a request spends: the signed-in user's, else its address's. */
export function subjectOf(userId: string | null, ip: string): string {
  return userId !== null ? `user:${userId}` : `ip:${ip}`;
}

/** The counter a rule spends within a subject: one per group, apart per shape so differing rules never share state. */
export function counterName(rule: RateLimitRule): string {
  return `${rule.group}/${rule.algorithm}/${rule.window_seconds}`;
}

/** A rule as the counter store applies it, with the user's multiplier. */
export function counterRule(rule: RateLimitRule, multiplier: number): CounterRule {
  const requests = scaledRequests(rule.requests, multiplier);
  const windowMs = rule.window_seconds * 1000;
  return rule.algorithm === 'sliding_window'
    ? { algorithm: 'sliding_window', limit: requests, windowMs }
    : { algorithm: 'token_bucket', capacity: scaledRequests(requests, rule.burst_multiplier), tokensPerWindow: requests, windowMs };
}

/** Counter store → pipeline: milliseconds become the whole seconds of the X-RateLimit-* and Retry-After headers. */
export function toVerdict(v: CounterVerdict): RateLimitVerdict {
  return {
    allowed: v.allowed,
    limit: v.limit,
    remaining: v.remaining,
    resetAt: Math.ceil(v.resetAtMs / 1000),
    retryAfterSeconds: v.allowed ? 0 : Math.max(1, Math.ceil(v.retryAfterMs / 1000)),
  };
}

function stripMeta(doc: OverrideDoc): RateLimitOverride {
  const { id: _id, updated_at: _at, updated_by: _by, revision: _revision, ...override } = doc;
  return override;
}
