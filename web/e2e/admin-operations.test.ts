/**
 * The admin operations pages in Chromium against a real embedded node with real data: the event store (filters,
 * detail, export, stats, delete), sagas (a running one cancelled), dead letters
 * (poison commands retried one by one, in bulk, and discarded with a reason); a non-admin is refused.
 */
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteEventLog } from '../../system/embedded/event-log.js';
import { openDataDir } from '../../system/embedded/sqlite.js';
import { waitFor } from '../../test/support/wait.js';
import { eventsOf as eventsIn, runAndStore, signInAsAdmin } from './admin-support.js';
import { screenshotOnFailure, startBrowserHarness, type BrowserHarness } from './browser.js';

const PARTITIONS = 4;
let h: BrowserHarness;
let page: Page;
/** A finished execution whose events the event tests look at. */
let finished: string;

beforeAll(async () => {
  h = await startBrowserHarness({ EVENT_PARTITIONS: String(PARTITIONS) });
  ({ page } = await h.newPage());
  await signInAsAdmin(page, '/admin/events');
  finished = await run('print("needle-7731 for the event store")');
}, 120_000);

afterEach(async ({ task }) => {
  await screenshotOnFailure(page, `admin-ops-${task.name}`, task.result?.state === 'fail');
});

afterAll(async () => {
  await h?.stop();
});

const eventsOf = (id: string) => eventsIn(h.node, id);
const run = (script: string) => runAndStore(h.node, script);

/** Appends a record no consumer can parse to the command topic, through a second connection to the node's file. */
async function poison(key: string): Promise<void> {
  const log = createSqliteEventLog(openDataDir(h.node.dir.path), { partitions: PARTITIONS });
  try {
    await log.append('execution_commands', key, `{"event_type":"execution_requested","poison":"${key}"}`, { event_type: 'execution_requested' });
  } finally {
    await log.close();
  }
}

