import { z } from 'zod';
import type { DomainEvent } from './events.js';

/** Where a notification goes. */
export const NOTIFICATION_CHANNELS = ['in_app', 'webhook', 'slack'] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];

/** How urgent a notification is. */
export const SEVERITIES = ['low', 'medium', 'high', 'urgent'] as const;
export type Severity = (typeof SEVERITIES)[number];

/**
 * Lifecycle of a notification: in-app ones are delivered when stored; webhook/Slack copies start `pending` (held
 * for quiet hours or a digest when `due_at` is in the future) and end `delivered` or `failed`; `throttled` ones
 * (low/medium over the per-user rate) are kept but not sent; `skipped` ones were due while their channel was
 * switched off.
 */
export const NOTIFICATION_STATUSES = ['pending', 'delivered', 'read', 'failed', 'skipped', 'throttled'] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];

/** Why a pending webhook/Slack copy waits: the subscription's quiet hours, or the digest it will go out in. */
export const HOLD_REASONS = ['quiet_hours', 'batching'] as const;
export type HoldReason = (typeof HOLD_REASONS)[number];

/** Statuses that count as unread. */
export const UNREAD_STATUSES: readonly NotificationStatus[] = ['pending', 'delivered'];

/** A stored notification (collection `notifications`); one per source event and channel. */
export const NotificationSchema = z.object({
  notification_id: z.string(),
  user_id: z.string(),
  channel: z.enum(NOTIFICATION_CHANNELS),
  severity: z.enum(SEVERITIES),
  status: z.enum(NOTIFICATION_STATUSES),
  subject: z.string(),
  body: z.string(),
  action_url: z.string(),
  tags: z.array(z.string()),
  created_at: z.string(),
  read_at: z.string().nullable(),
  delivered_at: z.string().nullable(),
  /** The domain event it was made from: the idempotency key. */
  source_event_id: z.string().nullable(),
  /** Why delivery failed or was skipped (the last attempt's error). */
  error_message: z.string().nullable(),
  /** HTTP attempts made for a webhook/Slack copy (0 for in-app and for copies not sent yet). */
  attempts: z.number().int().default(0),
  /** When a pending webhook/Slack copy is sent: its creation for at once, later when held or batched. */
  due_at: z.string().nullable().default(null),
  hold_reason: z.enum(HOLD_REASONS).nullable().default(null),
  /** Set for a copy that goes out in a digest: every copy with the same key goes in one delivery. */
  batch_key: z.string().nullable().default(null),
  /** Epoch ms until which one node has claimed the delivery (0: nobody). */
  lease_until: z.number().default(0),
});
export type Notification = z.infer<typeof NotificationSchema>;

