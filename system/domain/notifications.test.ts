import { describe, expect, it } from 'vitest';
import { stampEvent } from './events.js';
import { defaultSubscription, draftFromEvent, inQuietHours, subscriptionAccepts, tagsMatch, type Subscription } from './notifications.js';

const output = { stdout: '', stderr: '', stdout_truncated: false, stderr_truncated: false, exit_code: 0 };
const usage = { execution_time_wall_seconds: 1.234, cpu_time_jiffies: 10, clk_tck_hertz: 100, peak_memory_kb: 1000 };
const meta = { user_id: 'u1' };

describe('notification drafts from execution events', () => {
  it('completed: medium, tagged with outcome, execution and language', () => {
    const e = stampEvent('execution_completed', 'ex1', { execution_id: 'ex1', ...output, resource_usage: usage }, meta);
    expect(draftFromEvent(e, 'python')).toEqual({
      kind: 'execution_completed',
      severity: 'medium',
      subject: 'Execution completed',
      body: 'Your python execution ex1 completed in 1.23 s (exit code 0).',
      action_url: '/api/v1/executions/ex1/result',
      tags: ['execution', 'completed', 'exec:ex1', 'lang:python'],
    });
    expect(draftFromEvent(e, null)?.tags).toEqual(['execution', 'completed', 'exec:ex1']);
  });

  it('failed, timeout and cancelled fall under the execution_failed toggle; other events notify nobody', () => {
    const failed = stampEvent(
      'execution_failed',
      'ex2',
      { execution_id: 'ex2', error_type: 'script_error', error_message: 'boom', ...output, exit_code: 1, resource_usage: null },
      meta,
    );
    expect(draftFromEvent(failed, null)).toMatchObject({ kind: 'execution_failed', severity: 'high', tags: ['execution', 'failed', 'exec:ex2', 'error:script_error'] });
    const timeout = stampEvent('execution_timeout', 'ex3', { execution_id: 'ex3', timeout_seconds: 10, ...output, resource_usage: usage }, meta);
    expect(draftFromEvent(timeout, 'go')).toMatchObject({ kind: 'execution_failed', severity: 'high', tags: ['execution', 'timeout', 'exec:ex3', 'lang:go'] });
    const cancelled = stampEvent('execution_cancelled', 'ex4', { execution_id: 'ex4', reason: 'user' }, meta);
    expect(draftFromEvent(cancelled, null)).toMatchObject({ kind: 'execution_failed', severity: 'low' });
    expect(draftFromEvent(stampEvent('execution_running', 'ex5', { execution_id: 'ex5' }, meta), null)).toBeNull();
  });
});

describe('filters', () => {
  it('tags: include any, exclude none, prefix some', () => {
    const tags = ['execution', 'completed', 'lang:python'];
    expect(tagsMatch(tags, {})).toBe(true);
    expect(tagsMatch(tags, { include: ['failed', 'completed'] })).toBe(true);
    expect(tagsMatch(tags, { include: ['failed'] })).toBe(false);
    expect(tagsMatch(tags, { exclude: ['completed'] })).toBe(false);
    expect(tagsMatch(tags, { prefix: 'lang:' })).toBe(true);
    expect(tagsMatch(tags, { prefix: 'exec:' })).toBe(false);
  });

  it('subscriptions: disabled, severities and tags', () => {
    const sub = defaultSubscription('u', 'in_app', 'now');
    const draft = { severity: 'medium' as const, tags: ['execution', 'completed'] };
    expect(subscriptionAccepts(sub, draft)).toBe(true);
    expect(subscriptionAccepts({ ...sub, enabled: false }, draft)).toBe(false);
    expect(subscriptionAccepts({ ...sub, severities: ['high', 'urgent'] }, draft)).toBe(false);
    expect(subscriptionAccepts({ ...sub, exclude_tags: ['completed'] }, draft)).toBe(false);
    expect(subscriptionAccepts({ ...sub, include_tags: ['failed'] }, draft)).toBe(false);
    expect(defaultSubscription('u', 'webhook', 'now').enabled).toBe(false);
  });

  it('quiet hours in the subscription time zone, also across midnight', () => {
    const quiet = (start: string, end: string, timezone = 'UTC'): Subscription => ({
      ...defaultSubscription('u', 'webhook', 'now'),
      quiet_hours_enabled: true,
      quiet_hours_start: start,
      quiet_hours_end: end,
      timezone,
    });
    const at = new Date('2024-06-01T23:30:00Z');
    expect(inQuietHours(quiet('22:00', '08:00'), at)).toBe(true);
    expect(inQuietHours(quiet('08:00', '22:00'), at)).toBe(false);
    // 23:30 UTC is 08:30 in Tokyo.
    expect(inQuietHours(quiet('22:00', '08:00', 'Asia/Tokyo'), at)).toBe(false);
    expect(inQuietHours(quiet('08:00', '09:00', 'Asia/Tokyo'), at)).toBe(true);
    expect(inQuietHours({ ...quiet('22:00', '08:00'), quiet_hours_enabled: false }, at)).toBe(false);
  });
});
