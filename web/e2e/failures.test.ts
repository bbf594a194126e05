/**
 * How the app reports failed calls, in Chromium against a real embedded node: a locked account at sign-in (423), a
 * forged CSRF token (403), a per-user rate limit (429), a gateway in front failing (5xx) and no network at all each
 * end in a message that says what happened. (422 and an expired session (401) are in the user journey.)
 */
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { screenshotOnFailure, startBrowserHarness, type BrowserHarness } from './browser.js';

let h: BrowserHarness;
let page: Page;
let context: BrowserContext;
let erinId: string;

beforeAll(async () => {
  h = await startBrowserHarness();
  for (const name of ['erin', 'frank']) {
    const res = await h.node.api('/admin/users/', { method: 'POST', json: { username: name, email: `${name}@example.com`, password: `${name}-password-1` } });
    expect(res.status).toBe(200);
    if (name === 'erin') erinId = res.body.user_id;
  }
  ({ page, context } = await h.newPage());
}, 120_000);

afterEach(async ({ task }) => {
  await screenshotOnFailure(page, `failures-${task.name}`, task.result?.state === 'fail');
});

afterAll(async () => {
  await h?.stop();
});

const toast = (text: string | RegExp) => page.getByTestId('toasts').getByText(text);

describe('failure messages', () => {
  it('says an account is locked at sign-in (423)', async () => {
    const { max_login_attempts: attempts } = (await h.node.api('/admin/settings/')).body;
    for (let i = 0; i <= attempts; i++) {
      await fetch(`${h.node.base}/auth/login`, { method: 'POST', body: new URLSearchParams({ username: 'frank', password: 'wrong-password' }) });
    }
    const locked = await fetch(`${h.node.base}/auth/login`, { method: 'POST', body: new URLSearchParams({ username: 'frank', password: 'frank-password-1' }) });
    expect(locked.status).toBe(423);
    const { detail } = (await locked.json()) as { detail: string };
    await page.goto('/login');
    await page.getByLabel('Username').fill('frank');
    await page.getByLabel('Password').fill('frank-password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('login-error').filter({ hasText: detail }).waitFor();
    expect(page.url()).toMatch(/\/login$/);
  });

  it('says a write was refused when the CSRF token does not match (403)', async () => {
    await page.getByLabel('Username').fill('erin');
    await page.getByLabel('Password').fill('erin-password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/editor$/);
    await page.goto('/notifications');
    await page.getByTestId('mark-all-read').waitFor();
    const real = await page.evaluate(() => document.cookie.match(/csrf_token=([^;]+)/)?.[1] ?? '');
    await page.evaluate(() => (document.cookie = 'csrf_token=forged-token; path=/'));
    try {
      await page.getByTestId('mark-all-read').click();
      await toast('Not allowed: CSRF validation failed').waitFor();
    } finally {
      await page.evaluate((v) => (document.cookie = `csrf_token=${v}; path=/`), real);
    }
  });

  it('says when to try again after a rate limit (429)', async () => {
    const rule = { endpoint_pattern: '^/api/v1/user/executions', group: 'history', requests: 2, window_seconds: 60, burst_multiplier: 1, algorithm: 'sliding_window', priority: 100, enabled: true };
    const set = await h.node.api(`/admin/rate-limits/${erinId}`, { method: 'PUT', json: { bypass_rate_limit: false, global_multiplier: 1, rules: [rule], notes: 'failure test' } });
    expect(set.status).toBe(200);
    try {
      await page.goto('/history');
      for (const status of ['completed', 'failed', 'timeout']) await page.getByTestId('filter-status').selectOption(status);
      await toast(/^Too many requests: try again in \d+ s$/).waitFor();
    } finally {
      await h.node.api(`/admin/rate-limits/${erinId}/reset`, { method: 'POST' });
      await h.node.api(`/admin/rate-limits/${erinId}`, { method: 'PUT', json: { bypass_rate_limit: true, global_multiplier: 1, rules: [], notes: '' } });
    }
  });

  it('reports a server error from a gateway in front (5xx) and a lost network', async () => {
    await page.goto('/history');
    await page.getByTestId('filter-status').waitFor();
    // A reverse proxy in front of the node answering 502 for the history call.
    await page.route('**/api/v1/user/executions*', (route) =>
      route.fulfill({ status: 502, contentType: 'application/json', body: JSON.stringify({ detail: 'upstream unavailable', type: 'BadGateway' }) }),
    );
    try {
      await page.getByTestId('filter-status').selectOption('cancelled');
      await toast('Server error (502): upstream unavailable').waitFor();
    } finally {
      await page.unroute('**/api/v1/user/executions*');
    }
    await context.setOffline(true);
    try {
      await page.getByTestId('filter-status').selectOption('error');
      await toast('Network error: the server cannot be reached').waitFor();
    } finally {
      await context.setOffline(false);
    }
  });
});
