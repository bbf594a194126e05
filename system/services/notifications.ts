import { v5 as uuidv5 } from 'uuid';
import { errors, type FieldError } from '../domain/errors.js';
import { parseEvent, type DomainEvent } from '../domain/events.js';
import {
  CLOCK_TIME,
  defaultSubscription,
  draftFromEvent,
  inQuietHours,
  isTimeZone,
  NOTIFICATION_CHANNELS,
  notificationChannel,
  subscriptionAccepts,
  toNotificationView,
  type Notification,
  type NotificationChannel,
  type NotificationDraft,
  type NotificationView,
  type Subscription,
  type SubscriptionUpdate,
} from '../domain/notifications.js';
import type { NotificationPrefs } from '../domain/user-settings.js';
import type { RecordHandler } from '../ports/event-log.js';
import { createChannelFanout } from '../events/channel-fanout.js';
import type { FanoutBus } from '../ports/fanout-bus.js';
import type { NotificationQuery, NotificationStore } from '../stores/notification-store.js';
import { slackPayload, webhookPayload, type Deliverer } from './notification-delivery.js';
import { encodeFrame } from './sse-encoding.js';
import type { SseSink } from './types.js';

/** What the notification service needs. */
export interface NotificationServiceDeps {
  store: NotificationStore;
  bus: FanoutBus;
  /** The owner's notification toggles from their settings. */
  preferences: (userId: string) => Promise<NotificationPrefs>;
  deliverer: Deliverer;
  /** An execution's language, for tags and text; optional. */
  executionLang?: (executionId: string) => Promise<string | null>;
  log?: { warn(fields: Record<string, unknown>, message: string): void };
  /** Events older than this notify nobody (a new consumer group replaying the log from its start); default a day. */
  maxEventAgeMs?: number;
  clock?: () => Date;
}

/** A page of notifications as the API returns it. */
export interface NotificationPage {
  notifications: NotificationView[];
  total: number;
  unread_count: number;
}

/** In-app, webhook and Slack notifications about a user's executions. */
export interface NotificationService {
  /** Log consumer entry: turns a terminal execution event into notifications, at most once per event and channel. */
  onExecutionEvent(event: DomainEvent): Promise<void>;
  list(userId: string, query: NotificationQuery): Promise<NotificationPage>;
  markRead(userId: string, notificationId: string): Promise<void>;
  markAllRead(userId: string): Promise<number>;
  unreadCount(userId: string): Promise<number>;
  remove(userId: string, notificationId: string): Promise<void>;
  /** All three channels, defaults for the ones never changed. */
  subscriptions(userId: string): Promise<Subscription[]>;
  updateSubscription(userId: string, channel: NotificationChannel, update: SubscriptionUpdate): Promise<Subscription>;
  /** Streams the user's new in-app notifications into the sink until it closes. */
  openStream(userId: string, sink: SseSink): Promise<void>;
  /** Removes a user's notifications and subscriptions (an admin cascade-delete hook); returns counts by kind. */
  deleteAllFor(userId: string): Promise<Record<string, number>>;
}

const DAY_MS = 24 * 3600 * 1000;

/** Namespace of the name-based ids: a notification's id is derived from its source event and channel. */
const NOTIFICATION_ID_NAMESPACE = '79c44d15-39f7-48d1-8867-80680dfd09bf';

