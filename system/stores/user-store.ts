import { AppError, errors } from '../domain/errors.js';
import { lockAfterFailures, uniqueKey, type LockoutPolicy, type User, type UserPatch, type UserRole } from '../domain/users.js';
import { DuplicateKeyError, type Collection, type DocumentStore, type Filter } from '../ports/document-store.js';

/** A user as stored in the `users` collection (snake case; the `*_lc` fields back lookups). */
interface UserDoc {
  id: string;
  username: string;
  username_lc: string;
  email: string;
  email_lc: string;
  role: UserRole;
  is_active: boolean;
  is_superuser: boolean;
  created_at: string;
  updated_at: string;
  hashed_password: string;
  failed_login_attempts: number;
  locked_until: string | null;
  session_version: number;
}

/** One claimed unique value: `username:<lower-cased>` or `email:<lower-cased>` → the user holding it. */
interface KeyDoc {
  id: string;
  user_id: string;
  claimed_at_ms: number;
}

type UniqueField = 'username' | 'email';

/** How old an unowned key must be before another user may take it over (a writer may still be mid-create). */
const ORPHAN_GRACE_MS = 30_000;

/** Filters for the admin list; `search` matches a substring of the username or email, case-insensitively. */
export interface UserQuery {
  role?: UserRole;
  search?: string;
  limit: number;
  offset: number;
}

/**
 * Accounts in the document store. The store's only unique index is `id`, so username and email are made
 * unique by a second collection `user_keys` keyed by the lower-cased value: a key is claimed (inserted) before
 * the user document is written and released after it is removed. A crash between the two leaves an orphan key,
 * which a later claim takes over once it is older than a grace period and no user holds that value.
 */
export class UserStore {
  private readonly users: Collection<UserDoc>;
  private readonly keys: Collection<KeyDoc>;

  constructor(
    store: DocumentStore,
    private readonly now: () => number = Date.now,
  ) {
    this.users = store.collection<UserDoc>('users', { indexes: ['username_lc', 'email_lc', 'role', 'created_at'] });
    this.keys = store.collection<KeyDoc>('user_keys');
  }

  /** Adds a user; 409 Conflict naming the field when the username or email is taken. */
  async create(user: User): Promise<void> {
    const claimed: string[] = [];
    try {
      for (const field of ['username', 'email'] as const) {
        await this.claim(field, user[field], user.userId);
        claimed.push(keyId(field, user[field]));
      }
      await this.users.insert(toDoc(user));
    } catch (err) {
      await this.releaseAll(claimed, user.userId);
      if (err instanceof DuplicateKeyError) throw errors.conflict('User already exists');
      throw err;
    }
  }

  /** The user with this id, or null. */
  async get(userId: string): Promise<User | null> {
    const doc = await this.users.get(userId);
    return doc ? fromDoc(doc) : null;
  }

  /** The user with this username (case-insensitive), or null. */
  async byUsername(username: string): Promise<User | null> {
    const [doc] = await this.users.find({ username_lc: uniqueKey(username) }, { limit: 1 });
    return doc ? fromDoc(doc) : null;
  }

  /** Changes a user; a new username or email is claimed first (409 when taken) and the old one released after. */
  async update(userId: string, patch: UserPatch): Promise<User | null> {
    const current = await this.users.get(userId);
    if (!current) return null;
    const moved: Array<{ field: UniqueField; from: string; to: string }> = [];
    for (const field of ['username', 'email'] as const) {
      const next = patch[field];
      if (next !== undefined && uniqueKey(next) !== current[`${field}_lc`]) moved.push({ field, from: current[field], to: next });
    }
    const claimed: string[] = [];
    try {
      for (const m of moved) {
        await this.claim(m.field, m.to, userId);
        claimed.push(keyId(m.field, m.to));
      }
      const updated = await this.users.update(userId, { ...patchToDoc(patch), updated_at: new Date(this.now()).toISOString() });
      if (!updated) throw errors.notFound('User');
      await this.releaseAll(
        moved.map((m) => keyId(m.field, m.from)),
        userId,
      );
      return fromDoc(updated);
    } catch (err) {
      await this.releaseAll(claimed, userId);
      throw err;
    }
  }

  /**
   * Counts one failed login in a single atomic step (nodes of a cluster may count at the same time) and locks the
   * account when the count reaches the policy's limit; null when the user is gone.
   */
  async countFailedLogin(userId: string, policy: LockoutPolicy, nowMs: number): Promise<{ locked: boolean; lockedUntilMs: number | null } | null> {
    const counted = await this.users.increment(userId, 'failed_login_attempts', 1);
    if (!counted) return null;
    const next = lockAfterFailures(counted.failed_login_attempts, policy, nowMs);
    if (!next.locked) return { locked: false, lockedUntilMs: null };
    await this.users.update(userId, patchToDoc({ failedLoginAttempts: 0, lockedUntilMs: next.lockedUntilMs }));
    return next;
  }

  /** Removes a user and releases its username and email; false when there was none. */
  async delete(userId: string): Promise<boolean> {
    const doc = await this.users.get(userId);
    if (!doc) return false;
    // The document goes first: a crash after it leaves orphan keys (reclaimable), never a user without keys.
    await this.users.delete(userId);
    await this.releaseAll([keyId('username', doc.username), keyId('email', doc.email)], userId);
    return true;
  }

