/**
 * A user's way through the SPA in a real Chromium against a real embedded platform: register and log in with
 * the forms, write and run code, watch the phase and live output, cancel a long run, find runs in the
 * history, keep scripts, get a notification, change settings, and be kept out of the admin pages.
 * The steps share one page and run in order, like the person they describe.
 */
import type { Page, Request } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bypassRateLimits } from '../../test/support/session.js';
import { editorText, outputText, screenshotOnFailure, setEditorText, startBrowserHarness, type BrowserHarness } from './browser.js';

const USER = { username: 'alice', email: 'alice@example.com', password: 'alice-password-1' };

let h: BrowserHarness;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  // The URLs saved here are on loopback over http: allowed explicitly, as an on-premise operator would.
  h = await startBrowserHarness({ NOTIFICATION_ALLOW_PRIVATE_TARGETS: 'true' });
  ({ page } = await h.newPage());
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy/.test(msg.text())) pageErrors.push(msg.text());
  });
}, 120_000);

afterEach(async ({ task }) => {
  await screenshotOnFailure(page, `user-journey-${task.name}`, task.result?.state === 'fail');
});

afterAll(async () => {
  await h?.stop();
});

/** Runs the editor's script and waits for the result summary. */
async function runAndWait(timeout = 20_000): Promise<void> {
  await page.getByTestId('run').click();
  await page.getByTestId('result-summary').waitFor({ timeout });
}

