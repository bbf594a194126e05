/** Helpers of the admin browser tests: signing in as the test admin, runs whose events are stored, an aggregate's events. */
import type { Page } from 'playwright-core';
import type { TestNode } from '../../test/support/node-harness.js';
import { TEST_ADMIN } from '../../test/support/session.js';
import { waitFor } from '../../test/support/wait.js';

/** Signs the page in as the test admin through the login form and waits for the page asked for. */
export async function signInAsAdmin(page: Page, next: string): Promise<void> {
  await page.goto(`/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel('Username').fill(TEST_ADMIN.username);
  await page.getByLabel('Password').fill(TEST_ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.pathname === next);
}

/** The events of one aggregate as the admin API lists them, newest first. */
export async function eventsOf(node: TestNode, aggregateId: string): Promise<Array<{ event_id: string; event_type: string }>> {
  const res = await node.api('/admin/events/browse', { method: 'POST', json: { filters: { aggregate_id: aggregateId }, limit: 500 } });
  if (res.status !== 200) throw new Error(`browse failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.events;
}

/**
 * Runs a script and waits until the event store holds all its events: they are stored by a consumer of the log, so
 * the last of them can land just after the execution's stream has closed.
 */
export async function runAndStore(node: TestNode, script: string): Promise<string> {
  const id = await node.submit(script);
  await node.stream(id);
  let seen = -1;
  await waitFor(
    async () => {
      const types = (await eventsOf(node, id)).map((e) => e.event_type);
      const done = types.includes('execution_requested') && types.includes('result_stored') && types.length === seen;
      seen = types.length;
      return done;
    },
    { intervalMs: 200, message: `the events of ${id} in the store` },
  );
  return id;
}
