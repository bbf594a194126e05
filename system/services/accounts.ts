/** Accounts and sessions: register, log in and out, who is calling, CSRF binding, and the boot-time admin. */
import { randomUUID } from 'node:crypto';
import type { SettingsReader } from '../domain/admin-settings.js';
import { AppError, errors } from '../domain/errors.js';
import { isLocked, toProfile, type User, type UserProfile, type UserRole } from '../domain/users.js';
import type { PasswordHasher } from '../security/passwords.js';
import { ACCESS_COOKIE, cookieValue, type IssuedSession, type SessionTokens } from '../security/sessions.js';
import type { RevokedSessions, UserStore } from '../stores/user-store.js';
import { authMetrics } from '../telemetry/instruments.js';
import { callerOf, type Caller } from './types.js';

/** What the account services are built from. */
export interface AccountDeps {
  users: UserStore;
  revoked: RevokedSessions;
  tokens: SessionTokens;
  passwords: PasswordHasher;
  settings: SettingsReader;
  now?: () => number;
}

/** A successful login: the new session, who it belongs to, and how long the cookies live. */
export interface LoginResult {
  session: IssuedSession;
  user: User;
  maxAgeSeconds: number;
}

/** The same answer for an unknown user and a wrong password. */
const BAD_CREDENTIALS = 'Invalid username or password';

/** Registration, login/logout and session checks. Throws catalogue errors. */
export class AccountService {
  private readonly now: () => number;
  private readonly loginLocks = new KeyedLock();

