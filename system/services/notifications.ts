import { v5 as uuidv5 } from 'uuid';
import { errors, type FieldError } from '../domain/errors.js';
import { parseEvent, type DomainEvent } from '../domain/events.js';
import { needsThrottle, planDelivery } from '../domain/notification-schedule.js';
import { REPLAY_HEADER } from '../domain/replay.js';
import {
  CLOCK_TIME,
  defaultSubscription,
  draftFromEvent,
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
import { STRICT_TARGETS, targetUrlProblem, type OutboundTargetPolicy } from '../security/outbound-targets.js';
import type { RecordHandler } from '../ports/event-log.js';
import { createChannelFanout } from '../events/channel-fanout.js';
import type { FanoutBus } from '../ports/fanout-bus.js';
import type { RateLimitStore } from '../ports/rate-limit-store.js';
import type { NotificationQuery, NotificationStore } from '../stores/notification-store.js';
import { newWebhookSecret, type Deliverer } from './notification-delivery.js';
import { createNotificationDispatch, type NotificationStats, type ThrottleRule } from './notification-dispatch.js';
import { encodeFrame } from './sse-encoding.js';
import type { SseSink } from './types.js';

/** What the notification service needs. */
export interface NotificationServiceDeps {
  store: NotificationStore;
  bus: FanoutBus;
  /** The owner's notification toggles from their settings. */
  preferences: (userId: string) => Promise<NotificationPrefs>;
  deliverer: Deliverer;
  /** Which webhook and Slack URLs may be saved; default STRICT_TARGETS (public https only). Give the deliverer the same. */
  targets?: OutboundTargetPolicy;
  /** An execution's language, for tags and text; optional. */
  executionLang?: (executionId: string) => Promise<string | null>;
  log?: { warn(fields: Record<string, unknown>, message: string): void };
  /** Events older than this notify nobody (a new consumer group replaying the log from its start); default a day. */
  maxEventAgeMs?: number;
  /** Per user and channel rate of webhook/Slack copies sent on their own; needs `counters`. Null: no throttle. */
  throttle?: ThrottleRule | null;
  counters?: RateLimitStore;
  /** How long one node's claim on a delivery lasts (default 60 s) and how often due ones are swept (default 5 s). */
  leaseMs?: number;
  sweepIntervalMs?: number;
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
  /**
   * Notifies a user on every channel whose subscription accepts the draft, at most once per `sourceId` and
   * channel (the settings toggle of the draft's kind is not consulted: producers other than executions use this).
   */
  notify(userId: string, draft: NotificationDraft, sourceId: string): Promise<void>;
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
  /** Sends every held or batched copy that is due (the periodic sweeper does this by itself). */
  sweep(): Promise<number>;
  /** Starts the sweeper (a sweep now, then periodically) / stops it. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Webhook/Slack copies sent, failed and throttled by channel on this node, for the metrics. */
  stats(): NotificationStats;
}

const DAY_MS = 24 * 3600 * 1000;

/** Namespace of the name-based ids: a notification's id is derived from its source event and channel. */
const NOTIFICATION_ID_NAMESPACE = '79c44d15-39f7-48d1-8867-80680dfd09bf';

/** Builds the notification service. */
export function createNotificationService(deps: NotificationServiceDeps): NotificationService {
  const { store, bus } = deps;
  const now = () => (deps.clock ?? (() => new Date()))();
  const leaseMs = deps.leaseMs ?? 60_000;
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

  const subscriptionOf = async (userId: string, channel: NotificationChannel): Promise<Subscription> =>
    (await store.subscription(userId, channel)) ?? defaultSubscription(userId, channel, now().toISOString());
  const dispatch = createNotificationDispatch({
    store,
    deliverer: deps.deliverer,
    subscription: subscriptionOf,
    leaseMs,
    ...(deps.counters ? { counters: deps.counters } : {}),
    ...(deps.throttle ? { throttle: deps.throttle } : {}),
    ...(deps.sweepIntervalMs ? { sweepIntervalMs: deps.sweepIntervalMs } : {}),
    ...(deps.clock ? { clock: deps.clock } : {}),
    ...(deps.log ? { log: deps.log } : {}),
  });

  /** The stored copy for one channel: in-app delivered at once; webhook/Slack pending, held, batched or throttled. */
  const copyFor = async (userId: string, sub: Subscription, draft: NotificationDraft, sourceId: string): Promise<Notification> => {
    const at = now();
    const base: Notification = {
      notification_id: uuidv5(`${sourceId}:${sub.channel}`, NOTIFICATION_ID_NAMESPACE),
      user_id: userId,
      channel: sub.channel,
      severity: draft.severity,
      status: 'delivered',
      subject: draft.subject,
      body: draft.body,
      action_url: draft.action_url,
      tags: draft.tags,
      created_at: at.toISOString(),
      read_at: null,
      delivered_at: at.toISOString(),
      source_event_id: sourceId,
      error_message: null,
      attempts: 0,
      due_at: null,
      hold_reason: null,
      batch_key: null,
      lease_until: 0,
    };
    if (sub.channel === 'in_app') return base;
    const overRate = needsThrottle(sub, draft.severity) ? await dispatch.overRate(userId, sub.channel) : false;
    const plan = planDelivery(sub, draft.severity, at, overRate);
    const pending = { ...base, status: 'pending' as const, delivered_at: null, due_at: at.toISOString() };
    switch (plan.kind) {
      case 'now':
        // Claimed by whoever inserts it: the inserting node sends it at once.
        return { ...pending, lease_until: at.getTime() + leaseMs };
      case 'throttled':
        return { ...pending, status: 'throttled', due_at: null, error_message: 'throttled: over the rate of notifications for this channel' };
      case 'deferred': {
        if (!plan.batched) return { ...pending, due_at: plan.dueAt.toISOString(), hold_reason: plan.reason };
        const open = plan.reason === 'batching' ? await store.openBatch(userId, sub.channel, at.toISOString()) : null;
        const dueAt = open?.dueAt ?? plan.dueAt.toISOString();
        return { ...pending, due_at: dueAt, hold_reason: plan.reason, batch_key: open?.key ?? `${userId}:${sub.channel}:${dueAt}` };
      }
    }
  };

  const createFor = async (userId: string, sub: Subscription, draft: NotificationDraft, sourceId: string): Promise<void> => {
    const n = await copyFor(userId, sub, draft, sourceId);
    if (!(await store.insert(n))) {
      // Handled before. A copy due now but left pending (the node stopped mid-delivery) gets another try.
      const existing = await store.get(n.notification_id);
      if (existing && existing.status === 'pending' && !existing.batch_key && existing.due_at && existing.due_at <= now().toISOString()) {
        await dispatch.claimAndSend(existing, sub);
      }
      return;
    }
    if (n.channel === 'in_app') await bus.publish(notificationChannel(userId), JSON.stringify(toNotificationView(n)));
    else if (n.status === 'throttled') dispatch.noteThrottled(n.channel);
    else if (n.status === 'pending' && n.lease_until > 0) await dispatch.send(n, sub);
  };

  const notify = async (userId: string, draft: NotificationDraft, sourceId: string): Promise<void> => {
    for (const sub of await subscriptionsOf(userId)) {
      if (subscriptionAccepts(sub, draft)) await createFor(userId, sub, draft, sourceId);
    }
  };

  return {
    async onExecutionEvent(event) {
      const userId = event.metadata.user_id;
      if (!userId || !draftFromEvent(event, null)) return;
      if (now().getTime() - Date.parse(event.timestamp) > (deps.maxEventAgeMs ?? DAY_MS)) return;
      const lang = deps.executionLang ? await deps.executionLang(event.aggregate_id).catch(() => null) : null;
      const draft = draftFromEvent(event, lang);
      if (!draft || !(await deps.preferences(userId))[draft.kind]) return;
      await notify(userId, draft, event.event_id);
    },

    notify,

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
      const { rotate_webhook_secret: rotate, ...fields } = update;
      const given = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as SubscriptionUpdate;
      const next: Subscription = { ...current, ...given, user_id: userId, channel, updated_at: stamp };
      // A webhook URL always has a signing secret: the user's own, or one generated now (and on rotation).
      if (channel === 'webhook' && next.webhook_url && (rotate || !next.webhook_secret)) next.webhook_secret = newWebhookSecret();
      const problems = checkSubscription(next, deps.targets ?? STRICT_TARGETS);
      if (problems.length) throw errors.validation(problems);
      await store.putSubscription(next);
      return next;
    },

    async openStream(userId, sink) {
      const unsubscribe = await streams.subscribe(notificationChannel(userId), { deliver: (frame) => sink.sendEncoded(frame) });
      sink.onClosed(() => void unsubscribe());
    },

    deleteAllFor: async (userId) => ({ notifications: await store.deleteAllFor(userId) }),

    sweep: () => dispatch.sweep(),
    start: () => dispatch.start(),
    stop: () => dispatch.stop(),
    stats: () => dispatch.stats(),
  };
}