describe('events', () => {
  it('filters by aggregate, type and text, opens an event with its timeline, and pages', async () => {
    await page.goto('/admin/events');
    await page.getByTestId('event-row').first().waitFor();
    const all = (await h.node.api('/admin/events/browse', { method: 'POST', json: { limit: 1 } })).body.total;
    expect(await page.getByTestId('events-pager-range').textContent()).toContain(`of ${all}`);

    await page.getByTestId('filter-aggregate').fill(finished);
    await page.getByTestId('filter-apply').click();
    const stored = await eventsOf(finished);
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=event-row]').length === n, stored.length);
    const types = await page.getByTestId('event-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-event-type')));
    expect(types).toEqual(stored.map((e) => e.event_type));
    expect(types).toContain('execution_completed');

    // One type only.
    await page.getByRole('checkbox', { name: 'execution_completed' }).check();
    await page.getByTestId('filter-apply').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=event-row]').length === 1);
    expect(await page.getByTestId('event-row').getAttribute('data-event-type')).toBe('execution_completed');

    // The detail: the event's fields, its aggregate's timeline; a related event opens in its place.
    await page.getByTestId('event-row').getByRole('button').click();
    const detail = page.getByTestId('event-detail');
    await detail.getByTestId('event-detail-type').filter({ hasText: 'execution_completed' }).waitFor();
    expect(await detail.getByTestId('event-json').textContent()).toContain('needle-7731');
    expect(await detail.getByTestId('event-timeline').locator('li').count()).toBe(stored.length);
    await detail.getByTestId('related-event').filter({ hasText: 'execution_requested' }).click();
    await detail.getByTestId('event-detail-type').filter({ hasText: 'execution_requested' }).waitFor();
    await detail.getByRole('button', { name: 'Close' }).click();

    // Text search over the whole store finds the run by its output alone.
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByTestId('filter-search').fill('needle-7731');
    await page.getByTestId('filter-apply').click();
    await page.waitForFunction(
      (id) => {
        const rows = [...document.querySelectorAll('[data-testid=event-row]')];
        return rows.length > 0 && rows.every((r) => r.querySelector('code')?.textContent === id);
      },
      finished,
    );

    // Paging: more executions than one page of 50 events, Next shows the rest.
    await page.getByRole('button', { name: 'Clear' }).click();
    for (let i = 0; i < 6; i++) await run(`print(${i})`);
    await page.getByTestId('filter-apply').click();
    const total = (await h.node.api('/admin/events/browse', { method: 'POST', json: { limit: 1 } })).body.total;
    expect(total).toBeGreaterThan(50);
    await page.getByTestId('events-pager-range').filter({ hasText: `1–50 of ${total}` }).waitFor();
    await page.getByTestId('events-pager').getByRole('button', { name: 'Next' }).click();
    await page.getByTestId('events-pager-range').filter({ hasText: `51–${Math.min(100, total)} of ${total}` }).waitFor();
  });

  it('downloads the matching events as CSV and JSON from the export links', async () => {
    await page.goto(`/admin/events?aggregate_id=${finished}`);
    await page.getByTestId('event-row').first().waitFor();
    const stored = await eventsOf(finished);

    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
    const text = await readFile((await csv.path())!, 'utf8');
    const lines = text.trim().split(/\r?\n/);
    expect(lines[0]).toMatch(/^event_id,event_type,timestamp,aggregate_id/);
    expect(lines).toHaveLength(stored.length + 1);
    expect(text).toContain('needle-7731');

    const [json] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-json').click()]);
    const parsed = JSON.parse(await readFile((await json.path())!, 'utf8')) as Array<{ event_id: string; aggregate_id: string }>;
    expect(parsed.map((e) => e.event_id)).toEqual(stored.map((e) => e.event_id));
  });

  it('shows the statistics the server computes', async () => {
    await page.goto('/admin/events');
    const stats = (await h.node.api('/admin/events/stats?hours=24')).body;
    const panel = page.getByTestId('event-stats');
    await panel.getByTestId('stats-total').filter({ hasText: String(stats.total_events) }).waitFor();
    expect(await panel.getByTestId('stats-error-rate').textContent()).toBe(`${stats.error_rate.toFixed(1)} %`);
    expect(await panel.getByTestId('stats-avg-time').textContent()).toBe(`${stats.avg_processing_time.toFixed(2)} s`);
    const byType = await panel.getByTestId('stats-by-type').innerText();
    for (const row of stats.events_by_type) expect(byType).toContain(row.event_type);
    expect(await panel.getByTestId('stats-top-users').innerText()).toContain(h.node.session.userId);

    // A failed run moves the error rate.
    await run('raise SystemExit(3)');
    await page.getByTestId('stats-hours').selectOption('1');
    const after = (await h.node.api('/admin/events/stats?hours=1')).body;
    expect(after.error_rate).toBeGreaterThan(0);
    await panel.getByTestId('stats-error-rate').filter({ hasText: `${after.error_rate.toFixed(1)} %` }).waitFor();
  });

  it('deletes an event after a confirmation; it is gone from the store', async () => {
    const id = await run('print("to be pruned")');
    const before = await eventsOf(id);
    const victim = before.find((e) => e.event_type === 'execution_queued')!;
    await page.goto(`/admin/events?aggregate_id=${id}&event_type=execution_queued`);
    await page.getByTestId('event-row').getByRole('button').click();
    await page.getByTestId('event-detail').getByTestId('event-delete').click();
    await page.getByTestId('event-delete-confirm').click();
    await page.getByText(`Deleted event ${victim.event_id} (archived)`).waitFor();
    await page.getByTestId('events-empty').waitFor();
    expect((await h.node.api(`/admin/events/${victim.event_id}`)).status).toBe(404);
    expect((await eventsOf(id)).map((e) => e.event_id)).toEqual(before.filter((e) => e !== victim).map((e) => e.event_id));
  });
});

describe('sagas', () => {
  it('lists sagas by state, shows one with its steps, and cancels a running one after a confirmation', async () => {
    const id = await h.node.submit('import time\nprint("long", flush=True)\ntime.sleep(60)');
    await waitFor(async () => (await h.node.api(`/sagas/execution/${id}`)).body.current_step === 'await_outcome', { timeoutMs: 20_000, message: 'the saga awaiting the outcome' });
    await page.goto('/admin/sagas');
    await page.getByTestId('saga-state-filter').selectOption('running');
    const row = page.locator(`[data-testid=saga-row][data-saga-id="${id}"]`);
    await row.waitFor();
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=saga-row]')].every((r) => r.getAttribute('data-state') === 'running'));
    await row.getByRole('button').first().click();
    const detail = page.getByTestId('saga-detail');
    expect(await detail.getByTestId('saga-completed-steps').textContent()).toBe('admit → start_sandbox');
    // The sandbox started, so the saga has a deadline for its outcome.
    expect(await detail.getByTestId('saga-deadline').textContent()).not.toBe('—');

    await row.getByTestId('saga-cancel').click();
    await row.getByTestId('saga-cancel-confirm').click();
    await waitFor(async () => (await h.node.api(`/executions/${id}/result`)).body.status === 'cancelled', { timeoutMs: 15_000, message: 'the execution cancelled' });
    // The open detail follows the saga through its compensations.
    await page.getByTestId('saga-detail-state').filter({ hasText: 'cancelled' }).waitFor({ timeout: 15_000 });
    expect(await detail.getByTestId('saga-compensated-steps').textContent()).toBe('stop_sandbox → release');
    expect(await detail.getByTestId('saga-error').textContent()).toMatch(/^cancelled: /);
    expect((await h.node.api('/admin/executions/queue')).body.active_count).toBe(0);

    // Filtered by its execution, it is the only one, and a finished saga has no cancel button.
    await page.getByTestId('saga-state-filter').selectOption('');
    await page.getByTestId('saga-execution-filter').fill(id);
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=saga-row]').length === 1);
    expect(await row.getByTestId('saga-cancel').count()).toBe(0);

    // The saga links to its execution's events and actors.
    await detail.getByRole('link', { name: 'events' }).click();
    await page.waitForURL(/\/admin\/events\?aggregate_id=/);
    await page.getByTestId('event-row').filter({ hasText: 'execution_cancelled' }).waitFor();
    expect(await page.getByTestId('event-row').evaluateAll((rows, eid) => rows.every((r) => r.querySelector('code')?.textContent === eid), id)).toBe(true);
    await page.goBack();
    await page.locator(`[data-testid=saga-row][data-saga-id="${id}"]`).getByRole('button').first().click();
    await page.getByTestId('saga-detail').getByRole('link', { name: 'actors' }).click();
    await page.getByTestId('execution-actors').getByText('cancelled').first().waitFor();
    expect(await page.getByLabel('Execution id').inputValue()).toBe(id);
  });
});

