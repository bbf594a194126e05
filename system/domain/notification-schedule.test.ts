import { describe, expect, it } from 'vitest';
import { planDelivery, quietHoursEnd } from './notification-schedule.js';
import { defaultSubscription, type Subscription } from './notifications.js';

const sub = (patch: Partial<Subscription>): Subscription => ({ ...defaultSubscription('u1', 'webhook', '2026-01-01T00:00:00.000Z'), enabled: true, ...patch });
const quiet = (start: string, end: string, timezone = 'UTC') => sub({ quiet_hours_enabled: true, quiet_hours_start: start, quiet_hours_end: end, timezone });
const at = (iso: string) => new Date(iso);

describe('quiet hours end', () => {
  it('is the end time on the same or the next day, in the subscription time zone', () => {
    expect(quietHoursEnd(quiet('22:00', '07:00'), at('2026-03-02T23:10:20Z')).toISOString()).toBe('2026-03-03T07:00:00.000Z');
    expect(quietHoursEnd(quiet('22:00', '07:00'), at('2026-03-03T02:00:00Z')).toISOString()).toBe('2026-03-03T07:00:00.000Z');
    expect(quietHoursEnd(quiet('09:00', '17:30', 'America/New_York'), at('2026-01-15T15:00:00Z')).toISOString()).toBe('2026-01-15T22:30:00.000Z');
    // Outside quiet hours: now.
    expect(quietHoursEnd(quiet('22:00', '07:00'), at('2026-03-02T12:00:00Z')).toISOString()).toBe('2026-03-02T12:00:00.000Z');
  });

  it('across a clock change: the first minute that really is outside them', () => {
    // Berlin, 29 March 2026: 02:00 CET jumps to 03:00 CEST. Quiet 01:00–03:00 ends at 03:00 CEST = 01:00Z.
    expect(quietHoursEnd(quiet('01:00', '03:00', 'Europe/Berlin'), at('2026-03-29T00:30:00Z')).toISOString()).toBe('2026-03-29T01:00:00.000Z');
    // Quiet 01:00–02:30 on that day: 02:30 never happens, so 03:00 CEST.
    expect(quietHoursEnd(quiet('01:00', '02:30', 'Europe/Berlin'), at('2026-03-29T00:30:00Z')).toISOString()).toBe('2026-03-29T01:00:00.000Z');
  });
});

describe('delivery plans', () => {
  const night = at('2026-03-02T23:00:00Z');
  it('urgent goes now whatever the quiet hours, batching or rate', () => {
    expect(planDelivery(sub({ ...quiet('22:00', '07:00'), batching_interval_seconds: 60 }), 'urgent', night, true)).toEqual({ kind: 'now' });
  });
  it('quiet hours hold the rest until they end, batched when the subscription batches', () => {
    expect(planDelivery(quiet('22:00', '07:00'), 'high', night, false)).toEqual({ kind: 'deferred', dueAt: at('2026-03-03T07:00:00Z'), reason: 'quiet_hours', batched: false });
    expect(planDelivery({ ...quiet('22:00', '07:00'), batching_interval_seconds: 60 }, 'low', night, false)).toMatchObject({ kind: 'deferred', reason: 'quiet_hours', batched: true });
  });
  it('batching defers by the interval; over the rate only low and medium are throttled', () => {
    expect(planDelivery(sub({ batching_interval_seconds: 90 }), 'low', night, false)).toEqual({ kind: 'deferred', dueAt: at('2026-03-02T23:01:30Z'), reason: 'batching', batched: true });
    expect(planDelivery(sub({}), 'low', night, true)).toEqual({ kind: 'throttled' });
    expect(planDelivery(sub({}), 'medium', night, true)).toEqual({ kind: 'throttled' });
    expect(planDelivery(sub({}), 'high', night, true)).toEqual({ kind: 'now' });
    expect(planDelivery(quiet('22:00', '07:00'), 'medium', night, true)).toEqual({ kind: 'throttled' });
    expect(planDelivery(quiet('22:00', '07:00'), 'high', night, true)).toMatchObject({ kind: 'deferred' });
  });
});