/** Handler for the log consumer of the `execution_events` topic: parses the record and passes it on. */
export function notificationRecordHandler(service: NotificationService): RecordHandler {
  const relevant = new Set(['execution_completed', 'execution_failed', 'execution_timeout', 'execution_cancelled']);
  return async (record) => {
    const type = record.headers['event_type'];
    if (type !== undefined && !relevant.has(type)) return;
    // A replayed copy of an event already notified once (or deliberately deleted by its user): never again.
    if (record.headers[REPLAY_HEADER] !== undefined) return;
    await service.onExecutionEvent(parseEvent(JSON.parse(record.value)));
  };
}

/**
 * What is wrong with a subscription as a whole: URLs the target policy allows (https, or http when private targets
 * are allowed; no credentials; not an obviously internal host), present when enabled; quiet hours well formed.
 */
export function checkSubscription(sub: Subscription, targets: OutboundTargetPolicy = STRICT_TARGETS): FieldError[] {
  const problems: FieldError[] = [];
  for (const field of ['webhook_url', 'slack_webhook'] as const) {
    const url = sub[field];
    const problem = url === null ? null : targetUrlProblem(url, targets, { slack: field === 'slack_webhook' });
    if (problem) problems.push({ field, message: problem });
  }
  if (sub.enabled && sub.channel === 'webhook' && !sub.webhook_url) problems.push({ field: 'webhook_url', message: 'required to enable webhook notifications' });
  if (sub.enabled && sub.channel === 'slack' && !sub.slack_webhook) problems.push({ field: 'slack_webhook', message: 'required to enable Slack notifications' });
  for (const field of ['quiet_hours_start', 'quiet_hours_end'] as const) {
    const value = sub[field];
    if (value !== null ? !CLOCK_TIME.test(value) : sub.quiet_hours_enabled) problems.push({ field, message: 'HH:MM required' });
  }
  if (!isTimeZone(sub.timezone)) problems.push({ field: 'timezone', message: 'unknown time zone' });
  if (sub.channel === 'in_app' && sub.batching_interval_seconds > 0) {
    problems.push({ field: 'batching_interval_seconds', message: 'in-app notifications are never batched; only webhook and slack take it' });
  }
  return problems;
}

function idOf(payload: string): string | null {
  try {
    const parsed = JSON.parse(payload) as { notification_id?: unknown };
    return typeof parsed.notification_id === 'string' ? parsed.notification_id : null;
  } catch {
    return null;
  }
}