describe('user journey', () => {
  it('redirects a signed-out visitor of /editor to the login', async () => {
    await page.goto('/editor');
    await page.waitForURL(/\/login\?next=%2Feditor$/);
    await expect(page.getByRole('heading', { name: 'Sign in' }).isVisible()).resolves.toBe(true);
  });

  it('refuses a short or mismatched password on the register form before sending it', async () => {
    await page.goto('/register');
    await page.getByLabel('Username').fill(USER.username);
    await page.getByLabel('Email').fill(USER.email);
    await page.getByLabel('Password', { exact: true }).fill('short');
    await page.getByLabel('Confirm password').fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page.getByTestId('register-error').textContent()).resolves.toMatch(/at least 8/);
    await page.getByLabel('Password', { exact: true }).fill(USER.password);
    await page.getByLabel('Confirm password').fill(`${USER.password}x`);
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page.getByTestId('register-error').textContent()).resolves.toMatch(/do not match/);
  });

  it('registers, then logs in with the form: session cookies set, back to the page asked for', async () => {
    await page.getByLabel('Confirm password').fill(USER.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(/\/login$/);

    // Now that the account exists, lift its rate limits so the journey is not throttled.
    const me = await h.node.api(`/admin/users/?search=${USER.username}`);
    const userId = me.body.users[0].user_id as string;
    await bypassRateLimits(h.node.base, h.node.session, userId);

    await page.goto('/login?next=%2Feditor');
    await page.getByLabel('Username').fill(USER.username);
    await page.getByLabel('Password').fill('wrong-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByTestId('login-error').textContent()).resolves.toMatch(/Wrong username or password/);

    await page.getByLabel('Password').fill(USER.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/editor$/);
    await expect(page.getByTestId('whoami').textContent()).resolves.toBe(USER.username);

    const cookies = await page.context().cookies();
    const access = cookies.find((c) => c.name === 'access_token');
    const csrf = cookies.find((c) => c.name === 'csrf_token');
    expect(access?.httpOnly).toBe(true);
    expect(access?.sameSite).toBe('Strict');
    expect(csrf?.httpOnly).toBe(false);
  });

  it('writes code in the editor and runs it: phase goes through running to completed, output shown', async () => {
    await page.locator('.cm-content').waitFor();
    await setEditorText(page, 'print("hello from the browser")\nprint(6 * 7)');
    await expect(editorText(page)).resolves.toBe('print("hello from the browser")\nprint(6 * 7)');

    // The run's write requests echo the CSRF cookie.
    const writes: Request[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().includes('/api/v1/execute')) writes.push(r);
    });
    const phases = observePhases(page);
    await runAndWait();
    expect(await page.getByTestId('result-status').textContent()).toBe('completed');
    expect(await page.getByTestId('exit-code').textContent()).toBe('0');
    expect(await outputText(page)).toBe('hello from the browser\n42');
    await page.getByRole('button', { name: 'Copy stdout' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('hello from the browser\n42\n');

    const csrf = (await page.context().cookies()).find((c) => c.name === 'csrf_token')!.value;
    expect(writes).toHaveLength(1);
    expect(writes[0]!.headers()['x-csrf-token']).toBe(decodeURIComponent(csrf));

    const seen = await phases();
    expect(seen.at(-1)).toBe('completed');
    expect(seen).toContain('queued');
    // Every phase shown is one of the state machine's, in its order.
    const order = ['submitting', 'queued', 'scheduled', 'running', 'completed'];
    expect(seen.map((p) => order.indexOf(p))).toEqual([...seen.map((p) => order.indexOf(p))].sort((a, b) => a - b));
  });

  it('shows live output chunks before the run ends, with ANSI colours as classes and markup as text', async () => {
    await setEditorText(
      page,
      [
        'import time',
        'print("\\x1b[31mred line\\x1b[0m <b>not bold</b>", flush=True)',
        'time.sleep(2)',
        'print("second line", flush=True)',
      ].join('\n'),
    );
    await page.getByTestId('run').click();
    const red = page.locator('[data-testid=output] span.ansi-fg-1', { hasText: 'red line' });
    await red.waitFor({ timeout: 15_000 });
    // The first line arrived while the program still sleeps: the run is not over yet.
    expect(await page.getByTestId('phase').getAttribute('data-phase')).toBe('running');
    expect(await page.getByTestId('result-summary').count()).toBe(0);
    await page.getByTestId('result-summary').waitFor({ timeout: 15_000 });
    expect(await outputText(page)).toBe('red line <b>not bold</b>\nsecond line');
    // Program output never becomes markup.
    expect(await page.locator('[data-testid=output] b').count()).toBe(0);
  });

  it('cancels a long run: the run stops and says cancelled', async () => {
    await setEditorText(page, 'import time\nprint("started", flush=True)\ntime.sleep(60)\nprint("never")');
    const started = Date.now();
    await page.getByTestId('run').click();
    await page.locator('[data-testid=phase][data-phase=running]').waitFor({ timeout: 15_000 });
    await page.getByTestId('cancel').click();
    await page.getByTestId('result-summary').waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('result-status').textContent()).toBe('cancelled');
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(await outputText(page)).not.toContain('never');
    const runs = await h.node.api(`/admin/executions/?status=cancelled`);
    expect(runs.body.executions).toHaveLength(1);
  });

  it('shows a notification badge after a run, and the notification in the dropdown', async () => {
    const badge = page.getByTestId('unread-badge');
    await badge.waitFor({ timeout: 10_000 });
    expect(Number(await badge.textContent())).toBeGreaterThanOrEqual(1);
    const before = Number(await badge.textContent());
    await setEditorText(page, 'print("one more")');
    await runAndWait();
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid=unread-badge]')?.textContent) > n, before, { timeout: 10_000 });
    await page.getByTestId('bell').click();
    await expect(page.getByTestId('bell-item').first().textContent()).resolves.toMatch(/\S/);
    // Opening the newest notification shows the run it is about.
    await page.getByTestId('bell-item').first().click();
    await page.waitForURL(/\/history\/[^/?]+$/);
    await page.getByTestId('result-summary').waitFor();
    expect(await outputText(page)).toBe('one more');
  });

  it('lists notifications on their page and marks them all read, which clears the badge', async () => {
    await page.getByTestId('nav-notifications').click();
    await page.getByTestId('notification-item').first().waitFor();
    expect(await page.getByTestId('notification-item').count()).toBeGreaterThanOrEqual(2);
    await page.getByTestId('mark-all-read').click();
    await page.getByTestId('unread-badge').waitFor({ state: 'detached' });
    expect((await page.evaluate(async () => (await fetch('/api/v1/notifications/unread-count')).json())).unread_count).toBe(0);
  });

  it('deletes a notification after confirmation', async () => {
    const before = await page.getByTestId('notification-item').count();
    const first = page.getByTestId('notification-item').first();
    await first.getByRole('button', { name: 'Delete' }).click();
    await first.getByRole('button', { name: 'Delete' }).click();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=notification-item]').length === n - 1, before);
    const list = await page.evaluate(async () => (await fetch('/api/v1/notifications')).json());
    expect(list.total).toBe(before - 1);
  });

  it('saves a webhook subscription from the notifications page', async () => {
    const webhook = page.getByTestId('subscription-webhook');
    await webhook.getByLabel('Enabled').check();
    await webhook.getByLabel('Webhook URL').fill('http://127.0.0.1:9/integr8s-hook');
    await webhook.getByLabel('urgent').uncheck();
    await webhook.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved webhook subscription').waitFor();
    const subs = await page.evaluate(async () => (await fetch('/api/v1/notifications/subscriptions')).json());
    const saved = subs.subscriptions.find((x: { channel: string }) => x.channel === 'webhook');
    expect(saved).toMatchObject({ enabled: true, webhook_url: 'http://127.0.0.1:9/integr8s-hook' });
    expect(saved.severities).not.toContain('urgent');
  });

  it('shows a toast for a request the server rejects (422)', async () => {
    await page.getByTestId('tag-filter').fill('x'.repeat(101));
    await page.getByTestId('toasts').getByText(/Invalid input/).waitFor();
    await page.getByTestId('tag-filter').fill('');
  });

  it('lists the runs in the history with a status filter, and opens one with its timeline', async () => {
    await page.getByTestId('nav-history').click();
    await page.waitForURL(/\/history/);
    await page.getByTestId('history-row').first().waitFor();
    const statuses = await page.getByTestId('history-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status')));
    expect(statuses).toHaveLength(4);
    expect(statuses.filter((s) => s === 'cancelled')).toHaveLength(1);
    expect(statuses.filter((s) => s === 'completed')).toHaveLength(3);

    // A date range that ended yesterday holds none of today's runs.
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    await page.getByTestId('filter-to').fill(yesterday);
    await page.getByText('No executions match.').waitFor();
    await page.getByTestId('filter-to').fill('');
    await page.getByTestId('filter-status').selectOption('cancelled');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=history-row]').length === 1);
    expect(page.url()).toMatch(/status=cancelled/);
    await page.getByTestId('history-row').locator('a').click();
    await page.waitForURL(/\/history\/[^/?]+$/);
    await page.getByTestId('result-summary').waitFor();
    expect(await page.getByTestId('result-status').textContent()).toBe('cancelled');
    await page.locator('[data-testid=timeline] li', { hasText: 'execution_cancelled' }).waitFor();

    // Re-run it: a new execution with the same script, followed live on its own page, and cancelled there.
    const first = page.url();
    await page.getByTestId('rerun').click();
    await page.waitForURL((url) => url.toString() !== first && /\/history\/[^/?]+$/.test(url.pathname));
    await page.locator('[data-testid=output] .line', { hasText: 'started' }).waitFor({ timeout: 15_000 });
    await page.getByTestId('cancel').click();
    await page.getByTestId('result-summary').waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('result-status').textContent()).toBe('cancelled');
  });

  it('saves a script, keeps it across a reload, loads, renames and deletes it', async () => {
    await page.getByTestId('nav-editor').click();
    await page.locator('.cm-content').waitFor();
    await setEditorText(page, 'print("saved script")');
    await page.getByTestId('script-name').fill('greeting');
    await page.getByTestId('save-script').click();
    await page.getByTestId('saved-item').filter({ hasText: 'greeting' }).waitFor();

    // The draft and the list survive a reload.
    await page.reload();
    await page.locator('.cm-content').waitFor();
    await expect(editorText(page)).resolves.toBe('print("saved script")');
    await setEditorText(page, 'print("something else")');
    await page.getByTestId('load-script').filter({ hasText: 'greeting' }).click();
    await page.waitForFunction(() => document.querySelector('.cm-content')?.textContent === 'print("saved script")');

    await page.getByTestId('rename-script').click();
    await page.getByTestId('rename-input').fill('salutation');
    await page.getByTestId('rename-input').press('Enter');
    await page.getByTestId('saved-item').filter({ hasText: 'salutation' }).waitFor();
    expect((await h.node.api('/scripts')).body.scripts).toHaveLength(0); // the admin has none: they are alice's
    await page.getByTestId('delete-script').click();
    await page.getByTestId('delete-script-confirm').click();
    await page.getByText('No saved scripts yet.').waitFor();
    // The deleted script is no longer the one being edited: saving makes a new one.
    await expect(page.getByTestId('save-script').textContent()).resolves.toBe('Save script');
  });

  it('applies the theme and editor preferences from the settings page to the app and the editor', async () => {
    await page.getByTestId('nav-settings').click();
    await page.waitForURL(/\/settings$/);
    await page.getByTestId('timezone').selectOption('Asia/Tokyo');
    await page.locator('[data-testid=settings-history] td', { hasText: 'timezone' }).first().waitFor();
    await page.getByTestId('theme-dark').check();
    await page.waitForFunction(() => document.documentElement.dataset['theme'] === 'dark');
    await page.getByTestId('font-size').fill('20');
    await page.getByTestId('font-size').press('Tab');
    await page.getByTestId('line-numbers').uncheck();
    await page.locator('[data-testid=settings-history] td', { hasText: 'editor.show_line_numbers' }).first().waitFor();

    await page.getByTestId('nav-editor').click();
    await page.locator('.cm-content').waitFor();
    expect(await page.locator('.cm-content').evaluate((el) => getComputedStyle(el).fontSize)).toBe('20px');
    expect(await page.locator('.cm-lineNumbers').count()).toBe(0);
    // The dark editor theme follows the app.
    expect(await page.locator('.cm-editor').evaluate((el) => getComputedStyle(el).backgroundColor)).not.toBe('rgba(0, 0, 0, 0)');
    expect(await page.evaluate(() => document.documentElement.dataset['theme'])).toBe('dark');

    // Stored on the server: a fresh page in the same session gets them back.
    await page.reload();
    await page.locator('.cm-content').waitFor();
    await page.waitForFunction(() => getComputedStyle(document.querySelector('.cm-content')!).fontSize === '20px');

    // Restoring the settings from before the line-numbers change brings the gutter back.
    await page.getByTestId('nav-settings').click();
    await page.locator('[data-testid=settings-history] tr', { hasText: 'editor.show_line_numbers' }).getByRole('button').click();
    await page.getByText('Settings restored').waitFor();
    expect(await page.getByTestId('line-numbers').isChecked()).toBe(true);
    await page.getByTestId('nav-editor').click();
    await page.locator('.cm-lineNumbers').waitFor();
  });

  it('keeps a non-admin out of the admin pages, in the app and on the server', async () => {
    expect(await page.getByTestId('nav-admin').count()).toBe(0);
    await page.goto('/admin/users');
    await page.getByTestId('forbidden').waitFor();
    expect(await page.getByTestId('admin-page').count()).toBe(0);
    const status = await page.evaluate(async () => (await fetch('/api/v1/admin/users/')).status);
    expect(status).toBe(403);
  });

  it('sends a user whose session ended to the login, and back to the page after signing in again', async () => {
    await page.goto('/history');
    await page.getByTestId('history-row').first().waitFor();
    // Times are shown in the time zone chosen in the settings.
    expect(await page.getByTestId('history-row').first().locator('td').first().textContent()).toMatch(/GMT\+9|JST/);
    // The server forgets the session (cookie dropped); the next call answers 401.
    await page.context().clearCookies({ name: 'access_token' });
    await page.getByTestId('filter-status').selectOption('completed');
    await page.waitForURL(/\/login\?next=%2Fhistory/);
    await page.getByTestId('session-expired').waitFor();
    await page.getByLabel('Username').fill(USER.username);
    await page.getByLabel('Password').fill(USER.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/history\?status=completed/);
    await page.getByTestId('history-row').first().waitFor();
  });

  it('sends a signed-in user who opens the login page on to the editor', async () => {
    await page.goto('/login');
    await page.waitForURL(/\/editor$/);
  });

  it('signs out: the session cookie is gone and signed-in pages send to the login', async () => {
    await page.getByTestId('logout').click();
    await page.waitForURL(/\/login$/);
    expect((await page.context().cookies()).some((c) => c.name === 'access_token')).toBe(false);
    await page.goto('/history');
    await page.waitForURL(/\/login\?next=%2Fhistory$/);
  });

  it('ran without page errors or CSP violations', () => {
    expect(pageErrors).toEqual([]);
  });
});

/** Records every phase the indicator shows from now on; the returned function stops and returns them. */
function observePhases(p: Page): () => Promise<string[]> {
  const handle = p.evaluateHandle(() => {
    const seen: string[] = [];
    const el = document.querySelector('[data-testid=phase]')!;
    const note = () => {
      const phase = el.getAttribute('data-phase') ?? '';
      if (seen.at(-1) !== phase) seen.push(phase);
    };
    const observer = new MutationObserver(note);
    observer.observe(el, { attributes: true, attributeFilter: ['data-phase'] });
    return { seen, observer };
  });
  return async () => {
    const h2 = await handle;
    const seen = await h2.evaluate((s) => {
      s.observer.disconnect();
      return s.seen.filter((x) => x !== 'idle');
    });
    await h2.dispose();
    return seen;
  };
}
