import {
  NotificationSchema,
  SubscriptionSchema,
  tagsMatch,
  UNREAD_STATUSES,
  type Notification,
  type NotificationChannel,
  type NotificationStatus,
  type Subscription,
} from '../domain/notifications.js';
import { DuplicateKeyError, type Collection, type DocumentStore, type Filter } from '../ports/document-store.js';

type NotificationRow = Notification & { id: string };
type SubscriptionRow = Subscription & { id: string };
/** The lock of one digest: whoever holds its lease sends it. */
type BatchLockRow = { id: string; lease_until: number };

/** One page of a user's notifications, newest first. */
export interface NotificationQuery {
  status?: NotificationStatus;
  includeTags?: string[];
  excludeTags?: string[];
  tagPrefix?: string;
  limit: number;
  offset: number;
}

/** Notifications (collection `notifications`) and channel subscriptions (collection `notification_subscriptions`). */
export class NotificationStore {
  private readonly rows: Collection<NotificationRow>;
  private readonly subs: Collection<SubscriptionRow>;
  private readonly batches: Collection<BatchLockRow>;

  constructor(store: DocumentStore) {
    this.rows = store.collection<NotificationRow>('notifications', { indexes: ['user_id', 'status', 'created_at', 'due_at', 'batch_key'] });
    this.subs = store.collection<SubscriptionRow>('notification_subscriptions', { indexes: ['user_id'] });
    this.batches = store.collection<BatchLockRow>('notification_batches');
  }

  /**
   * Claims a pending webhook/Slack copy for `leaseMs` (one node sends it); returns it, or null when it is not
   * pending or another node holds it. Atomic through the store's increment (see `lease`).
   */
  async claim(id: string, nowMs: number, leaseMs: number): Promise<Notification | null> {
    const row = await lease(this.rows, id, nowMs, leaseMs, (r) => r.status === 'pending');
    return row ? NotificationSchema.parse(row) : null;
  }

  /** Pending webhook/Slack copies due by `nowIso` whose lease has run out, oldest first. */
  async due(nowIso: string, nowMs: number, limit: number): Promise<Notification[]> {
    const rows = await this.rows.find({ status: 'pending', due_at: { $lte: nowIso } }, { sort: { due_at: 1 }, limit });
    return rows.filter((r) => (r.lease_until ?? 0) <= nowMs).map((r) => NotificationSchema.parse(r));
  }

  /** The digest a new copy for this user and channel joins: the soonest pending one still to be sent after `nowIso`. */
  async openBatch(userId: string, channel: NotificationChannel, nowIso: string): Promise<{ key: string; dueAt: string } | null> {
    const rows = await this.rows.find({ user_id: userId, channel, status: 'pending', due_at: { $gt: nowIso } }, { sort: { due_at: 1 }, limit: 100 });
    const open = rows.find((r) => r.batch_key !== null && r.batch_key !== undefined);
    return open?.batch_key && open.due_at ? { key: open.batch_key, dueAt: open.due_at } : null;
  }

  /** The pending copies of one digest, oldest first. */
  async batch(key: string, limit: number): Promise<Notification[]> {
    const rows = await this.rows.find({ batch_key: key, status: 'pending' }, { sort: { created_at: 1 }, limit });
    return rows.map((r) => NotificationSchema.parse(r));
  }

  /** Claims the sending of a digest for `leaseMs`; false when another node holds it. */
  async claimBatch(key: string, nowMs: number, leaseMs: number): Promise<boolean> {
    try {
      await this.batches.insert({ id: key, lease_until: 0 });
    } catch (err) {
      if (!(err instanceof DuplicateKeyError)) throw err;
    }
    return (await lease(this.batches, key, nowMs, leaseMs, () => true)) !== null;
  }

  /** Lets go of a digest's lock once it is sent (a late copy of the same window can then be sent on its own). */
  async releaseBatch(key: string): Promise<void> {
    await this.batches.delete(key);
  }

  /** Adds a notification; false when one with the same id exists (an event handled before). */
  async insert(n: Notification): Promise<boolean> {
    try {
      await this.rows.insert({ id: n.notification_id, ...NotificationSchema.parse(n) });
      return true;
    } catch (err) {
      if (err instanceof DuplicateKeyError) return false;
      throw err;
    }
  }

