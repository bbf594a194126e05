/**
 * Notification channel settings in Chromium against a real embedded node: tag filters, quiet hours, a digest interval
 * and the webhook signing secret (generated, shown once, then masked; or set by the user) reach the server; the
 * notifications list filters by delivery status and shows why a webhook copy waits.
 */
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/support/wait.js';
import { signInAsAdmin } from './admin-support.js';
import { screenshotOnFailure, startBrowserHarness, type BrowserHarness } from './browser.js';

let h: BrowserHarness;
let page: Page;

beforeAll(async () => {
  // The URLs saved here are on loopback over http: allowed explicitly, as an on-premise operator would.
  h = await startBrowserHarness({ NOTIFICATION_ALLOW_PRIVATE_TARGETS: 'true' });
  ({ page } = await h.newPage());
  await signInAsAdmin(page, '/notifications');
}, 120_000);

afterEach(async ({ task }) => {
  await screenshotOnFailure(page, `subscriptions-${task.name}`, task.result?.state === 'fail');
});

afterAll(async () => {
  await h?.stop();
});

const stored = async (channel: string) =>
  ((await h.node.api('/notifications/subscriptions')).body.subscriptions as Array<Record<string, unknown>>).find((s) => s.channel === channel)!;

describe('channel subscriptions', () => {
  it('saves a webhook with tag filters, quiet hours and a digest interval, and makes a signing secret shown once', async () => {
    const webhook = page.getByTestId('subscription-webhook');
    await webhook.getByLabel('Enabled').check();
    await webhook.getByLabel('Webhook URL').fill('http://127.0.0.1:9/integr8s-hook');
    await webhook.getByTestId('webhook-include-tags').fill('exec, lang:python');
    await webhook.getByTestId('webhook-exclude-tags').fill('noisy');
    await webhook.getByTestId('webhook-quiet').check();
    await webhook.getByTestId('webhook-quiet-start').fill('22:00');
    await webhook.getByTestId('webhook-quiet-end').fill('07:30');
    await webhook.getByTestId('webhook-timezone').fill('Europe/Berlin');
    await webhook.getByTestId('webhook-batching').fill('300');
    await webhook.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Saved webhook subscription').waitFor();
    expect(await stored('webhook')).toMatchObject({
      enabled: true,
      webhook_url: 'http://127.0.0.1:9/integr8s-hook',
      include_tags: ['exec', 'lang:python'],
      exclude_tags: ['noisy'],
      quiet_hours_enabled: true,
      quiet_hours_start: '22:00',
      quiet_hours_end: '07:30',
      timezone: 'Europe/Berlin',
      batching_interval_seconds: 300,
    });

    // A new secret is shown whole once; the server keeps only a masked view for later reads.
    const revealed = webhook.getByTestId('webhook-secret-revealed').locator('code');
    const current = async () => ((await revealed.count()) > 0 ? await revealed.textContent() : null);
    const before = await current();
    await webhook.getByTestId('webhook-secret-rotate').click();
    // The rotated secret replaces any one shown before: read it once the page shows it, not the one it replaces.
    await expect.poll(current, { timeout: 10_000 }).not.toBe(before);
    const shown = (await revealed.textContent())!;
    expect(shown.length).toBeGreaterThanOrEqual(16);
    const masked = (await stored('webhook')).webhook_secret as string;
    expect(masked).not.toBe(shown);
    expect(masked.endsWith(shown.slice(-4))).toBe(true);

    // After a reload only the masked one is on the page, with the other settings as saved.
    await page.reload();
    await webhook.getByTestId('webhook-secret-current').filter({ hasText: masked }).waitFor();
    expect(await webhook.getByTestId('webhook-secret-revealed').count()).toBe(0);
    expect(await webhook.getByTestId('webhook-include-tags').inputValue()).toBe('exec, lang:python');
    expect(await webhook.getByTestId('webhook-quiet-end').inputValue()).toBe('07:30');
    expect(await webhook.getByTestId('webhook-batching').inputValue()).toBe('300');

    // The user's own secret replaces it.
    await webhook.getByTestId('webhook-secret-input').fill('my-own-signing-secret-42');
    await webhook.getByRole('button', { name: 'Use this secret' }).click();
    await webhook.getByTestId('webhook-secret-revealed').filter({ hasText: 'my-own-signing-secret-42' }).waitFor();
    expect((await stored('webhook')).webhook_secret).toMatch(/-42$/);
  });

  it('turns Slack quiet hours off and in-app tag filters on', async () => {
    const slack = page.getByTestId('subscription-slack');
    await slack.getByLabel('Slack webhook').fill('http://127.0.0.1:9/slack/T000/B000/XXX');
    await slack.getByLabel('Enabled').check();
    await slack.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Saved slack subscription').waitFor();
    expect(await stored('slack')).toMatchObject({ enabled: true, slack_webhook: 'http://127.0.0.1:9/slack/T000/B000/XXX', quiet_hours_enabled: false, batching_interval_seconds: 0 });

    const inApp = page.getByTestId('subscription-in_app');
    await inApp.getByTestId('in_app-exclude-tags').fill('chatty');
    await inApp.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Saved in_app subscription').waitFor();
    expect(await stored('in_app')).toMatchObject({ enabled: true, exclude_tags: ['chatty'] });
  });

  it('lists notifications by delivery status, a held webhook copy with why it waits', async () => {
    const id = await h.node.submit('print("notify the channels")');
    await h.node.stream(id);
    const copies = await waitFor(async () => {
      const list = (await h.node.api('/notifications?limit=100')).body.notifications as Array<{ channel: string; status: string; action_url: string }>;
      const mine = list.filter((n) => n.action_url.includes(id));
      return mine.some((n) => n.channel === 'webhook') && mine.some((n) => n.channel === 'in_app') ? mine : null;
    }, { message: 'the in-app and webhook copies' });
    // The webhook digests every 300 s (and may be in its quiet hours): its copy waits.
    expect(copies.find((n) => n.channel === 'webhook')!.status).toBe('pending');

    await page.goto('/notifications');
    await page.getByTestId('status-filter').selectOption('pending');
    const held = page.getByTestId('delivery').filter({ hasText: 'webhook:' });
    await held.first().waitFor();
    expect(await page.getByTestId('delivery').evaluateAll((els) => els.every((e) => / pending/.test(e.textContent ?? '')))).toBe(true);
    expect(await held.first().textContent()).toMatch(/^\s*webhook: pending, held \((quiet hours|batching)\) until /);

    await page.getByTestId('status-filter').selectOption('delivered');
    const delivered = (await h.node.api('/notifications?status=delivered&limit=100')).body;
    await page.getByText(`${delivered.total} notifications`).waitFor();
    expect(await page.getByTestId('delivery').count()).toBe(0);
    expect(delivered.notifications.every((n: { channel: string }) => n.channel === 'in_app')).toBe(true);
  });
});
