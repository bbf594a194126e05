/**
 * When a webhook or Slack copy of a notification goes out: at once, held for the subscription's quiet hours,
 * gathered into a digest, or kept as throttled. Pure functions of the subscription, the severity and the time.
 */
import { inQuietHours, type HoldReason, type Severity, type Subscription } from './notifications.js';

/** How one webhook/Slack copy is handled. */
export type DeliveryPlan =
  | { kind: 'now' }
  /** Over the per-user rate: kept with status `throttled`, never sent. */
  | { kind: 'throttled' }
  /** Sent at `dueAt`; `batched`: in one digest with the others of its window. */
  | { kind: 'deferred'; dueAt: Date; reason: HoldReason; batched: boolean };

/** Urgent notifications ignore quiet hours, batching and the throttle. */
export function isUrgent(severity: Severity): boolean {
  return severity === 'urgent';
}

/** High and urgent notifications are never throttled: they are sent (or held and sent) whatever the rate. */
export function bypassesThrottle(severity: Severity): boolean {
  return severity === 'high' || severity === 'urgent';
}

/**
 * Plans one copy. `overRate` is the throttle's verdict for a copy sent on its own (the caller only asks the
 * throttle for those; a digest is one delivery and is not throttled).
 */
export function planDelivery(sub: Subscription, severity: Severity, at: Date, overRate: boolean): DeliveryPlan {
  if (isUrgent(severity)) return { kind: 'now' };
  const batched = sub.batching_interval_seconds > 0;
  if (inQuietHours(sub, at)) {
    if (overRate && !batched && !bypassesThrottle(severity)) return { kind: 'throttled' };
    return { kind: 'deferred', dueAt: quietHoursEnd(sub, at), reason: 'quiet_hours', batched };
  }
  if (batched) return { kind: 'deferred', dueAt: new Date(at.getTime() + sub.batching_interval_seconds * 1000), reason: 'batching', batched };
  if (overRate && !bypassesThrottle(severity)) return { kind: 'throttled' };
  return { kind: 'now' };
}

/** Whether planning this copy needs the throttle's verdict (a copy that goes out on its own, not urgent). */
export function needsThrottle(sub: Subscription, severity: Severity): boolean {
  return !isUrgent(severity) && sub.batching_interval_seconds === 0;
}

/**
 * The first whole minute after `at` that is outside the subscription's quiet hours (HH:MM in its time zone).
 * Starts from the end as the wall clock reads it, then walks minutes forward while still quiet and back while
 * the minute before is already outside, so a skipped or repeated hour (a clock change) still gives the real end.
 */
export function quietHoursEnd(sub: Subscription, at: Date): Date {
  if (!inQuietHours(sub, at)) return at;
  const minute = 60_000;
  const end = minutesOf(sub.quiet_hours_end ?? '00:00');
  const ahead = (end - localMinutes(sub.timezone, at) + 1440) % 1440;
  let candidate = Math.floor(at.getTime() / minute) * minute + ahead * minute;
  for (let i = 0; i < 1440 && inQuietHours(sub, new Date(candidate)); i++) candidate += minute;
  for (let i = 0; i < 1440 && candidate - minute > at.getTime() && !inQuietHours(sub, new Date(candidate - minute)); i++) candidate -= minute;
  return new Date(candidate);
}

function localMinutes(timeZone: string, at: Date): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  return Number(parts.find((p) => p.type === 'hour')?.value) * 60 + Number(parts.find((p) => p.type === 'minute')?.value);
}

function minutesOf(hhmm: string): number {
  const [h = '0', m = '0'] = hhmm.split(':');
  return Number(h) * 60 + Number(m);
}