/** Builds the notification service. */
export function createNotificationService(deps: NotificationServiceDeps): NotificationService {
  const { store, bus } = deps;
  const now = () => (deps.clock ?? (() => new Date()))();
  const delivering = new Set<string>();
  // One bus subscription per user channel on this node, however many tabs that user has open; framed once.
  const streams = createChannelFanout(bus, {
    decode: (payload) => {
      const id = idOf(payload);
      return encodeFrame({ event: 'notification', ...(id ? { id } : {}), data: payload });
    },
    onError: (err, channel) => deps.log?.warn({ err: String(err), channel }, 'notification stream fan-out'),
  });

  const subscriptionsOf = async (userId: string): Promise<Subscription[]> => {
    const stamp = now().toISOString();
    return Promise.all(NOTIFICATION_CHANNELS.map(async (c) => (await store.subscription(userId, c)) ?? defaultSubscription(userId, c, stamp)));
  };

  const owned = async (userId: string, id: string): Promise<Notification> => {
    const n = await store.get(id);
    if (!n || n.user_id !== userId) throw errors.notFound('Notification');
    return n;
  };

  /** Posts a pending webhook/Slack notification and records how it went. */
  const deliver = async (n: Notification, sub: Subscription): Promise<void> => {
    if (delivering.has(n.notification_id)) return;
    delivering.add(n.notification_id);
    try {
      const url = n.channel === 'slack' ? sub.slack_webhook : sub.webhook_url;
      if (!url) {
        await store.update(n.notification_id, { status: 'failed', error_message: 'no URL configured' });
        return;
      }
      const result = await deps.deliverer.deliver(url, n.channel === 'slack' ? slackPayload(n) : webhookPayload(n));
      if (result.ok) {
        await store.update(n.notification_id, { status: 'delivered', delivered_at: now().toISOString(), error_message: null });
      } else {
        deps.log?.warn({ notification_id: n.notification_id, channel: n.channel, attempts: result.attempts, error: result.error }, 'notification delivery failed');
        await store.update(n.notification_id, { status: 'failed', error_message: result.error });
      }
    } finally {
      delivering.delete(n.notification_id);
    }
  };

  const createFor = async (userId: string, sub: Subscription, draft: NotificationDraft, sourceEventId: string): Promise<void> => {
    const at = now();
    const inApp = sub.channel === 'in_app';
    const quiet = !inApp && inQuietHours(sub, at);
    const n: Notification = {
      notification_id: uuidv5(`${sourceEventId}:${sub.channel}`, NOTIFICATION_ID_NAMESPACE),
      user_id: userId,
      channel: sub.channel,
      severity: draft.severity,
      status: inApp ? 'delivered' : quiet ? 'skipped' : 'pending',
      subject: draft.subject,
      body: draft.body,
      action_url: draft.action_url,
      tags: draft.tags,
      created_at: at.toISOString(),
      read_at: null,
      delivered_at: inApp ? at.toISOString() : null,
      source_event_id: sourceEventId,
      error_message: quiet ? 'quiet hours' : null,
    };
    if (!(await store.insert(n))) {
      // Handled before. A webhook/Slack copy left pending (the node stopped mid-delivery) gets another try.
      const existing = await store.get(n.notification_id);
      if (existing && !inApp && existing.status === 'pending') await deliver(existing, sub);
      return;
    }
    if (inApp) await bus.publish(notificationChannel(userId), JSON.stringify(toNotificationView(n)));
    else if (n.status === 'pending') await deliver(n, sub);
  };

  return {
    async onExecutionEvent(event) {
      const userId = event.metadata.user_id;
      if (!userId || !draftFromEvent(event, null)) return;
      if (now().getTime() - Date.parse(event.timestamp) > (deps.maxEventAgeMs ?? DAY_MS)) return;
      const lang = deps.executionLang ? await deps.executionLang(event.aggregate_id).catch(() => null) : null;
      const draft = draftFromEvent(event, lang);
      if (!draft || !(await deps.preferences(userId))[draft.kind]) return;
      for (const sub of await subscriptionsOf(userId)) {
        if (subscriptionAccepts(sub, draft)) await createFor(userId, sub, draft, event.event_id);
      }
    },

    async list(userId, query) {
      const [page, unread] = await Promise.all([store.list(userId, query), store.countUnread(userId)]);
      return { notifications: page.items.map(toNotificationView), total: page.total, unread_count: unread };
    },

    async markRead(userId, id) {
      const n = await owned(userId, id);
      if (n.status !== 'read') await store.update(id, { status: 'read', read_at: now().toISOString() });
    },

    markAllRead: (userId) => store.markAllRead(userId, now().toISOString()),

    unreadCount: (userId) => store.countUnread(userId),

    async remove(userId, id) {
      await owned(userId, id);
      await store.delete(id);
    },

    subscriptions: subscriptionsOf,

    async updateSubscription(userId, channel, update) {
      const stamp = now().toISOString();
      const current = (await store.subscription(userId, channel)) ?? defaultSubscription(userId, channel, stamp);
      const given = Object.fromEntries(Object.entries(update).filter(([, v]) => v !== undefined)) as SubscriptionUpdate;
      const next: Subscription = { ...current, ...given, user_id: userId, channel, updated_at: stamp };
      const problems = checkSubscription(next);
      if (problems.length) throw errors.validation(problems);
      await store.putSubscription(next);
      return next;
    },

    async openStream(userId, sink) {
      const unsubscribe = await streams.subscribe(notificationChannel(userId), { deliver: (frame) => sink.sendEncoded(frame) });
      sink.onClosed(() => void unsubscribe());
    },

    deleteAllFor: async (userId) => ({ notifications: await store.deleteAllFor(userId) }),
  };
}

/** Handler for the log consumer of the `execution_events` topic: parses the record and passes it on. */
export function notificationRecordHandler(service: NotificationService): RecordHandler {
  const relevant = new Set(['execution_completed', 'execution_failed', 'execution_timeout', 'execution_cancelled']);
  return async (record) => {
    const type = record.headers['event_type'];
    if (type !== undefined && !relevant.has(type)) return;
    await service.onExecutionEvent(parseEvent(JSON.parse(record.value)));
  };
}

/** What is wrong with a subscription as a whole (URLs present when enabled, http(s) only, quiet hours well formed). */
export function checkSubscription(sub: Subscription): FieldError[] {
  const problems: FieldError[] = [];
  for (const field of ['webhook_url', 'slack_webhook'] as const) {
    const url = sub[field];
    if (url !== null && !isHttpUrl(url)) problems.push({ field, message: 'must be an http(s) URL' });
  }
  if (sub.enabled && sub.channel === 'webhook' && !sub.webhook_url) problems.push({ field: 'webhook_url', message: 'required to enable webhook notifications' });
  if (sub.enabled && sub.channel === 'slack' && !sub.slack_webhook) problems.push({ field: 'slack_webhook', message: 'required to enable Slack notifications' });
  for (const field of ['quiet_hours_start', 'quiet_hours_end'] as const) {
    const value = sub[field];
    if (value !== null ? !CLOCK_TIME.test(value) : sub.quiet_hours_enabled) problems.push({ field, message: 'HH:MM required' });
  }
  if (!isTimeZone(sub.timezone)) problems.push({ field: 'timezone', message: 'unknown time zone' });
  return problems;
}

/** True for an absolute http: or https: URL. */
export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

function idOf(payload: string): string | null {
  try {
    const parsed = JSON.parse(payload) as { notification_id?: unknown };
    return typeof parsed.notification_id === 'string' ? parsed.notification_id : null;
  } catch {
    return null;
  }
}