  constructor(private readonly deps: AccountDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Self-service sign-up: always role `user`. 409 on a taken username/email, 422 on a short password. */
  async register(input: { username: string; email: string; password: string }): Promise<UserProfile> {
    checkPassword(this.deps.settings, input.password, 'password');
    const user = newUser({ ...input, role: 'user' }, await this.deps.passwords.hash(input.password), this.now());
    await this.deps.users.create(user);
    return toProfile(user);
  }

  /**
   * Checks credentials. 401 for an unknown user or a wrong password (same message, same work); 423 while the
   * account is locked, including the failure that locks it; 403 for a deactivated account with the right password.
   */
  async login(username: string, password: string): Promise<LoginResult> {
    try {
      const result = await this.checkLogin(username, password);
      authMetrics.login('success');
      return result;
    } catch (err) {
      authMetrics.login(loginFailure(err));
      throw err;
    }
  }

  private async checkLogin(username: string, password: string): Promise<LoginResult> {
    const { users, passwords } = this.deps;
    const found = await users.byUsername(username);
    if (!found) {
      await passwords.dummyVerify(password);
      throw errors.unauthenticated(BAD_CREDENTIALS);
    }
    // One attempt per account at a time, so parallel guesses cannot outrun the failure count.
    return this.loginLocks.run(found.userId, async () => {
      const user = await users.get(found.userId);
      if (!user) throw errors.unauthenticated(BAD_CREDENTIALS);
      const settings = this.deps.settings();
      if (isLocked(user, this.now())) throw locked(user, this.now());
      if (!(await passwords.verify(password, user.passwordHash))) {
        const policy = { maxAttempts: settings.max_login_attempts, lockoutMs: settings.lockout_duration_minutes * 60_000 };
        const next = await users.countFailedLogin(user.userId, policy, this.now());
        if (next?.locked) {
          authMetrics.lockedOut();
          throw locked(next, this.now());
        }
        throw errors.unauthenticated(BAD_CREDENTIALS);
      }
      if (!user.isActive) throw errors.forbidden('Account is disabled');
      const current = await this.afterSuccessfulLogin(user, password);
      const ttlMs = settings.session_timeout_minutes * 60_000;
      const session = await this.deps.tokens.issue(current, ttlMs, this.now());
      return { session, user: current, maxAgeSeconds: ttlMs / 1000 };
    });
  }

  /** Ends the session of this access token for good (a missing or invalid token is fine: nothing to end). */
  async logout(accessToken: string | undefined): Promise<void> {
    if (accessToken === undefined) return;
    const claims = await this.deps.tokens.verify(accessToken, this.now());
    if (!claims) return;
    await this.deps.revoked.revoke(claims.sessionId, claims.expiresAtMs);
    await this.deps.revoked.purgeExpired(this.now());
  }

  /** The signed-in caller's profile; 401 when the caller is anonymous or the account is gone. */
  async me(caller: Caller): Promise<UserProfile> {
    const user = caller.userId === null ? null : await this.deps.users.get(caller.userId);
    if (!user || !user.isActive) throw errors.unauthenticated();
    return toProfile(user);
  }

  /**
   * The user behind an access token, or null when the token is invalid, expired, logged out, from before a
   * password change, or its account is deleted or deactivated. Loads the account on every call.
   */
  async sessionUser(accessToken: string): Promise<{ user: User; sessionId: string; expiresAtMs: number } | null> {
    const claims = await this.deps.tokens.verify(accessToken, this.now());
    if (!claims) return null;
    const [user, revoked] = await Promise.all([this.deps.users.get(claims.userId), this.deps.revoked.isRevoked(claims.sessionId)]);
    if (!user || revoked || !user.isActive || user.sessionVersion !== claims.version) return null;
    return { user, sessionId: claims.sessionId, expiresAtMs: claims.expiresAtMs };
  }

  /**
   * GET /auth/verify-token: the session's user and a CSRF token bound to it — the client's own when it still
   * matches, else a fresh one (`renewed`, the caller sets its cookie). 401 without a valid session.
   */
  async verifySession(
    accessToken: string | undefined,
    csrfToken: string | undefined,
  ): Promise<{ user: User; csrfToken: string; renewed: boolean; maxAgeSeconds: number }> {
    const found = accessToken === undefined ? null : await this.sessionUser(accessToken);
    if (!found || accessToken === undefined) {
      authMetrics.tokenChecked('invalid');
      throw errors.unauthenticated();
    }
    const maxAgeSeconds = Math.max(1, Math.floor((found.expiresAtMs - this.now()) / 1000));
    if (csrfToken !== undefined && (await this.deps.tokens.csrfMatches(csrfToken, accessToken))) {
      authMetrics.tokenChecked('valid');
      return { user: found.user, csrfToken, renewed: false, maxAgeSeconds };
    }
    authMetrics.tokenChecked('refreshed');
    return { user: found.user, csrfToken: this.deps.tokens.csrfFor(found.sessionId), renewed: true, maxAgeSeconds };
  }

  /**
   * Makes sure the configured admin exists: creates it, or turns the existing user of that name into an active,
   * unlocked admin with that password. Nothing is created unless ADMIN_USERNAME/ADMIN_PASSWORD are set.
   */
  async ensureAdmin(username: string, password: string): Promise<{ created: boolean; userId: string }> {
    const existing = await this.deps.users.byUsername(username);
    if (existing) return { created: false, userId: await this.promoteToAdmin(existing, password) };
    const hash = await this.deps.passwords.hash(password);
    const local = username.toLowerCase().replace(/[^a-z0-9._-]/g, '_') || 'admin';
    for (const email of [`${local}@admin.invalid`, `${local}.${randomUUID().slice(0, 8)}@admin.invalid`]) {
      const user = { ...newUser({ username, email, role: 'admin' as const }, hash, this.now()), isSuperuser: true };
      try {
        await this.deps.users.create(user);
        return { created: true, userId: user.userId };
      } catch (err) {
        const field = err instanceof AppError ? err.extra.body?.['field'] : undefined;
        // Another node booting at the same moment created it: promote that one instead.
        const raced = field === 'username' ? await this.deps.users.byUsername(username) : null;
        if (raced) return { created: false, userId: await this.promoteToAdmin(raced, password) };
        if (field !== 'email') throw err;
      }
    }
    throw errors.conflict('Email already registered');
  }

  private async promoteToAdmin(user: User, password: string): Promise<string> {
    const { users, passwords } = this.deps;
    const samePassword = await passwords.verify(password, user.passwordHash);
    await users.update(user.userId, {
      role: 'admin',
      isActive: true,
      failedLoginAttempts: 0,
      lockedUntilMs: null,
      // Only a changed password ends the admin's sessions; a restart with the same one does not.
      ...(samePassword ? {} : { passwordHash: await passwords.hash(password), sessionVersion: user.sessionVersion + 1 }),
    });
    return user.userId;
  }

  private async afterSuccessfulLogin(user: User, password: string): Promise<User> {
    const { passwords, users } = this.deps;
    const rehash = passwords.needsRehash(user.passwordHash) ? { passwordHash: await passwords.hash(password) } : {};
    if (user.failedLoginAttempts === 0 && user.lockedUntilMs === null && !('passwordHash' in rehash)) return user;
    return (await users.update(user.userId, { failedLoginAttempts: 0, lockedUntilMs: null, ...rehash })) ?? user;
  }
}

/** The auth step of the HTTP pipeline: the access_token cookie → Caller; no valid session → anonymous. */
export function createCallerResolver(
  accounts: AccountService,
): (request: { headers: Readonly<Record<string, string>>; ip: string }) => Caller | Promise<Caller> {
  return (request) => {
    const token = cookieValue(request.headers['cookie'], ACCESS_COOKIE);
    // No session cookie: anonymous at once, without a promise.
    if (token === undefined) return callerOf(request, null, 'anonymous');
    return accounts.sessionUser(token).then((found) => (found ? callerOf(request, found.user.userId, found.user.role) : callerOf(request, null, 'anonymous')));
  };
}

/** The CSRF step's verifier: the token must be bound to the session of the access token (constant-time). */
export function createCsrfVerifier(tokens: SessionTokens): { verify(csrfToken: string, accessToken: string): Promise<boolean> } {
  return { verify: (csrfToken, accessToken) => tokens.csrfMatches(csrfToken, accessToken) };
}

/** 422 naming `field` when the password is shorter than the admin setting `password_min_length`. */
export function checkPassword(settings: SettingsReader, password: string, field: string): void {
  const min = settings().password_min_length;
  if (password.length < min) throw errors.validation([{ field, message: `must be at least ${min} characters` }]);
}

/** A new active account with no failed logins. */
export function newUser(fields: { username: string; email: string; role: UserRole }, passwordHash: string, nowMs: number): User {
  return {
    userId: randomUUID(),
    username: fields.username,
    email: fields.email,
    role: fields.role,
    isActive: true,
    isSuperuser: false,
    createdAtMs: nowMs,
    updatedAtMs: nowMs,
    passwordHash,
    failedLoginAttempts: 0,
    lockedUntilMs: null,
    sessionVersion: 1,
  };
}

/** How a failed login is counted: by the catalogue error it ended with. */
function loginFailure(err: unknown): 'bad_credentials' | 'locked' | 'disabled' | 'error' {
  const kind = err instanceof AppError ? err.kind : null;
  return kind === 'Unauthenticated' ? 'bad_credentials' : kind === 'Locked' ? 'locked' : kind === 'Forbidden' ? 'disabled' : 'error';
}

function locked(user: { lockedUntilMs: number | null }, nowMs: number): AppError {
  const seconds = Math.max(1, Math.ceil(((user.lockedUntilMs ?? nowMs) - nowMs) / 1000));
  return new AppError('Locked', 'Account locked due to too many failed login attempts', {
    headers: { 'retry-after': String(seconds) },
    body: { retry_after: seconds },
  });
}

/** Runs tasks one at a time per key (in this process); keys with nothing queued take no memory. */
class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const prior = this.tails.get(key) ?? Promise.resolve();
    const result = prior.then(task, task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
