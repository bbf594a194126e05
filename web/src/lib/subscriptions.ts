/** Notification channel subscriptions: the form's values as the body of PUT /notifications/subscriptions/{channel}. */
import type { Subscription, SubscriptionUpdate } from './api/types';

/** Comma- or space-separated tags as a list, trimmed, without empties or repeats. */
export function tagsFromText(text: string): string[] {
  return [...new Set(text.split(/[,\s]+/).map((t) => t.trim()).filter(Boolean))];
}

/**
 * The update for one channel: what every channel has, the URL of its own kind, and for webhook and Slack the quiet
 * hours and digest interval; a secret to set or a request to generate one only when asked (webhook).
 */
export function subscriptionUpdate(s: Subscription, secret: { set?: string; rotate?: boolean } = {}): SubscriptionUpdate {
  const body: SubscriptionUpdate = { enabled: s.enabled, severities: [...s.severities], include_tags: [...s.include_tags], exclude_tags: [...s.exclude_tags] };
  if (s.channel === 'in_app') return body;
  if (s.channel === 'webhook') body.webhook_url = s.webhook_url?.trim() || null;
  if (s.channel === 'slack') body.slack_webhook = s.slack_webhook?.trim() || null;
  body.quiet_hours_enabled = s.quiet_hours_enabled === true;
  if (body.quiet_hours_enabled) {
    body.quiet_hours_start = s.quiet_hours_start || null;
    body.quiet_hours_end = s.quiet_hours_end || null;
    if (s.timezone?.trim()) body.timezone = s.timezone.trim();
  }
  const interval = Number(s.batching_interval_seconds ?? 0);
  body.batching_interval_seconds = Number.isFinite(interval) ? Math.max(0, Math.round(interval)) : 0;
  if (s.channel === 'webhook') {
    if (secret.set) body.webhook_secret = secret.set;
    if (secret.rotate) body.rotate_webhook_secret = true;
  }
  return body;
}
