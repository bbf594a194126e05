import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../domain/errors.js';
import { createSqliteDocumentStore } from '../embedded/document-store.js';
import { openDatabase } from '../embedded/sqlite.js';
import type { DocumentStore } from '../ports/document-store.js';
import { PasswordHasher } from '../security/passwords.js';
import { SessionTokens } from '../security/sessions.js';
import { RevokedSessions, UserStore } from '../stores/user-store.js';
import { testSettings } from '../../test/support/accounts-server.js';
import { AccountService, createCallerResolver, createCsrfVerifier } from './accounts.js';

let store: DocumentStore;
let clock: number;
let users: UserStore;
let accounts: AccountService;
const settings = testSettings({ max_login_attempts: 3, lockout_duration_minutes: 5 });
const passwords = new PasswordHasher({ N: 2 ** 10, r: 8, p: 1 });
const tokens = new SessionTokens('s'.repeat(64));

beforeEach(() => {
  store = createSqliteDocumentStore(openDatabase(':memory:'));
  clock = Date.now();
  users = new UserStore(store, () => clock);
  accounts = new AccountService({ users, revoked: new RevokedSessions(store), tokens, passwords, settings: () => settings, now: () => clock });
});
afterEach(() => store.close());

const kindOf = (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (e instanceof AppError ? e.kind : String(e)));
const cookie = (token: string) => ({ cookie: `access_token=${token}` });

