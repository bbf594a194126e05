import type { Caller } from '../system/services/types.js';
import type { CallerResolver } from './pipeline.js';

/** The header tests and benches use to say who is calling: `x-test-user: <user id>:<user|admin>`. */
export const TEST_USER_HEADER = 'x-test-user';

/** A value for the test header. */
export function testUser(userId: string, role: 'user' | 'admin' = 'user'): Record<string, string> {
  return { [TEST_USER_HEADER]: `${userId}:${role}` };
}

/**
 * A CallerResolver for tests and benches only, standing in for real sessions: the test header names the user;
 * without it (or with a malformed one) the caller is `fallback` (anonymous by default). Never wire it in a node.
 */
export function testCallerResolver(fallback: Omit<Caller, 'ip'> = { userId: null, role: 'anonymous' }): CallerResolver {
  return ({ headers, ip }) => {
    const raw = headers[TEST_USER_HEADER];
    const m = raw === undefined ? null : /^([^:]{1,128}):(user|admin)$/.exec(raw);
    if (!m) return { ...fallback, ip };
    return { userId: m[1]!, role: m[2] as 'user' | 'admin', ip };
  };
}