describe('dead letters', () => {
  it('shows poison commands with their error and origin, retries one, retries the selected, and discards one with a reason', async () => {
    const keys = ['dlq-one', 'dlq-two', 'dlq-three', 'dlq-four'];
    for (const key of keys) await poison(key);
    const letters = await waitFor(async () => {
      const found = (await h.node.api('/admin/dlq/messages?status=pending&limit=1000')).body.messages.filter((m: { key: string }) => keys.includes(m.key));
      return found.length === keys.length ? found : null;
    }, { timeoutMs: 30_000, message: 'four dead letters' });
    const byKey = new Map<string, { message_id: string }>(letters.map((m: { key: string; message_id: string }) => [m.key, m]));
    const idOf = (key: string) => byKey.get(key)!.message_id;
    const rowOf = (key: string) => page.locator(`[data-testid=dlq-row][data-message-id="${idOf(key)}"]`);

    await page.goto('/admin/dead-letters');
    const stats = (await h.node.api('/admin/dlq/stats')).body;
    await page.getByTestId('dlq-depth').filter({ hasText: new RegExp(`^${stats.depth}$`) }).waitFor();
    expect(stats.depth).toBeGreaterThanOrEqual(4);
    expect(await page.getByTestId('dlq-oldest').textContent()).toMatch(/^\d+ (s|min)$/);

    // Filtered to the command topic; the detail says what failed and where it came from.
    await page.getByTestId('dlq-topic-filter').fill('execution_commands');
    await page.getByTestId('dlq-apply').click();
    await rowOf('dlq-one').waitFor();
    await rowOf('dlq-one').getByRole('button').first().click();
    const detail = page.getByTestId('dlq-detail');
    expect(await detail.getByTestId('dlq-detail-error').textContent()).toMatch(/ZodError|invalid/i);
    expect(await detail.getByTestId('dlq-detail-origin').textContent()).toMatch(/^execution_commands \/ partition \d+ \/ offset \d+$/);
    expect(await detail.getByTestId('dlq-detail-payload').textContent()).toContain('"poison": "dlq-one"');
    expect(JSON.parse((await detail.getByTestId('dlq-detail-headers').textContent())!)).toEqual({ event_type: 'execution_requested' });

    // Retry the open one: it becomes retried and leaves the pending list.
    await detail.getByTestId('dlq-detail-retry').click();
    await detail.getByTestId('dlq-detail-status').filter({ hasText: /^retried, retried 1×/ }).waitFor();
    await rowOf('dlq-one').waitFor({ state: 'detached' });
    expect((await h.node.api(`/admin/dlq/messages/${idOf('dlq-one')}`)).body).toMatchObject({ status: 'retried', retry_count: 1 });

    // Retry two selected ones at once.
    await rowOf('dlq-two').getByRole('checkbox').check();
    await rowOf('dlq-three').getByRole('checkbox').check();
    await page.getByTestId('dlq-retry-selected').click();
    await page.getByText('Retried 2 of 2').waitFor();
    for (const key of ['dlq-two', 'dlq-three']) {
      await rowOf(key).waitFor({ state: 'detached' });
      expect((await h.node.api(`/admin/dlq/messages/${idOf(key)}`)).body.status).toBe('retried');
    }

    // Discard the last one with a reason: gone, and the reason is required.
    await rowOf('dlq-four').getByRole('button').first().click();
    await detail.getByTestId('dlq-discard').click();
    expect(await detail.getByTestId('dlq-discard-confirm').isDisabled()).toBe(true);
    await detail.getByTestId('dlq-discard-reason').fill('poison written by the test');
    await detail.getByTestId('dlq-discard-confirm').click();
    await page.getByText(`Discarded ${idOf('dlq-four')}`).waitFor();
    await rowOf('dlq-four').waitFor({ state: 'detached' });
    expect((await h.node.api(`/admin/dlq/messages/${idOf('dlq-four')}`)).status).toBe(404);

    // Retried ones are still there under their status.
    await page.getByTestId('dlq-status-filter').selectOption('retried');
    await page.getByTestId('dlq-apply').click();
    await rowOf('dlq-one').waitFor();
  });
});