  /** One page of users (oldest first) and the total that match. */
  async list(query: UserQuery): Promise<{ users: User[]; total: number }> {
    const filter: Filter = query.role ? { role: query.role } : {};
    if (query.search === undefined || query.search.trim() === '') {
      const [docs, total] = await Promise.all([
        this.users.find(filter, { sort: { created_at: 1 }, limit: query.limit, skip: query.offset }),
        this.users.count(filter),
      ]);
      return { users: docs.map(fromDoc), total };
    }
    // The port has no substring operator: filter in memory (admin-only, user tables are small in embedded mode).
    const needle = uniqueKey(query.search);
    const all = await this.users.find(filter, { sort: { created_at: 1 } });
    const hits = all.filter((d) => d.username_lc.includes(needle) || d.email_lc.includes(needle));
    return { users: hits.slice(query.offset, query.offset + query.limit).map(fromDoc), total: hits.length };
  }

  /** Number of users (all, or of one role). */
  count(role?: UserRole): Promise<number> {
    return this.users.count(role ? { role } : {});
  }

  private async claim(field: UniqueField, value: string, userId: string): Promise<void> {
    const id = keyId(field, value);
    const fresh: KeyDoc = { id, user_id: userId, claimed_at_ms: this.now() };
    try {
      await this.keys.insert(fresh);
      return;
    } catch (err) {
      if (!(err instanceof DuplicateKeyError)) throw err;
    }
    const existing = await this.keys.get(id);
    if (existing?.user_id === userId) return;
    if (existing && !(await this.isOrphan(field, existing))) throw taken(field);
    await this.keys.put(fresh);
    // Two claimants of the same orphan: the last write wins, the other backs off.
    if ((await this.keys.get(id))?.user_id !== userId) throw taken(field);
  }

  private async isOrphan(field: UniqueField, key: KeyDoc): Promise<boolean> {
    if (this.now() - key.claimed_at_ms < ORPHAN_GRACE_MS) return false;
    const holder = await this.users.get(key.user_id);
    return !holder || keyId(field, holder[field]) !== key.id;
  }

  private async releaseAll(ids: string[], userId: string): Promise<void> {
    for (const id of ids) {
      const key = await this.keys.get(id);
      if (key?.user_id === userId) await this.keys.delete(id);
    }
  }
}

/**
 * Sessions ended before their expiry (logout). Checked on every request; an entry is only needed until the
 * session would have expired anyway, so expired entries are purged.
 */
export class RevokedSessions {
  private readonly rows: Collection<{ id: string; expires_at_ms: number }>;

  constructor(store: DocumentStore) {
    this.rows = store.collection('revoked_sessions', { indexes: ['expires_at_ms'] });
  }

  /** Ends a session for good. */
  async revoke(sessionId: string, expiresAtMs: number): Promise<void> {
    await this.rows.put({ id: sessionId, expires_at_ms: expiresAtMs });
  }

  /** True if the session was ended by a logout. */
  async isRevoked(sessionId: string): Promise<boolean> {
    return (await this.rows.get(sessionId)) !== null;
  }

  /** Drops entries whose sessions have expired on their own; returns how many. */
  async purgeExpired(nowMs: number, max = 500): Promise<number> {
    const expired = await this.rows.find({ expires_at_ms: { $lt: nowMs } }, { limit: max });
    for (const row of expired) await this.rows.delete(row.id);
    return expired.length;
  }
}

function keyId(field: UniqueField, value: string): string {
  return `${field}:${uniqueKey(value)}`;
}

/** 409 naming the taken field (`field` in the body, so callers and clients can tell which). */
function taken(field: UniqueField): AppError {
  const message = field === 'username' ? 'Username already registered' : 'Email already registered';
  return new AppError('Conflict', message, { body: { field } });
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Domain → stored. */
function toDoc(user: User): UserDoc {
  return {
    id: user.userId,
    username: user.username,
    username_lc: uniqueKey(user.username),
    email: user.email,
    email_lc: uniqueKey(user.email),
    role: user.role,
    is_active: user.isActive,
    is_superuser: user.isSuperuser,
    created_at: iso(user.createdAtMs),
    updated_at: iso(user.updatedAtMs),
    hashed_password: user.passwordHash,
    failed_login_attempts: user.failedLoginAttempts,
    locked_until: user.lockedUntilMs === null ? null : iso(user.lockedUntilMs),
    session_version: user.sessionVersion,
  };
}

/** Stored → domain. */
function fromDoc(doc: UserDoc): User {
  return {
    userId: doc.id,
    username: doc.username,
    email: doc.email,
    role: doc.role,
    isActive: doc.is_active,
    isSuperuser: doc.is_superuser,
    createdAtMs: Date.parse(doc.created_at),
    updatedAtMs: Date.parse(doc.updated_at),
    passwordHash: doc.hashed_password,
    failedLoginAttempts: doc.failed_login_attempts,
    lockedUntilMs: doc.locked_until === null ? null : Date.parse(doc.locked_until),
    sessionVersion: doc.session_version,
  };
}

/** A domain patch as stored fields; only the fields present are written. */
function patchToDoc(patch: UserPatch): Partial<UserDoc> {
  const out: Partial<UserDoc> = {};
  if (patch.username !== undefined) Object.assign(out, { username: patch.username, username_lc: uniqueKey(patch.username) });
  if (patch.email !== undefined) Object.assign(out, { email: patch.email, email_lc: uniqueKey(patch.email) });
  if (patch.role !== undefined) out.role = patch.role;
  if (patch.isActive !== undefined) out.is_active = patch.isActive;
  if (patch.isSuperuser !== undefined) out.is_superuser = patch.isSuperuser;
  if (patch.passwordHash !== undefined) out.hashed_password = patch.passwordHash;
  if (patch.failedLoginAttempts !== undefined) out.failed_login_attempts = patch.failedLoginAttempts;
  if (patch.lockedUntilMs !== undefined) out.locked_until = patch.lockedUntilMs === null ? null : iso(patch.lockedUntilMs);
  if (patch.sessionVersion !== undefined) out.session_version = patch.sessionVersion;
  return out;
}
