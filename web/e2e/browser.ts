/**
 * Browser-test harness: a real embedded platform serving the freshly built SPA, and Debian's Chromium driven
 * by playwright-core (one browser per test file, a fresh profile per context). Failing tests leave a
 * screenshot under web-screenshots/failures/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startTestNode, type TestNode } from '../../test/support/node-harness.js';
import { ensureWebBuilt } from '../scripts/build.js';

/** Where Debian installs Chromium (.ci/run installs the package). */
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** Small /dev/shm on CI machines crashes tabs; /tmp is used instead. */
const EXTRA_ARGS = ['--disable-dev-shm-usage'];
export const FAILURE_DIR = fileURLToPath(new URL('../../web-screenshots/failures/', import.meta.url));

/** A platform node with the SPA and a browser pointed at it. */
export interface BrowserHarness {
  node: TestNode;
  browser: Browser;
  /** The site's origin, e.g. http://127.0.0.1:41234 */
  origin: string;
  /** A new isolated browser context (own cookies and storage) with one page. */
  newPage(): Promise<{ context: BrowserContext; page: Page }>;
  stop(): Promise<void>;
}

/** Builds the SPA if its sources changed, starts a node and launches Chromium (headless, fresh profile). */
export async function startBrowserHarness(env: Record<string, string> = {}): Promise<BrowserHarness> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install Debian's package (apt-get install -y chromium) or set CHROMIUM_PATH`);
  }
  await ensureWebBuilt();
  const node = await startTestNode(env);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...ARGS, ...EXTRA_ARGS] });
  const origin = node.base.replace(/\/api\/v1$/, '');
  const contexts: BrowserContext[] = [];
  return {
    node,
    browser,
    origin,
    async newPage() {
      const context = await browser.newContext({ baseURL: origin, viewport: { width: 1280, height: 900 } });
      contexts.push(context);
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
      const page = await context.newPage();
      page.setDefaultTimeout(10_000);
      return { context, page };
    },
    async stop() {
      for (const c of contexts) await c.close().catch(() => {});
      await browser.close().catch(() => {});
      await node.stop();
    },
  };
}

/** Saves a screenshot of a page for a failed test. */
export async function screenshotOnFailure(page: Page | undefined, testName: string, failed: boolean): Promise<void> {
  if (!failed || !page || page.isClosed()) return;
  mkdirSync(FAILURE_DIR, { recursive: true });
  await page.screenshot({ path: join(FAILURE_DIR, `${testName.replace(/[^\w-]+/g, '_')}.png`), fullPage: true }).catch(() => {});
}

/** Replaces the editor's whole content by typing-free insertion (CodeMirror's own API via the DOM view). */
export async function setEditorText(page: Page, text: string): Promise<void> {
  const content = page.locator('.cm-content');
  await content.click();
  await page.keyboard.press('Control+a');
  await page.keyboard.press('Delete');
  // insertText goes through the editor's input handling like a paste, without auto-indent or bracket closing.
  await page.keyboard.insertText(text);
}

/** The editor's current text as CodeMirror shows it. */
export async function editorText(page: Page): Promise<string> {
  return page.locator('.cm-content').evaluate((el) => Array.from(el.querySelectorAll('.cm-line')).map((l) => l.textContent ?? '').join('\n'));
}

/**
 * The output panel's text, one line per line. Read from the DOM, not with innerText: the panel's blocks use
 * `content-visibility: auto`, and a block the browser has not laid out yet has no innerText.
 */
export async function outputText(page: Page): Promise<string> {
  return page.getByTestId('output').evaluate((el) => Array.from(el.querySelectorAll('.line')).map((l) => l.textContent ?? '').join('\n'));
}
