/** Admin user management: list, create, change, delete (with cascade hooks), overview, password reset, unlock. */
import type { SettingsReader } from '../domain/admin-settings.js';
import { errors } from '../domain/errors.js';
import { toAdminView, type AdminUserView, type ExecutionStats, type UserPatch, type UserRole } from '../domain/users.js';
import type { PasswordHasher } from '../security/passwords.js';
import type { UserQuery, UserStore } from '../stores/user-store.js';
import { checkPassword, newUser } from './accounts.js';

/** Deletes (or anonymises) a user's data elsewhere; may report how many records of each kind it removed. */
export type UserDeletedHook = (userId: string) => Promise<void | Record<string, number>>;

/** Per-user rate-limit state shown in the overview (from the rate-limit feature, when it is wired). */
export interface RateLimitSummary {
  bypass_rate_limit: boolean | null;
  global_multiplier: number | null;
  has_custom_limits: boolean | null;
}

/** What admin user management is built from. */
export interface AdminUserDeps {
  users: UserStore;
  passwords: PasswordHasher;
  settings: SettingsReader;
  /** Counts of the user's executions by status. */
  executionStats: (userId: string) => Promise<ExecutionStats>;
  /** Called (in order) before a user is deleted with `cascade`; each must be idempotent. */
  onUserDeleted: UserDeletedHook[];
  rateLimitSummary?: (userId: string) => Promise<RateLimitSummary>;
  now?: () => number;
}

/** PUT /admin/users/{id}: every field optional. */
export interface AdminUserUpdate {
  username?: string;
  email?: string;
  role?: UserRole;
  is_active?: boolean;
  password?: string;
}

/** POST /admin/users/. */
export interface AdminUserCreate {
  username: string;
  email: string;
  password: string;
  role?: UserRole;
  is_active?: boolean;
}

/** GET /admin/users/{id}/overview. */
export interface UserOverview {
  user: AdminUserView;
  stats: ExecutionStats;
  derived_counts: { succeeded: number; failed: number; timeout: number; cancelled: number; terminal_total: number };
  rate_limit_summary: RateLimitSummary;
  recent_events: unknown[];
}

/** The admin's user operations; the route guard has already checked the admin role. Throws catalogue errors. */
export class AdminUserService {
  private readonly now: () => number;

  constructor(private readonly deps: AdminUserDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** One page of users, oldest first. */
  async list(query: UserQuery): Promise<{ users: AdminUserView[]; total: number; limit: number; offset: number }> {
    const { users, total } = await this.deps.users.list(query);
    const now = this.now();
    return { users: users.map((u) => toAdminView(u, now)), total, limit: query.limit, offset: query.offset };
  }

  /** Creates an account of any role; 409 on a taken username/email, 422 on a short password. */
  async create(input: AdminUserCreate): Promise<AdminUserView> {
    checkPassword(this.deps.settings, input.password, 'password');
    const hash = await this.deps.passwords.hash(input.password);
    const user = { ...newUser({ ...input, role: input.role ?? 'user' }, hash, this.now()), isActive: input.is_active ?? true };
    await this.deps.users.create(user);
    return toAdminView(user, this.now());
  }

  /** One user; 404 when unknown. */
  async get(userId: string): Promise<AdminUserView> {
    return toAdminView(await this.load(userId), this.now());
  }

  /**
   * Partial update. A new password ends the user's sessions. An admin cannot demote or deactivate themself
   * (400), so the last admin cannot lock everyone out by accident.
   */
  async update(actorId: string, userId: string, input: AdminUserUpdate): Promise<AdminUserView> {
    const user = await this.load(userId);
    if (userId === actorId && input.role !== undefined && input.role !== 'admin') throw errors.badRequest('Cannot remove your own admin role');
    if (userId === actorId && input.is_active === false) throw errors.badRequest('Cannot deactivate your own account');
    const patch: UserPatch = {};
    if (input.username !== undefined) patch.username = input.username;
    if (input.email !== undefined) patch.email = input.email;
    if (input.role !== undefined) patch.role = input.role;
    if (input.is_active !== undefined) patch.isActive = input.is_active;
    if (input.password !== undefined) {
      checkPassword(this.deps.settings, input.password, 'password');
      patch.passwordHash = await this.deps.passwords.hash(input.password);
      patch.sessionVersion = user.sessionVersion + 1;
    }
    const updated = await this.deps.users.update(userId, patch);
    if (!updated) throw errors.notFound('User');
    return toAdminView(updated, this.now());
  }

  /**
   * Deletes a user (never the caller: 400). With `cascade` the account is deactivated first (no new data
   * appears meanwhile) and every hook runs before the account goes, so a failed hook can simply be retried.
   */
  async delete(actorId: string, userId: string, cascade: boolean): Promise<{ message: string; deleted_counts: Record<string, number> }> {
    if (userId === actorId) throw errors.badRequest('Cannot delete your own account');
    await this.load(userId);
    const counts: Record<string, number> = {};
    if (cascade) {
      await this.deps.users.update(userId, { isActive: false });
      for (const hook of this.deps.onUserDeleted) {
        const removed = await hook(userId);
        for (const [kind, n] of Object.entries(removed ?? {})) counts[kind] = (counts[kind] ?? 0) + n;
      }
    }
    if (!(await this.deps.users.delete(userId))) throw errors.notFound('User');
    counts['user'] = 1;
    return { message: `User ${userId} deleted successfully`, deleted_counts: counts };
  }

  /** The user with execution counts and rate-limit state. */
  async overview(userId: string): Promise<UserOverview> {
    const user = await this.get(userId);
    const [stats, limits] = await Promise.all([
      this.deps.executionStats(userId),
      this.deps.rateLimitSummary?.(userId) ?? { bypass_rate_limit: null, global_multiplier: null, has_custom_limits: null },
    ]);
    const n = (status: string) => stats.by_status[status] ?? 0;
    const derived = { succeeded: n('completed'), failed: n('failed') + n('error'), timeout: n('timeout'), cancelled: n('cancelled') };
    const terminal = derived.succeeded + derived.failed + derived.timeout + derived.cancelled;
    return { user, stats, derived_counts: { ...derived, terminal_total: terminal }, rate_limit_summary: limits, recent_events: [] };
  }

  /** Sets a new password (422 naming `new_password` when short) and ends the user's sessions. */
  async resetPassword(userId: string, newPassword: string): Promise<{ message: string }> {
    const user = await this.load(userId);
    checkPassword(this.deps.settings, newPassword, 'new_password');
    const passwordHash = await this.deps.passwords.hash(newPassword);
    if (!(await this.deps.users.update(userId, { passwordHash, sessionVersion: user.sessionVersion + 1 }))) throw errors.notFound('User');
    return { message: `Password reset successfully for user ${userId}` };
  }

  /** Clears a lockout and the failed-login count. */
  async unlock(userId: string): Promise<{ user_id: string; message: string }> {
    await this.load(userId);
    if (!(await this.deps.users.update(userId, { failedLoginAttempts: 0, lockedUntilMs: null }))) throw errors.notFound('User');
    return { user_id: userId, message: 'Account unlocked' };
  }

  private async load(userId: string) {
    const user = await this.deps.users.get(userId);
    if (!user) throw errors.notFound('User');
    return user;
  }
}
