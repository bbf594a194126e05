import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../domain/errors.js';
import type { User } from '../domain/users.js';
import { createSqliteDocumentStore } from '../embedded/document-store.js';
import { openDatabase } from '../embedded/sqlite.js';
import type { DocumentStore } from '../ports/document-store.js';
import { RevokedSessions, UserStore } from './user-store.js';

let store: DocumentStore;
let clock = 1_700_000_000_000;
let users: UserStore;
beforeEach(() => {
  store = createSqliteDocumentStore(openDatabase(':memory:'));
  clock = 1_700_000_000_000;
  users = new UserStore(store, () => clock);
});
afterEach(() => store.close());

let seq = 0;
function user(username: string, email = `${username}@example.com`, over: Partial<User> = {}): User {
  seq++;
  return {
    userId: `id-${seq}`,
    username,
    email,
    role: 'user',
    isActive: true,
    isSuperuser: false,
    createdAtMs: clock + seq,
    updatedAtMs: clock + seq,
    passwordHash: 'scrypt$x',
    failedLoginAttempts: 0,
    lockedUntilMs: null,
    sessionVersion: 1,
    ...over,
  };
}

async function conflictField(p: Promise<unknown>): Promise<unknown> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).kind).toBe('Conflict');
  return (err as AppError).extra.body?.['field'];
}

describe('UserStore', () => {
  it('round-trips a user; lookups by username are case-insensitive', async () => {
    const u = user('Alice', 'Alice@Example.com', { lockedUntilMs: clock + 5, role: 'admin' });
    await users.create(u);
    expect(await users.get(u.userId)).toEqual(u);
    expect(await users.byUsername('alice')).toEqual(u);
    expect(await users.byUsername(' ALICE ')).toEqual(u);
    expect(await users.get('nope')).toBeNull();
  });

  it('username and email are unique regardless of case; a refused create leaves no claims behind', async () => {
    await users.create(user('bob'));
    expect(await conflictField(users.create(user('BOB', 'other@example.com')))).toBe('username');
    expect(await conflictField(users.create(user('bobby', 'BOB@example.com')))).toBe('email');
    // 'bobby' was claimed and released when its email clashed.
    await users.create(user('bobby'));
    expect(await users.count()).toBe(2);
  });

  it('concurrent creates of one username: exactly one wins', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 8 }), async (n) => {
        const name = `race${seq}`;
        const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => users.create(user(name, `${name}-${i}@x.io`))));
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      }),
      { numRuns: 10 },
    );
  });

  it('update: a rename claims the new name and frees the old one; a taken name is refused and nothing changes', async () => {
    const carl = user('carl');
    await users.create(carl);
    await users.create(user('dora'));
    clock += 1000;
    const renamed = await users.update(carl.userId, { username: 'Carlos', role: 'admin' });
    expect(renamed).toMatchObject({ username: 'Carlos', role: 'admin', updatedAtMs: clock });
    await users.create(user('carl', 'carl2@example.com'));
    expect(await conflictField(users.update(carl.userId, { username: 'dora', email: 'new@example.com' }))).toBe('username');
    expect(await users.get(carl.userId)).toMatchObject({ username: 'Carlos', email: 'carl@example.com' });
    // The email claimed before the username failed was released again.
    await users.create(user('erin', 'new@example.com'));
    // Changing only the case keeps the claim.
    expect(await users.update(carl.userId, { username: 'CARLOS' })).toMatchObject({ username: 'CARLOS' });
    expect(await users.update('nope', { role: 'admin' })).toBeNull();
  });

  it('update writes null to clear a lockout', async () => {
    const u = user('fay', undefined, { lockedUntilMs: clock + 1000, failedLoginAttempts: 2 });
    await users.create(u);
    expect(await users.update(u.userId, { lockedUntilMs: null, failedLoginAttempts: 0 })).toMatchObject({ lockedUntilMs: null, failedLoginAttempts: 0 });
  });

  it('delete frees the username and email', async () => {
    const g = user('gil');
    await users.create(g);
    expect(await users.delete(g.userId)).toBe(true);
    expect(await users.delete(g.userId)).toBe(false);
    await users.create(user('gil'));
  });

  it('an orphan claim (crash between claim and insert) is taken over after the grace period, not before', async () => {
    const keys = store.collection<{ id: string; user_id: string; claimed_at_ms: number }>('user_keys');
    await keys.insert({ id: 'username:hal', user_id: 'crashed', claimed_at_ms: clock });
    expect(await conflictField(users.create(user('hal')))).toBe('username');
    clock += 60_000;
    await users.create(user('hal'));
    expect(await users.byUsername('hal')).not.toBeNull();
  });

  it('list: oldest first, paged, filtered by role, searched in username and email', async () => {
    for (const [name, email, role] of [
      ['ann', 'ann@a.io', 'user'],
      ['ben', 'ben@b.io', 'admin'],
      ['cat', 'cat@corp.io', 'user'],
      ['dan', 'dan@corp.io', 'admin'],
    ] as const) {
      await users.create(user(name, email, { role }));
    }
    const names = (r: { users: User[] }) => r.users.map((u) => u.username);
    expect(names(await users.list({ limit: 2, offset: 1 }))).toEqual(['ben', 'cat']);
    expect((await users.list({ limit: 2, offset: 1 })).total).toBe(4);
    expect(names(await users.list({ role: 'admin', limit: 10, offset: 0 }))).toEqual(['ben', 'dan']);
    expect(await users.list({ search: 'CORP', limit: 1, offset: 1 })).toMatchObject({ total: 2 });
    expect(names(await users.list({ search: 'corp', role: 'admin', limit: 10, offset: 0 }))).toEqual(['dan']);
    expect(names(await users.list({ search: 'an', limit: 10, offset: 0 }))).toEqual(['ann', 'dan']);
  });
});

describe('RevokedSessions', () => {
  it('remembers revoked sessions until they expire', async () => {
    const revoked = new RevokedSessions(store);
    await revoked.revoke('s1', 1000);
    await revoked.revoke('s2', 3000);
    expect(await revoked.isRevoked('s1')).toBe(true);
    expect(await revoked.isRevoked('s3')).toBe(false);
    expect(await revoked.purgeExpired(2000)).toBe(1);
    expect(await revoked.isRevoked('s1')).toBe(false);
    expect(await revoked.isRevoked('s2')).toBe(true);
  });
});

describe('failed logins', () => {
  it('counts every failure when several writers count at once, and locks at the limit', async () => {
    const u = user('guessed');
    await users.create(u);
    const otherNode = new UserStore(store, () => clock);
    const policy = { maxAttempts: 100, lockoutMs: 60_000 };
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? users : otherNode).countFailedLogin(u.userId, policy, clock)));
    expect(results.every((r) => r?.locked === false)).toBe(true);
    expect((await users.get(u.userId))?.failedLoginAttempts).toBe(12);

    const tight = { maxAttempts: 13, lockoutMs: 60_000 };
    expect(await users.countFailedLogin(u.userId, tight, clock)).toEqual({ locked: true, lockedUntilMs: clock + 60_000 });
    expect(await users.get(u.userId)).toMatchObject({ failedLoginAttempts: 0, lockedUntilMs: clock + 60_000 });
    expect(await users.countFailedLogin('nobody', tight, clock)).toBeNull();
  });
});