  async get(id: string): Promise<Notification | null> {
    const row = await this.rows.get(id);
    return row ? NotificationSchema.parse(row) : null;
  }

  /** Sets fields; returns the updated notification or null when absent. */
  async update(id: string, patch: Partial<Omit<Notification, 'notification_id' | 'user_id'>>): Promise<Notification | null> {
    const row = await this.rows.update(id, patch);
    return row ? NotificationSchema.parse(row) : null;
  }

  /**
   * A page of a user's notifications with the total that match. Status is filtered in the store; tag
   * filters look inside the tag arrays, which the store's filter language cannot, so they run here.
   */
  async list(userId: string, q: NotificationQuery): Promise<{ items: Notification[]; total: number }> {
    const filter: Filter = { user_id: userId, ...(q.status ? { status: q.status } : {}) };
    const sort = { created_at: -1 as const };
    if (!q.includeTags?.length && !q.excludeTags?.length && !q.tagPrefix) {
      const [rows, total] = await Promise.all([this.rows.find(filter, { sort, limit: q.limit, skip: q.offset }), this.rows.count(filter)]);
      return { items: rows.map((r) => NotificationSchema.parse(r)), total };
    }
    const tagFilter = { include: q.includeTags ?? [], exclude: q.excludeTags ?? [], ...(q.tagPrefix ? { prefix: q.tagPrefix } : {}) };
    const matching = (await this.rows.find(filter, { sort })).filter((r) => tagsMatch(r.tags, tagFilter));
    return { items: matching.slice(q.offset, q.offset + q.limit).map((r) => NotificationSchema.parse(r)), total: matching.length };
  }

  /** How many of a user's notifications are not read yet. */
  countUnread(userId: string): Promise<number> {
    return this.rows.count({ user_id: userId, status: { $in: [...UNREAD_STATUSES] } });
  }

  /** Marks every unread notification of a user read; returns how many changed. */
  async markAllRead(userId: string, at: string): Promise<number> {
    const unread = await this.rows.find({ user_id: userId, status: { $in: [...UNREAD_STATUSES] } });
    for (const row of unread) await this.rows.update(row.id, { status: 'read', read_at: at });
    return unread.length;
  }

  delete(id: string): Promise<boolean> {
    return this.rows.delete(id);
  }

  /** A user's stored subscription for a channel; null when the user never changed it. */
  async subscription(userId: string, channel: NotificationChannel): Promise<Subscription | null> {
    const row = await this.subs.get(subscriptionId(userId, channel));
    return row ? SubscriptionSchema.parse(row) : null;
  }

  async putSubscription(sub: Subscription): Promise<void> {
    await this.subs.put({ id: subscriptionId(sub.user_id, sub.channel), ...SubscriptionSchema.parse(sub) });
  }

  /** Removes a user's notifications and subscriptions (account deletion); returns how many notifications. */
  async deleteAllFor(userId: string): Promise<number> {
    const rows = await this.rows.find({ user_id: userId });
    for (const row of rows) await this.rows.delete(row.id);
    for (const sub of await this.subs.find({ user_id: userId })) await this.subs.delete(sub.id);
    return rows.length;
  }
}

/**
 * Takes the lease of a document for `leaseMs` when it is free (`lease_until` ≤ now) and `ok` holds; returns the
 * document as it is after the claim, or null. One atomic increment moves `lease_until` from the value read to
 * now + leaseMs: if any other claim landed in between, the result is not that value and this claim lost, so of
 * several nodes racing exactly one wins, with no window where a claimed document still looks free.
 */
async function lease<T extends { id: string; lease_until?: number | null }>(
  rows: Collection<T>,
  id: string,
  nowMs: number,
  leaseMs: number,
  ok: (row: T) => boolean,
): Promise<T | null> {
  const row = await rows.get(id);
  if (!row || !ok(row)) return null;
  const held = row.lease_until ?? 0;
  if (held > nowMs) return null;
  const until = nowMs + leaseMs;
  const after = await rows.increment(id, 'lease_until', until - held);
  return after && after.lease_until === until && ok(after) ? after : null;
}

function subscriptionId(userId: string, channel: NotificationChannel): string {
  return `${userId}:${channel}`;
}
