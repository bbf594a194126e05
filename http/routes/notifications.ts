import { z } from 'zod';
import { HOLD_REASONS, NOTIFICATION_CHANNELS, NOTIFICATION_STATUSES, SEVERITIES, type Subscription } from '../../system/domain/notifications.js';
import { maskSecret } from '../../system/services/notification-delivery.js';
import type { NotificationService } from '../../system/services/notifications.js';
import { parseInput } from '../errors.js';
import { requireUser } from '../guards.js';
import { describeError } from '../log.js';
import type { RouteGroup } from '../server.js';
import { pathParam } from './params.js';

const Tags = z.array(z.string().min(1).max(100)).max(50);
const HttpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2000);
const ClockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM');

/** GET /notifications query; `include_tags`/`exclude_tags` may repeat, use `[]` or commas. */
export const ListNotificationsQuery = z.object({
  status: z.enum(NOTIFICATION_STATUSES).optional(),
  include_tags: Tags.optional(),
  exclude_tags: Tags.optional(),
  tag_prefix: z.string().min(1).max(100).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});
/** PUT /notifications/subscriptions/{channel} body; fields not given keep their value. */
export const SubscriptionBody = z.object({
  enabled: z.boolean(),
  severities: z.array(z.enum(SEVERITIES)).optional(),
  include_tags: Tags.optional(),
  exclude_tags: Tags.optional(),
  webhook_url: HttpUrl.nullable().optional(),
  slack_webhook: HttpUrl.nullable().optional(),
  quiet_hours_enabled: z.boolean().optional(),
  quiet_hours_start: ClockTime.nullable().optional(),
  quiet_hours_end: ClockTime.nullable().optional(),
  timezone: z.string().min(1).max(64).optional(),
  /** 0: send each notification on its own; 1–86400: the ones made within this many seconds go out as one digest. */
  batching_interval_seconds: z.number().int().min(0).max(86_400).optional(),
  /** Your own signing secret for webhook deliveries; without one a secret is generated. */
  webhook_secret: z.string().min(16).max(256).optional(),
  /** Replace the webhook signing secret with a newly generated one (returned once, in this response). */
  rotate_webhook_secret: z.boolean().optional(),
});
const ChannelParam = z.object({ channel: z.enum(NOTIFICATION_CHANNELS) });

const NotificationResponse = z.object({
  notification_id: z.string(),
  channel: z.enum(NOTIFICATION_CHANNELS),
  status: z.enum(NOTIFICATION_STATUSES),
  subject: z.string(),
  body: z.string(),
  action_url: z.string(),
  created_at: z.string(),
  read_at: z.string().nullable(),
  severity: z.enum(SEVERITIES),
  tags: z.array(z.string()),
  delivered_at: z.string().nullable(),
  attempts: z.number().int(),
  error_message: z.string().nullable(),
  due_at: z.string().nullable(),
  hold_reason: z.enum(HOLD_REASONS).nullable(),
});
const ListResponse = z.object({ notifications: z.array(NotificationResponse), total: z.number().int(), unread_count: z.number().int() });
const SubscriptionResponse = SubscriptionBody.omit({ rotate_webhook_secret: true, webhook_secret: true })
  .required()
  .extend({
    user_id: z.string(),
    channel: z.enum(NOTIFICATION_CHANNELS),
    /** The whole secret only in the response that set or generated it; afterwards `••••` and its last four characters. */
    webhook_secret: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  });
const UnreadResponse = z.object({ unread_count: z.number().int() });

/** What the notifications API group needs. */
export interface NotificationRoutesDeps {
  notifications: NotificationService;
}