describe('AccountService', () => {
  it('creates nothing by itself; ensureAdmin creates an active superuser admin that can log in', async () => {
    expect(await users.count()).toBe(0);
    const { created, userId } = await accounts.ensureAdmin('Boss', 'boss-password');
    expect(created).toBe(true);
    expect(await users.get(userId)).toMatchObject({ username: 'Boss', role: 'admin', isActive: true, isSuperuser: true, email: 'boss@admin.invalid' });
    expect((await accounts.login('boss', 'boss-password')).user.role).toBe('admin');
  });

  it('ensureAdmin promotes an existing user, sets the password, unlocks and activates it; a restart with the same password keeps sessions', async () => {
    const profile = await accounts.register({ username: 'boss', email: 'boss@example.com', password: 'user-password' });
    await users.update(profile.user_id, { isActive: false, lockedUntilMs: clock + 60_000, failedLoginAttempts: 2 });
    expect(await accounts.ensureAdmin('boss', 'admin-password')).toEqual({ created: false, userId: profile.user_id });
    expect(await users.get(profile.user_id)).toMatchObject({ role: 'admin', isActive: true, lockedUntilMs: null, failedLoginAttempts: 0 });
    expect(await kindOf(accounts.login('boss', 'user-password'))).toBe('Unauthenticated');
    const { session } = await accounts.login('boss', 'admin-password');
    await accounts.ensureAdmin('boss', 'admin-password');
    expect(await accounts.sessionUser(session.accessToken)).not.toBeNull();
    await accounts.ensureAdmin('boss', 'rotated-password');
    expect(await accounts.sessionUser(session.accessToken)).toBeNull();
    expect(await users.count()).toBe(1);
  });

  it('ensureAdmin picks another email when the default one is taken', async () => {
    await accounts.register({ username: 'someone', email: 'root@admin.invalid', password: 'password-123' });
    const { userId } = await accounts.ensureAdmin('root', 'root-password');
    expect((await users.get(userId))?.email).toMatch(/^root\.[0-9a-f]{8}@admin\.invalid$/);
  });

  it('a lockout ends by itself after lockout_duration_minutes', async () => {
    await accounts.register({ username: 'amy', email: 'amy@example.com', password: 'password-123' });
    expect(await kindOf(accounts.login('amy', 'x'))).toBe('Unauthenticated');
    expect(await kindOf(accounts.login('amy', 'x'))).toBe('Unauthenticated');
    expect(await kindOf(accounts.login('amy', 'x'))).toBe('Locked');
    clock += 5 * 60_000 - 1;
    expect(await kindOf(accounts.login('amy', 'password-123'))).toBe('Locked');
    clock += 1;
    expect(await kindOf(accounts.login('amy', 'password-123'))).toBe('ok');
    expect(await users.byUsername('amy')).toMatchObject({ failedLoginAttempts: 0, lockedUntilMs: null });
  });

  it('parallel guesses cannot outrun the failure count', async () => {
    await accounts.register({ username: 'ben', email: 'ben@example.com', password: 'password-123' });
    const kinds = await Promise.all(Array.from({ length: 10 }, () => kindOf(accounts.login('ben', 'guess'))));
    expect(kinds.filter((k) => k === 'Unauthenticated')).toHaveLength(2);
    expect(kinds.filter((k) => k === 'Locked')).toHaveLength(8);
  });

  it('upgrades a hash made with older parameters at the next login', async () => {
    const old = new PasswordHasher({ N: 2 ** 9, r: 8, p: 1 });
    const profile = await accounts.register({ username: 'cat', email: 'cat@example.com', password: 'password-123' });
    await users.update(profile.user_id, { passwordHash: await old.hash('password-123') });
    await accounts.login('cat', 'password-123');
    expect((await users.get(profile.user_id))?.passwordHash).toMatch(/^scrypt\$1024\$/);
  });

  it('the caller resolver: anonymous without or with a bad cookie; the stored role applies at once', async () => {
    const resolver = createCallerResolver(accounts);
    // The caller reads the address from the request only when asked (see callerOf): compare what it answers.
    const resolve = async (request: { headers: Record<string, string>; ip: string }) => {
      const caller = await resolver(request);
      return { userId: caller.userId, role: caller.role, ip: caller.ip };
    };
    expect(await resolve({ headers: {}, ip: '10.0.0.1' })).toEqual({ userId: null, role: 'anonymous', ip: '10.0.0.1' });
    expect(await resolve({ headers: cookie('nope'), ip: '10.0.0.1' })).toEqual({ userId: null, role: 'anonymous', ip: '10.0.0.1' });
    const profile = await accounts.register({ username: 'dan', email: 'dan@example.com', password: 'password-123' });
    const { session } = await accounts.login('dan', 'password-123');
    expect(await resolve({ headers: cookie(session.accessToken), ip: 'ip' })).toEqual({ userId: profile.user_id, role: 'user', ip: 'ip' });
    await users.update(profile.user_id, { role: 'admin' });
    expect((await resolve({ headers: cookie(session.accessToken), ip: 'ip' })).role).toBe('admin');
    await users.delete(profile.user_id);
    expect((await resolve({ headers: cookie(session.accessToken), ip: 'ip' })).role).toBe('anonymous');
  });

  it('sessions expire after session_timeout_minutes', async () => {
    await accounts.register({ username: 'eve', email: 'eve@example.com', password: 'password-123' });
    const { session, maxAgeSeconds } = await accounts.login('eve', 'password-123');
    expect(maxAgeSeconds).toBe(settings.session_timeout_minutes * 60);
    clock += maxAgeSeconds * 1000 + 1000;
    expect(await accounts.sessionUser(session.accessToken)).toBeNull();
  });

  it('the CSRF verifier accepts only the token bound to the session', async () => {
    await accounts.register({ username: 'fay', email: 'fay@example.com', password: 'password-123' });
    const a = (await accounts.login('fay', 'password-123')).session;
    const b = (await accounts.login('fay', 'password-123')).session;
    const csrf = createCsrfVerifier(tokens);
    expect(await csrf.verify(a.csrfToken, a.accessToken)).toBe(true);
    expect(await csrf.verify(b.csrfToken, a.accessToken)).toBe(false);
  });
});

describe('ensureAdmin at concurrent boots', () => {
  it('two nodes creating the admin at once end with one admin', async () => {
    const results = await Promise.all([accounts.ensureAdmin('root', 'root-password'), accounts.ensureAdmin('root', 'root-password')]);
    expect(new Set(results.map((r) => r.userId)).size).toBe(1);
    expect(await users.count()).toBe(1);
    expect(await users.count('admin')).toBe(1);
  });
});
