/**
 * `npm run screenshots`: starts an embedded node with the current SPA build, signs in as an admin, makes some
 * data (a run with coloured output, a saved script, notifications, a dead letter), and writes a PNG of every page in light
 * and dark theme, plus the editor at phone width, into web-screenshots/ (or the folder given as argument).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { TEST_ADMIN } from '../../test/support/session.js';
import { createSqliteEventLog } from '../../system/embedded/event-log.js';
import { openDataDir } from '../../system/embedded/sqlite.js';
import type { TestNode } from '../../test/support/node-harness.js';
import { waitFor } from '../../test/support/wait.js';
import { setEditorText, startBrowserHarness } from '../e2e/browser.js';

const OUT = resolve(process.argv[2] ?? 'web-screenshots');
/** The node's partitions, so a record appended from here lands where its consumers read. */
const PARTITIONS = 4;

const PAGES: Array<{ name: string; path: string; ready: string }> = [
  { name: 'home', path: '/', ready: 'h1' },
  { name: 'editor', path: '/editor', ready: '[data-testid=result-summary]' },
  { name: 'history', path: '/history', ready: '[data-testid=history-row]' },
  { name: 'notifications', path: '/notifications', ready: '[data-testid=notification-item]' },
  { name: 'settings', path: '/settings', ready: '[data-testid=settings-history], fieldset' },
  { name: 'admin-users', path: '/admin/users', ready: '[data-testid=user-row]' },
  { name: 'admin-settings', path: '/admin/settings', ready: '[data-testid=admin-settings]' },
  { name: 'admin-executions', path: '/admin/executions', ready: '[data-testid=queue]' },
  { name: 'admin-cluster', path: '/admin/cluster', ready: '[data-testid=cluster-nodes]' },
  { name: 'admin-events', path: '/admin/events', ready: '[data-testid=event-row], [data-testid=stats-total]' },
  { name: 'admin-sagas', path: '/admin/sagas', ready: '[data-testid=saga-row]' },
  { name: 'admin-dead-letters', path: '/admin/dead-letters', ready: '[data-testid=dlq-row]' },
];

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const h = await startBrowserHarness({ EVENT_PARTITIONS: String(PARTITIONS) });
  try {
    const { page } = await h.newPage();
    await shoot(page, '/login', 'h1', 'login-light');
    await page.goto('/login?next=%2Feditor');
    await page.getByLabel('Username').fill(TEST_ADMIN.username);
    await page.getByLabel('Password').fill(TEST_ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/editor$/);
    await page.locator('.cm-content').waitFor();
    await setEditorText(page, 'import sys\nprint("\\x1b[32mok\\x1b[0m hello")\nprint("\\x1b[1;33mwarning\\x1b[0m", file=sys.stderr)');
    await page.getByTestId('script-name').fill('colours');
    await page.getByTestId('save-script').click();
    await page.getByTestId('run').click();
    await page.getByTestId('result-summary').waitFor({ timeout: 30_000 });
    await makeDeadLetter(h.node.dir.path);
    await replayOneRun(h.node);

    for (const theme of ['light', 'dark'] as const) {
      await h.node.api('/user/settings/theme', { method: 'PUT', json: { theme } });
      for (const p of PAGES) {
        // The editor keeps its last run only while the page is open: show it run again.
        if (p.name === 'editor') {
          await page.goto('/editor');
          await page.locator('.cm-content').waitFor();
          await page.getByTestId('run').click();
        }
        await shoot(page, p.path, p.ready, `${p.name}-${theme}`, p.name === 'editor');
      }
    }
    await page.setViewportSize({ width: 390, height: 844 });
    await shoot(page, '/editor', '.cm-content', 'editor-phone-dark');
    await shoot(page, '/admin/events', '[data-testid=event-row]', 'admin-events-phone-dark');
    await shoot(page, '/admin/dead-letters', '[data-testid=dlq-row]', 'admin-dead-letters-phone-dark');
    console.log(`screenshots written to ${OUT}`);
  } finally {
    await h.stop();
  }
}

/** Runs a script and replays its events, so the events page lists a finished replay session. */
async function replayOneRun(node: TestNode): Promise<void> {
  const id = await node.submit('print("replayed")');
  await node.stream(id);
  await waitFor(async () => (await node.api('/admin/events/replay', { method: 'POST', json: { aggregate_id: id, dry_run: false } })).status === 200, {
    intervalMs: 200,
    message: 'a replay of the run',
  });
}

/** A command no consumer can parse, appended through a second connection to the node's file: it becomes a dead letter. */
async function makeDeadLetter(dataDir: string): Promise<void> {
  const log = createSqliteEventLog(openDataDir(dataDir), { partitions: PARTITIONS });
  try {
    await log.append('execution_commands', 'screenshot-poison', '{"event_type":"execution_requested","not":"an event"}', { event_type: 'execution_requested' });
  } finally {
    await log.close();
  }
}

async function shoot(page: Page, path: string, ready: string, name: string, stay = false): Promise<void> {
  if (!stay) await page.goto(path);
  await page.locator(ready).first().waitFor({ timeout: 30_000 });
  await page.waitForTimeout(200);
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