/** The notifications API group: the caller's notifications, subscriptions, and the in-app SSE stream. */
export function notificationRoutes(deps: NotificationRoutesDeps): RouteGroup {
  const { notifications } = deps;
  const base = '/api/v1/notifications';
  const doc = { tag: 'notifications', auth: 'user' as const };
  return (router, { sse, log }) => {
    router.get(
      base,
      async (ctx) => {
        const user = requireUser(ctx);
        const q = parseInput(ListNotificationsQuery, listQueryInput(ctx.query));
        const page = await notifications.list(user.userId, {
          limit: q.limit,
          offset: q.offset,
          ...(q.status ? { status: q.status } : {}),
          ...(q.include_tags ? { includeTags: q.include_tags } : {}),
          ...(q.exclude_tags ? { excludeTags: q.exclude_tags } : {}),
          ...(q.tag_prefix ? { tagPrefix: q.tag_prefix } : {}),
        });
        ctx.json(200, page);
      },
      { ...doc, summary: 'Your notifications, newest first, with tag filters', query: ListNotificationsQuery, response: ListResponse },
    );

    router.put(
      `${base}/{notification_id}/read`,
      async (ctx) => {
        const user = requireUser(ctx);
        await notifications.markRead(user.userId, pathParam(ctx, 'notification_id'));
        ctx.send(204, null);
      },
      { ...doc, summary: 'Mark one notification read', status: 204 },
    );

    router.post(
      `${base}/mark-all-read`,
      async (ctx) => {
        await notifications.markAllRead(requireUser(ctx).userId);
        ctx.send(204, null);
      },
      { ...doc, summary: 'Mark all your notifications read', status: 204 },
    );

    router.get(
      `${base}/unread-count`,
      async (ctx) => {
        ctx.json(200, { unread_count: await notifications.unreadCount(requireUser(ctx).userId) });
      },
      { ...doc, summary: 'How many of your notifications are unread', response: UnreadResponse },
    );

    router.delete(
      `${base}/{notification_id}`,
      async (ctx) => {
        const user = requireUser(ctx);
        await notifications.remove(user.userId, pathParam(ctx, 'notification_id'));
        ctx.json(200, { message: 'Notification deleted' });
      },
      { ...doc, summary: 'Delete one notification', response: z.object({ message: z.string() }) },
    );

    router.get(
      `${base}/subscriptions`,
      async (ctx) => {
        const subs = await notifications.subscriptions(requireUser(ctx).userId);
        ctx.json(200, { subscriptions: subs.map((s) => toSubscriptionView(s, false)) });
      },
      { ...doc, summary: 'Your channel subscriptions (in_app, webhook, slack)', response: z.object({ subscriptions: z.array(SubscriptionResponse) }) },
    );

    router.put(
      `${base}/subscriptions/{channel}`,
      async (ctx) => {
        const user = requireUser(ctx);
        const { channel } = parseInput(ChannelParam, { channel: pathParam(ctx, 'channel') });
        const body = parseInput(SubscriptionBody, await ctx.body.json());
        const before = (await notifications.subscriptions(user.userId)).find((s) => s.channel === channel)?.webhook_secret ?? null;
        const saved = await notifications.updateSubscription(user.userId, channel, body);
        ctx.json(200, toSubscriptionView(saved, saved.webhook_secret !== before));
      },
      { ...doc, summary: 'Change a channel subscription', body: SubscriptionBody, response: SubscriptionResponse },
    );

    router.get(
      '/api/v1/events/notifications/stream',
      async (ctx) => {
        const user = requireUser(ctx);
        const stream = sse.open(ctx);
        try {
          await notifications.openStream(user.userId, stream);
        } catch (err) {
          if (!stream.committed) {
            stream.discard();
            throw err;
          }
          log.error({ path: ctx.path, ...describeError(err) }, 'notification stream failed after it started');
          stream.end();
          return;
        }
        stream.commit();
      },
      { ...doc, summary: 'Your new in-app notifications as SSE (event `notification`); never closes by itself', stream: true },
    );
  };
}

/** Domain → wire: the webhook secret is shown whole only when `reveal` (it was just set or generated). */
export function toSubscriptionView(sub: Subscription, reveal: boolean): Record<string, unknown> {
  return { ...sub, webhook_secret: sub.webhook_secret === null ? null : reveal ? sub.webhook_secret : maskSecret(sub.webhook_secret) };
}

/** The raw query as ListNotificationsQuery input: repeated, `[]`-suffixed and comma-separated tags are merged. */
export function listQueryInput(query: URLSearchParams): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const key of ['status', 'tag_prefix', 'limit', 'offset']) {
    const value = query.get(key);
    if (value !== null) input[key] = value;
  }
  for (const key of ['include_tags', 'exclude_tags']) {
    const tags = [...query.getAll(key), ...query.getAll(`${key}[]`)]
      .flatMap((v) => v.split(','))
      .map((v) => v.trim())
      .filter((v) => v !== '');
    if (tags.length) input[key] = tags;
  }
  return input;
}
