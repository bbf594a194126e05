/** Accounts: the user as the domain sees it, and the pure rules for lockout and profiles. */

/** Roles a signed-in user can have, as the API spells them. */
export const USER_ROLES = ['user', 'admin'] as const;
/** A signed-in user's role. */
export type UserRole = (typeof USER_ROLES)[number];

/** One account. Times are epoch milliseconds; `lockedUntilMs` is null when the account is not locked. */
export interface User {
  userId: string;
  username: string;
  email: string;
  role: UserRole;
  isActive: boolean;
  isSuperuser: boolean;
  createdAtMs: number;
  updatedAtMs: number;
  /** Self-describing hash (see system/security/passwords.ts); never leaves the service layer. */
  passwordHash: string;
  failedLoginAttempts: number;
  lockedUntilMs: number | null;
  /** Bumped when the password changes: sessions issued under an older version stop working. */
  sessionVersion: number;
}

/** The fields an update may change; `updatedAtMs` is stamped by the store. */
export type UserPatch = Partial<Omit<User, 'userId' | 'createdAtMs' | 'updatedAtMs'>>;

/** What GET /auth/me and the admin API show of a user: everything but secrets. */
export interface UserProfile {
  user_id: string;
  username: string;
  email: string;
  role: UserRole;
  is_active: boolean;
  is_superuser: boolean;
  created_at: string;
  updated_at: string;
}

/** The admin view adds the lockout state, so an admin can see whom to unlock. */
export interface AdminUserView extends UserProfile {
  failed_login_attempts: number;
  locked_until: string | null;
}

/** Domain → wire: the public profile of a user. */
export function toProfile(user: User): UserProfile {
  return {
    user_id: user.userId,
    username: user.username,
    email: user.email,
    role: user.role,
    is_active: user.isActive,
    is_superuser: user.isSuperuser,
    created_at: new Date(user.createdAtMs).toISOString(),
    updated_at: new Date(user.updatedAtMs).toISOString(),
  };
}

/** Domain → wire: the admin view of a user (the profile plus lockout state). */
export function toAdminView(user: User, nowMs: number): AdminUserView {
  const locked = isLocked(user, nowMs);
  return {
    ...toProfile(user),
    failed_login_attempts: user.failedLoginAttempts,
    locked_until: locked && user.lockedUntilMs !== null ? new Date(user.lockedUntilMs).toISOString() : null,
  };
}

/** True while a lockout is in force. */
export function isLocked(user: Pick<User, 'lockedUntilMs'>, nowMs: number): boolean {
  return user.lockedUntilMs !== null && user.lockedUntilMs > nowMs;
}

/** The lockout policy in force (from the admin settings). */
export interface LockoutPolicy {
  maxAttempts: number;
  lockoutMs: number;
}

/**
 * Whether `failures` consecutive failed logins lock the account: reaching `maxAttempts` locks it for `lockoutMs`
 * (the caller then restarts the count, so the next window after the lock starts fresh).
 */
export function lockAfterFailures(failures: number, policy: LockoutPolicy, nowMs: number): { locked: boolean; lockedUntilMs: number | null } {
  if (failures >= policy.maxAttempts) return { locked: true, lockedUntilMs: nowMs + policy.lockoutMs };
  return { locked: false, lockedUntilMs: null };
}

/** The key a username or email is unique under: trimmed and lower-cased. */
export function uniqueKey(value: string): string {
  return value.trim().toLowerCase();
}

/** Counts of a user's executions by status, for the admin overview. */
export interface ExecutionStats {
  total: number;
  by_status: Record<string, number>;
}
