import { describe, expect, it } from 'vitest';
import type { Subscription } from './api/types';
import { subscriptionUpdate, tagsFromText } from './subscriptions';

const base = (channel: Subscription['channel'], extra: Partial<Subscription> = {}): Subscription => ({
  channel,
  enabled: true,
  severities: ['high', 'urgent'],
  include_tags: ['exec'],
  exclude_tags: [],
  webhook_url: ' https://hooks.example/x ',
  slack_webhook: '',
  webhook_secret: '••••abcd',
  quiet_hours_enabled: true,
  quiet_hours_start: '22:00',
  quiet_hours_end: '07:00',
  timezone: 'Europe/Berlin',
  batching_interval_seconds: 300,
  ...extra,
});

describe('subscription updates', () => {
  it('sends only the common fields for in-app', () => {
    expect(subscriptionUpdate(base('in_app'))).toEqual({ enabled: true, severities: ['high', 'urgent'], include_tags: ['exec'], exclude_tags: [] });
  });

  it('sends the webhook URL, quiet hours and digest interval for a webhook, never the masked secret', () => {
    expect(subscriptionUpdate(base('webhook'))).toEqual({
      enabled: true,
      severities: ['high', 'urgent'],
      include_tags: ['exec'],
      exclude_tags: [],
      webhook_url: 'https://hooks.example/x',
      quiet_hours_enabled: true,
      quiet_hours_start: '22:00',
      quiet_hours_end: '07:00',
      timezone: 'Europe/Berlin',
      batching_interval_seconds: 300,
    });
  });

  it('sets or rotates the webhook secret only when asked, and only for the webhook', () => {
    expect(subscriptionUpdate(base('webhook'), { set: 'a-secret-of-16-chars' })).toMatchObject({ webhook_secret: 'a-secret-of-16-chars' });
    expect(subscriptionUpdate(base('webhook'), { rotate: true })).toMatchObject({ rotate_webhook_secret: true });
    expect(subscriptionUpdate(base('slack'), { rotate: true })).not.toHaveProperty('rotate_webhook_secret');
  });

  it('clears an empty Slack URL, leaves quiet-hour times out when they are off, and rounds the interval', () => {
    const body = subscriptionUpdate(base('slack', { quiet_hours_enabled: false, batching_interval_seconds: 12.6 }));
    expect(body).toMatchObject({ slack_webhook: null, quiet_hours_enabled: false, batching_interval_seconds: 13 });
    expect(body).not.toHaveProperty('quiet_hours_start');
    expect(body).not.toHaveProperty('webhook_url');
  });

  it('reads tags separated by commas or spaces, once each', () => {
    expect(tagsFromText(' exec, lang:python  exec,,')).toEqual(['exec', 'lang:python']);
    expect(tagsFromText('')).toEqual([]);
  });
});