/** A user's preferences for one channel (collection `notification_subscriptions`). */
export const SubscriptionSchema = z.object({
  user_id: z.string(),
  channel: z.enum(NOTIFICATION_CHANNELS),
  enabled: z.boolean(),
  /** Empty means every severity. */
  severities: z.array(z.enum(SEVERITIES)),
  /** Non-empty: only notifications carrying one of these tags. */
  include_tags: z.array(z.string()),
  exclude_tags: z.array(z.string()),
  webhook_url: z.string().nullable(),
  slack_webhook: z.string().nullable(),
  /** Signs webhook deliveries (HMAC-SHA256); generated when a webhook URL is saved without one. */
  webhook_secret: z.string().nullable().default(null),
  /** Non-urgent webhook and Slack deliveries inside quiet hours are held until they end (the in-app copy is kept). */
  quiet_hours_enabled: z.boolean(),
  quiet_hours_start: z.string().nullable(),
  quiet_hours_end: z.string().nullable(),
  timezone: z.string(),
  /** 0: each notification goes out on its own; otherwise the ones made within this many seconds go out as one digest. */
  batching_interval_seconds: z.number().int().default(0),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Subscription = z.infer<typeof SubscriptionSchema>;

/** The fields of a subscription a user may change; `rotate_webhook_secret` asks for a new generated secret. */
export type SubscriptionUpdate = Partial<Omit<Subscription, 'user_id' | 'channel' | 'created_at' | 'updated_at'>> & { rotate_webhook_secret?: boolean };

/** What a notification shows in the API and on the SSE stream. */
export interface NotificationView {
  notification_id: string;
  channel: NotificationChannel;
  status: NotificationStatus;
  subject: string;
  body: string;
  action_url: string;
  created_at: string;
  read_at: string | null;
  severity: Severity;
  tags: string[];
  delivered_at: string | null;
  attempts: number;
  error_message: string | null;
  due_at: string | null;
  hold_reason: HoldReason | null;
}

/** Domain → wire. */
export function toNotificationView(n: Notification): NotificationView {
  return {
    notification_id: n.notification_id,
    channel: n.channel,
    status: n.status,
    subject: n.subject,
    body: n.body,
    action_url: n.action_url,
    created_at: n.created_at,
    read_at: n.read_at,
    severity: n.severity,
    tags: n.tags,
    delivered_at: n.delivered_at,
    attempts: n.attempts,
    error_message: n.error_message,
    due_at: n.due_at,
    hold_reason: n.hold_reason,
  };
}

/** The default subscription: in-app on for everything, external channels off until configured. */
export function defaultSubscription(userId: string, channel: NotificationChannel, now: string): Subscription {
  return {
    user_id: userId,
    channel,
    enabled: channel === 'in_app',
    severities: [],
    include_tags: [],
    exclude_tags: [],
    webhook_url: null,
    slack_webhook: null,
    webhook_secret: null,
    quiet_hours_enabled: false,
    quiet_hours_start: null,
    quiet_hours_end: null,
    timezone: 'UTC',
    batching_interval_seconds: 0,
    created_at: now,
    updated_at: now,
  };
}

/** The user-settings toggle that governs a kind of notification. */
export type NotificationKind = 'execution_completed' | 'execution_failed';

/** The content of a notification before it is addressed to a channel. */
export interface NotificationDraft {
  kind: NotificationKind;
  severity: Severity;
  subject: string;
  body: string;
  action_url: string;
  tags: string[];
}

/** What a terminal execution event tells its owner, or null for events that notify nobody. */
export function draftFromEvent(event: DomainEvent, lang: string | null): NotificationDraft | null {
  const id = event.aggregate_id;
  const runtime = lang ? `${lang} ` : '';
  const base = (outcome: string) => ['execution', outcome, `exec:${id}`, ...(lang ? [`lang:${lang}`] : [])];
  const action_url = `/api/v1/executions/${id}/result`;
  switch (event.event_type) {
    case 'execution_completed': {
      const secs = event.resource_usage.execution_time_wall_seconds;
      return {
        kind: 'execution_completed',
        severity: 'medium',
        subject: 'Execution completed',
        body: `Your ${runtime}execution ${id} completed in ${secs.toFixed(2)} s (exit code ${event.exit_code ?? 'none'}).`,
        action_url,
        tags: base('completed'),
      };
    }
    case 'execution_failed':
      return {
        kind: 'execution_failed',
        severity: 'high',
        subject: 'Execution failed',
        body: `Your ${runtime}execution ${id} failed (${event.error_type}): ${event.error_message}`.slice(0, 1000),
        action_url,
        tags: [...base('failed'), `error:${event.error_type}`],
      };
    case 'execution_timeout':
      return {
        kind: 'execution_failed',
        severity: 'high',
        subject: 'Execution timed out',
        body: `Your ${runtime}execution ${id} was stopped after ${event.timeout_seconds} s.`,
        action_url,
        tags: base('timeout'),
      };
    case 'execution_cancelled':
      return {
        kind: 'execution_failed',
        severity: 'low',
        subject: 'Execution cancelled',
        body: `Your ${runtime}execution ${id} was cancelled: ${event.reason}`.slice(0, 1000),
        action_url,
        tags: base('cancelled'),
      };
    default:
      return null;
  }
}

/** Whether a tag list passes include/exclude/prefix filters (include: any of; exclude: none of; prefix: some tag starts with it). */
export function tagsMatch(tags: readonly string[], f: { include?: readonly string[]; exclude?: readonly string[]; prefix?: string }): boolean {
  if (f.include?.length && !f.include.some((t) => tags.includes(t))) return false;
  if (f.exclude?.length && f.exclude.some((t) => tags.includes(t))) return false;
  if (f.prefix && !tags.some((t) => t.startsWith(f.prefix as string))) return false;
  return true;
}

/** Whether a channel subscription wants this notification at all. */
export function subscriptionAccepts(sub: Subscription, draft: Pick<NotificationDraft, 'severity' | 'tags'>): boolean {
  if (!sub.enabled) return false;
  if (sub.severities.length && !sub.severities.includes(draft.severity)) return false;
  return tagsMatch(draft.tags, { include: sub.include_tags, exclude: sub.exclude_tags });
}

/** Whether `at` falls inside the subscription's quiet hours (HH:MM in its time zone; may wrap midnight). */
export function inQuietHours(sub: Subscription, at: Date): boolean {
  if (!sub.quiet_hours_enabled || !sub.quiet_hours_start || !sub.quiet_hours_end) return false;
  const start = minutesOf(sub.quiet_hours_start);
  const end = minutesOf(sub.quiet_hours_end);
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: sub.timezone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const now = Number(parts.find((p) => p.type === 'hour')?.value) * 60 + Number(parts.find((p) => p.type === 'minute')?.value);
  if (start === end) return false;
  return start < end ? now >= start && now < end : now >= start || now < end;
}

/** `HH:MM` as minutes after midnight. */
function minutesOf(hhmm: string): number {
  const [h = '0', m = '0'] = hhmm.split(':');
  return Number(h) * 60 + Number(m);
}

/** `HH:MM`, 00:00–23:59. */
export const CLOCK_TIME = /^([01]\d|2[0-3]):[0-5]\d$/;

/** True for a time zone name this runtime knows (IANA, or UTC). */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** The fan-out bus channel carrying one user's in-app notifications. */
export function notificationChannel(userId: string): string {
  return `notifications:${userId}`;
}
