/**
 * The wired HTTP stack bench:http loads (test/support/http-stack.ts): real sessions (or the test header), the bench
 * user with a raised rate limit, and 20 stored executions. Shared by the bench and its telemetry child process.
 */
import type { CallerResolver } from '../http/pipeline.js';
import { TEST_USER_HEADER, testCallerResolver } from '../http/test-caller.js';
import type { RequestSampling } from '../http/tracing.js';
import { createMemoryRateLimitStore } from '../system/embedded/rate-limit-store.js';
import { PasswordHasher } from '../system/security/passwords.js';
import { resolveSecretKey } from '../system/security/secret-key.js';
import { ACCESS_COOKIE, SessionTokens } from '../system/security/sessions.js';
import { AccountService, createCallerResolver, createCsrfVerifier } from '../system/services/accounts.js';
import { createRateLimitService, type RateLimitService } from '../system/services/rate-limits.js';
import { RevokedSessions, UserStore } from '../system/stores/user-store.js';
import { startHttpStack, type HttpStack, type StackAuth } from '../test/support/http-stack.js';

/** Sessions unless BENCH_AUTH=header. */
export const SESSIONS = process.env['BENCH_AUTH'] !== 'header';
const BENCH_RULE = { endpoint_pattern: '^/api/v1/', group: 'bench', requests: 1_000_000, window_seconds: 1, priority: 100 };

/** A wired stack with the bench user signed in (or the test header) and 20 stored executions. */
export async function openStack(sampling?: RequestSampling): Promise<{ s: HttpStack; resolve: CallerResolver; credentials: Record<string, string> }> {
  let accounts: AccountService | null = null;
  let rateLimits: RateLimitService | null = null;
  const sessions: StackAuth = async ({ store, config, settings }) => {
    const tokens = new SessionTokens(await resolveSecretKey(config));
    accounts = new AccountService({ users: new UserStore(store), revoked: new RevokedSessions(store), tokens, passwords: new PasswordHasher(), settings });
    rateLimits = createRateLimitService({ store, counters: createMemoryRateLimitStore() });
    return { resolveCaller: createCallerResolver(accounts), csrf: createCsrfVerifier(tokens), rateLimiter: rateLimits };
  };
  const s = await startHttpStack({}, [], SESSIONS ? sessions : undefined, sampling ? { tracing: sampling } : {});
  let resolve: CallerResolver = testCallerResolver();
  let userId = 'bench';
  let credentials: Record<string, string> = { [TEST_USER_HEADER]: `${userId}:user` };
  if (accounts) {
    const a: AccountService = accounts;
    userId = (await a.register({ username: 'bench', email: 'bench@example.com', password: 'bench-password-1' })).user_id;
    const { session } = await a.login('bench', 'bench-password-1');
    // The limiter counts every request; the bench user's budget is raised so the load is never refused.
    await (rateLimits as RateLimitService | null)?.setOverride(userId, { rules: [BENCH_RULE] }, 'bench');
    credentials = { cookie: `${ACCESS_COOKIE}=${session.accessToken}` };
    resolve = createCallerResolver(a);
  }
  for (let i = 0; i < 20; i++) await s.seed(userId, { status: 'completed', stdout: `run ${i}\n`, stderr: '', exit_code: 0 });
  return { s, resolve, credentials };
}
