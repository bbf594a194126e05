/**
 * Replay from the admin events page in Chromium against a real embedded node: a dry run previews the events a replay
 * would send, a replay started from the page streams its progress (SSE snapshots) until it is completed, and the
 * sessions list shows it.
 */
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stampEvent } from '../../system/domain/events.js';
import { createSqliteDocumentStore } from '../../system/embedded/document-store.js';
import { openDataDir } from '../../system/embedded/sqlite.js';
import { EventStore } from '../../system/stores/event-store.js';
import { eventsOf as eventsIn, runAndStore, signInAsAdmin } from './admin-support.js';
import { screenshotOnFailure, startBrowserHarness, type BrowserHarness } from './browser.js';

let h: BrowserHarness;
let page: Page;
/** A finished execution whose events are replayed. */
let finished: string;

beforeAll(async () => {
  h = await startBrowserHarness();
  ({ page } = await h.newPage());
  await signInAsAdmin(page, '/admin/events');
  finished = await runAndStore(h.node, 'print("replay me")');
}, 120_000);

afterEach(async ({ task }) => {
  await screenshotOnFailure(page, `admin-replay-${task.name}`, task.result?.state === 'fail');
});

afterAll(async () => {
  await h?.stop();
});

const eventsOf = (id: string) => eventsIn(h.node, id);

describe('replay', () => {
  it('previews a replay of an execution’s events (dry run), then replays them and follows the progress to completed', async () => {
    await page.goto(`/admin/events?aggregate_id=${finished}`);
    const stored = await eventsOf(finished);
    await page.getByTestId('event-row').first().waitFor();
    // The event detail hands its aggregate to the replay form.
    await page.getByTestId('event-row').first().getByRole('button').click();
    await page.getByTestId('event-detail').getByRole('button', { name: 'Replay this aggregate…' }).click();
    expect(await page.getByTestId('replay-aggregate').inputValue()).toBe(finished);
    await page.getByTestId('replay-preview').click();
    const preview = page.getByTestId('replay-preview-result');
    await preview.getByTestId('replay-preview-total').filter({ hasText: String(stored.length) }).waitFor();
    const shownIds = await preview.getByTestId('replay-preview-row').locator('td:last-child code').allTextContents();
    expect(shownIds.length).toBeGreaterThan(0);
    for (const id of shownIds) expect(stored.map((e) => e.event_id)).toContain(id);

    await page.getByTestId('replay-start').click();
    const progress = page.getByTestId('replay-progress');
    await progress.waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid=replay-progress]')?.getAttribute('data-status') === 'completed', null, { timeout: 30_000 });
    expect(await progress.getByTestId('replay-counts').textContent()).toContain(`of ${stored.length} (100 %)`);
    expect(await progress.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
    // The session is listed as completed.
    await page.getByTestId('replay-session-row').filter({ hasText: 'completed' }).first().waitFor();
  });

  it('previews the events of one correlation id', async () => {
    // Three events of one request, written to the node's store through a second connection, as another process would.
    const store = createSqliteDocumentStore(openDataDir(h.node.dir.path));
    try {
      const events = new EventStore(store);
      for (const id of ['corr-a', 'corr-b', 'corr-c']) {
        await events.append(stampEvent('execution_cancel_requested', id, { execution_id: id, reason: 'correlated' }, { user_id: null, correlation_id: 'request-5150' }));
      }
    } finally {
      await store.close();
    }
    await page.goto('/admin/events');
    await page.getByTestId('replay-correlation').fill('request-5150');
    await page.getByTestId('replay-preview').click();
    await page.getByTestId('replay-preview-total').filter({ hasText: /^3$/ }).waitFor();
    expect((await page.getByTestId('replay-preview-row').locator('td:nth-child(3) code').allTextContents()).sort()).toEqual(['corr-a', 'corr-b', 'corr-c']);
  });

  it('replays the events selected in the list', async () => {
    await page.goto(`/admin/events?aggregate_id=${finished}`);
    const rows = page.getByTestId('event-row');
    await rows.first().waitFor();
    const first = (await rows.nth(0).getAttribute('data-event-id'))!;
    const second = (await rows.nth(1).getAttribute('data-event-id'))!;
    await rows.nth(0).getByRole('checkbox').check();
    await rows.nth(1).getByRole('checkbox').check();
    await page.getByTestId('replay-selected').click();
    expect(await page.getByTestId('replay-event-ids').inputValue()).toBe(`${first}, ${second}`);
    await page.getByTestId('replay-preview').click();
    await page.getByTestId('replay-preview-total').filter({ hasText: /^2$/ }).waitFor();
  });
});


describe('replay sessions', () => {
  it('follows a slow session live, pauses, resumes and cancels it from the sessions list', async () => {
    // Three runs a moment apart, replayed at a tenth of their speed to the counting target: tens of seconds.
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await runAndStore(h.node, `print("slow ${i}")`));
    const created = await h.node.api('/replay/sessions', {
      method: 'POST',
      json: { replay_type: 'query', target: 'test', filter: { event_ids: (await Promise.all(ids.map(eventsOf))).flat().map((e) => e.event_id) }, speed_multiplier: 0.1, batch_size: 1 },
    });
    expect(created.status).toBe(200);
    const id = created.body.session_id as string;
    expect((await h.node.api(`/replay/sessions/${id}/start`, { method: 'POST' })).status).toBe(200);

    await page.goto('/admin/events');
    const row = page.getByTestId('replay-session-row').filter({ hasText: id });
    await row.waitFor();
    await row.getByRole('button', { name: 'Follow' }).click();
    const progress = page.getByTestId('replay-progress');
    // Live: some events replayed, not all.
    await page.waitForFunction(() => {
      const now = Number(document.querySelector('[data-testid=replay-progress] [role=progressbar]')?.getAttribute('aria-valuenow'));
      return now > 0 && now < 100;
    }, null, { timeout: 30_000 });
    expect(await progress.getByTestId('replay-status').textContent()).toBe('running');

    await row.getByRole('button', { name: 'Pause' }).click();
    await progress.getByTestId('replay-status').filter({ hasText: 'paused' }).waitFor({ timeout: 15_000 });
    const pausedAt = (await h.node.api(`/replay/sessions/${id}`)).body.replayed_events;
    expect((await h.node.api(`/replay/sessions/${id}`)).body.status).toBe('paused');

    await row.getByRole('button', { name: 'Resume' }).click();
    await progress.getByTestId('replay-status').filter({ hasText: 'running' }).waitFor({ timeout: 15_000 });
    await row.getByRole('button', { name: 'Cancel' }).click();
    await progress.getByTestId('replay-status').filter({ hasText: 'cancelled' }).waitFor({ timeout: 15_000 });
    const ended = (await h.node.api(`/replay/sessions/${id}`)).body;
    expect(ended.status).toBe('cancelled');
    expect(ended.replayed_events).toBeGreaterThanOrEqual(pausedAt);
    expect(ended.replayed_events).toBeLessThan(ended.total_events);
    // A finished session has no controls left.
    await page.waitForFunction((sid) => {
      const r = [...document.querySelectorAll('[data-testid=replay-session-row]')].find((x) => x.textContent?.includes(sid));
      return r?.getAttribute('data-status') === 'cancelled' && r.querySelectorAll('button').length === 0;
    }, id);
  });
});
