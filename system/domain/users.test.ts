import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isLocked, lockAfterFailures, toAdminView, toProfile, type User } from './users.js';

const u: User = {
  userId: 'u1',
  username: 'amy',
  email: 'amy@example.com',
  role: 'user',
  isActive: true,
  isSuperuser: false,
  createdAtMs: 0,
  updatedAtMs: 1000,
  passwordHash: 'secret-hash',
  failedLoginAttempts: 0,
  lockedUntilMs: null,
  sessionVersion: 1,
};

describe('users domain', () => {
  it('profiles carry no secrets; the admin view shows a lock only while it is in force', () => {
    expect(toProfile(u)).toEqual({
      user_id: 'u1',
      username: 'amy',
      email: 'amy@example.com',
      role: 'user',
      is_active: true,
      is_superuser: false,
      created_at: '1970-01-01T00:00:00.000Z',
      updated_at: '1970-01-01T00:00:01.000Z',
    });
    expect(JSON.stringify(toAdminView(u, 0))).not.toContain('secret-hash');
    expect(toAdminView({ ...u, lockedUntilMs: 5000 }, 4000).locked_until).toBe('1970-01-01T00:00:05.000Z');
    expect(toAdminView({ ...u, lockedUntilMs: 5000 }, 5000).locked_until).toBeNull();
  });

  it('property: the max-th consecutive failure locks, for lockoutMs; fewer do not', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 10 ** 7 }), fc.integer({ min: 0, max: 10 ** 12 }), (max, lockoutMs, now) => {
        for (let failures = 1; failures <= max + 1; failures++) {
          const next = lockAfterFailures(failures, { maxAttempts: max, lockoutMs }, now);
          expect(next.locked).toBe(failures >= max);
          if (next.locked) {
            expect(isLocked(next, now + lockoutMs - 1)).toBe(true);
            expect(isLocked(next, now + lockoutMs)).toBe(false);
          } else expect(next.lockedUntilMs).toBeNull();
        }
      }),
    );
  });
});
