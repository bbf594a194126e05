/** The admin pages in Chromium against a real embedded node: they load real data and their changes reach the server. */
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ADMIN } from '../../test/support/session.js';
import { screenshotOnFailure, startBrowserHarness, type BrowserHarness } from './browser.js';
import { waitFor } from '../../test/support/wait.js';

let h: BrowserHarness;
let page: Page;

beforeAll(async () => {
  h = await startBrowserHarness();
  ({ page } = await h.newPage());
  await page.goto('/login?next=%2Fadmin%2Fusers');
  await page.getByLabel('Username').fill(TEST_ADMIN.username);
  await page.getByLabel('Password').fill(TEST_ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/admin\/users$/);
}, 120_000);

afterEach(async ({ task }) => {
  await screenshotOnFailure(page, `admin-${task.name}`, task.result?.state === 'fail');
});

afterAll(async () => {
  await h?.stop();
});

describe('admin pages', () => {
  it('shows the Admin menu entry and the users from the server', async () => {
    await page.getByTestId('nav-admin').waitFor();
    await page.getByTestId('user-row').filter({ hasText: TEST_ADMIN.username }).waitFor();
  });

  it('creates a user from the form, finds them by search, and deletes them after confirmation', async () => {
    await page.getByLabel('Username', { exact: true }).fill('bob');
    await page.getByLabel('Email', { exact: true }).fill('bob@example.com');
    await page.getByLabel('Password', { exact: true }).fill('bob-password-1');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByTestId('user-row').filter({ hasText: 'bob@example.com' }).waitFor();
    const listed = await h.node.api('/admin/users/?search=bob');
    expect(listed.body.users.map((u: { username: string }) => u.username)).toEqual(['bob']);

    await page.getByTestId('user-search').fill('bob');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=user-row]').length === 1);

    const row = page.getByTestId('user-row').filter({ hasText: 'bob' });
    await row.getByRole('button', { name: 'Delete' }).click();
    await row.getByRole('button', { name: 'Delete with data' }).click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=user-row]').length === 0);
    expect((await h.node.api('/admin/users/?search=bob')).body.users).toEqual([]);
  });

  it('unlocks an account locked by failed logins', async () => {
    const created = await h.node.api('/admin/users/', { method: 'POST', json: { username: 'carol', email: 'carol@example.com', password: 'carol-password-1' } });
    expect(created.status).toBe(200);
    const { max_login_attempts: attempts } = (await h.node.api('/admin/settings/')).body;
    let last = 0;
    for (let i = 0; i <= attempts; i++) {
      const res = await fetch(`${h.node.base}/auth/login`, { method: 'POST', body: new URLSearchParams({ username: 'carol', password: 'wrong-password' }) });
      last = res.status;
    }
    expect(last).toBe(423);
    await page.getByTestId('user-search').fill('carol');
    const row = page.getByTestId('user-row').filter({ hasText: 'carol' });
    await row.getByRole('button', { name: 'Unlock' }).click();
    await page.getByText('Unlocked carol').waitFor();
    await row.getByRole('button', { name: 'Unlock' }).waitFor({ state: 'detached' });
    const user = (await h.node.api('/admin/users/?search=carol')).body.users[0];
    expect(user.locked_until).toBeNull();

    // A rate-limit override for her, saved from the row's panel.
    await row.getByRole('button', { name: 'Rate limits' }).click();
    await page.getByLabel('Multiplier').fill('2.5');
    await page.getByLabel('Notes').fill('load test account');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Rate limits saved').waitFor();
    const override = (await h.node.api(`/admin/rate-limits/${user.user_id}`)).body.rate_limit_config;
    expect(override).toMatchObject({ global_multiplier: 2.5, notes: 'load test account', bypass_rate_limit: false });
    // Opened again, the panel shows what is stored.
    await row.getByRole('button', { name: 'Rate limits' }).click();
    await row.getByRole('button', { name: 'Rate limits' }).click();
    await page.waitForFunction(() => (document.querySelector('input[aria-label=Multiplier], label input[type=number][min="0.1"]') as HTMLInputElement | null)?.value === '2.5');
    await page.getByTestId('user-search').fill('');
  });

  it('loads the system settings and saves a change the server applies', async () => {
    await page.getByRole('link', { name: 'System settings' }).click();
    await page.waitForURL(/\/admin\/settings$/);
    const field = page.getByLabel('Minimum password length');
    const current = (await h.node.api('/admin/settings/')).body;
    await page.waitForFunction((v) => (document.querySelector('[data-testid=admin-settings] input[type=number]') as HTMLInputElement | null)?.value === String(v), current.max_timeout_seconds);
    expect(await field.inputValue()).toBe(String(current.password_min_length));
    await field.fill('12');
    await field.press('Tab');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('System settings saved').waitFor();
    expect((await h.node.api('/admin/settings/')).body.password_min_length).toBe(12);
    await page.getByTestId('settings-audit').locator('td', { hasText: 'password_min_length' }).waitFor();
  });

  it('shows the executions queue, every execution, and the cluster view of this embedded node', async () => {
    const id = await h.node.submit('print("for the admin list")');
    await h.node.stream(id);
    await page.getByRole('link', { name: 'Executions' }).click();
    await page.getByTestId('queue').waitFor();
    expect(await page.getByTestId('queue').innerText()).toMatch(/Running\s*0 \/ \d+/);
    const row = page.getByTestId('admin-executions').locator('tbody tr').filter({ has: page.locator(`a[href="/history/${id}"]`) });
    await row.waitFor();
    expect(await row.locator('td.status-completed').textContent()).toBe('completed');

    await page.getByRole('link', { name: 'Cluster' }).click();
    await page.getByTestId('cluster-nodes').locator('tbody tr').first().waitFor();
    expect(await page.getByTestId('cluster-mode').textContent()).toBe('embedded');
    const view = (await h.node.api('/admin/cluster/nodes')).body;
    expect(await page.getByTestId('cluster-nodes').innerText()).toContain(view.nodes[0].nodeId);
    await page.getByTestId('node-mailboxes').filter({ hasText: 'partition:' }).first().waitFor();

    // A running execution's actors, with the saga's state, then none once it has finished.
    const running = await h.node.submit('import time\nprint("up", flush=True)\ntime.sleep(3)');
    await waitFor(async () => (await h.node.api(`/executions/${running}/result`)).body.status === 'running', { timeoutMs: 20_000 });
    await page.getByLabel('Execution id').fill(running);
    await page.getByRole('button', { name: 'Show actors' }).click();
    const panel = page.getByTestId('execution-actors');
    await panel.locator('summary code', { hasText: new RegExp(`/saga-${running}$`) }).waitFor();
    expect(await panel.innerText()).toContain('"status": "running"');
    await h.node.stream(running);
    await page.getByRole('button', { name: 'Show actors' }).click();
    await panel.getByText('no actors up').waitFor();
  });

  it('changes the priority of a waiting execution', async () => {
    // One slot: a sleeping run holds it, the next one waits in the queue.
    expect((await h.node.api('/admin/settings/', { method: 'PUT', json: { max_concurrent_executions: 1 } })).status).toBe(200);
    const holder = await h.node.submit('import time\ntime.sleep(30)');
    const waiting = await h.node.submit('print("waited")');
    try {
      await page.goto('/admin/executions');
      const row = page.getByTestId('admin-executions').locator('tbody tr').filter({ has: page.locator(`a[href="/history/${waiting}"]`) });
      const select = row.getByLabel('Priority');
      await page.waitForFunction(
        (id) => {
          const link = document.querySelector(`a[href="/history/${id}"]`);
          return (link?.closest('tr')?.querySelector('select') as HTMLSelectElement | null)?.disabled === false;
        },
        waiting,
        { timeout: 15_000 },
      );
      await select.selectOption('high');
      await page.waitForFunction(async (id) => {
        const res = await fetch('/api/v1/admin/executions/?status=queued');
        const body = (await res.json()) as { executions: Array<{ execution_id: string; priority: string }> };
        return body.executions.find((e) => e.execution_id === id)?.priority === 'high';
      }, waiting);
    } finally {
      await h.node.api(`/executions/${holder}/cancel`, { method: 'POST', json: { reason: 'test done' } });
      await h.node.api('/admin/settings/reset', { method: 'POST' });
    }
  });

  it('fits a phone: the menu folds behind a button', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      const admin = page.getByTestId('nav-admin');
      expect(await admin.isVisible()).toBe(false);
      await page.getByRole('button', { name: 'Menu' }).click();
      await admin.click();
      await page.waitForURL(/\/admin\/users$/);
      // Nothing sticks out sideways.
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
  });
});
