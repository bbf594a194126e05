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

  constructor(store: DocumentStore) {
    this.rows = store.collection<NotificationRow>('notifications', { indexes: ['user_id', 'status', 'created_at'] });
    this.subs = store.collection<SubscriptionRow>('notification_subscriptions', { indexes: ['user_id'] });
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

function subscriptionId(userId: string, channel: NotificationChannel): string {
  return `${userId}:${channel}`;
}