describe('layout', () => {
  it('fits a phone: nothing on the new admin pages sticks out sideways (wide tables scroll in their own box)', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      for (const [section, ready] of [['events', 'event-row'], ['sagas', 'saga-row'], ['dead-letters', 'dlq-stats']] as const) {
        await page.goto(`/admin/${section}`);
        await page.getByTestId(ready).first().waitFor();
        expect(await page.evaluate(() => document.documentElement.scrollWidth), section).toBeLessThanOrEqual(390);
      }
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
  });
});

describe('accessibility', () => {
  it('gives every control on every page an accessible name', async () => {
    const pages = ['/editor', '/history', '/notifications', '/settings', '/admin/users', '/admin/settings', '/admin/executions', '/admin/events', '/admin/sagas', '/admin/dead-letters', '/admin/cluster'];
    const unnamed: string[] = [];
    for (const path of pages) {
      await page.goto(path);
      await page.waitForLoadState('networkidle');
      // Open the details so their controls are on the page too.
      if (path === '/admin/events') await page.getByTestId('event-row').first().getByRole('button').click();
      if (path === '/admin/dead-letters') await page.getByTestId('dlq-row').first().getByRole('button').first().click().catch(() => {});
      await page.waitForTimeout(300);
      const found = await page.evaluate(() => {
        const bad: string[] = [];
        for (const el of document.querySelectorAll<HTMLElement>('main input, main select, main textarea, main button, main a[href], header button, nav button')) {
          if (el.closest('[hidden]') || (el as HTMLInputElement).type === 'hidden' || el.getClientRects().length === 0) continue;
          const labelled = (el as HTMLInputElement).labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.getAttribute('title');
          const text = (el.textContent ?? '').trim();
          const isTextual = el.tagName === 'BUTTON' || el.tagName === 'A';
          if (!labelled && !(isTextual && text)) bad.push(`${el.tagName.toLowerCase()}${el.getAttribute('data-testid') ? `[${el.getAttribute('data-testid')}]` : ''} ${el.outerHTML.slice(0, 80)}`);
        }
        return bad;
      });
      unnamed.push(...found.map((f) => `${path}: ${f}`));
    }
    expect(unnamed).toEqual([]);
  });
});

describe('access', () => {
  it('refuses a non-admin, in the app and on the server', async () => {
    const created = await h.node.api('/admin/users/', { method: 'POST', json: { username: 'dave', email: 'dave@example.com', password: 'dave-password-1' } });
    expect(created.status).toBe(200);
    const { page: other } = await h.newPage();
    await other.goto('/login?next=%2Fadmin%2Fevents');
    await other.getByLabel('Username').fill('dave');
    await other.getByLabel('Password').fill('dave-password-1');
    await other.getByRole('button', { name: 'Sign in' }).click();
    await other.waitForURL(/\/admin\/events$/);
    for (const section of ['events', 'sagas', 'dead-letters']) {
      await other.goto(`/admin/${section}`);
      await other.getByTestId('forbidden').waitFor();
      expect(await other.getByTestId('admin-page').count()).toBe(0);
    }
    const statuses = await other.evaluate(async () => {
      const csrf = decodeURIComponent(document.cookie.match(/csrf_token=([^;]+)/)?.[1] ?? '');
      const post = (path: string, body: unknown) =>
        fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify(body) }).then((r) => r.status);
      return [
        await post('/api/v1/admin/events/browse', {}),
        await fetch('/api/v1/admin/dlq/messages').then((r) => r.status),
        await fetch('/api/v1/admin/events/stats').then((r) => r.status),
      ];
    });
    expect(statuses).toEqual([403, 403, 403]);
  });
});
