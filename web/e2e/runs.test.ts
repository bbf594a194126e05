/**
 * Runs through the editor in Chromium against a real embedded node: hello world in each of the six languages,
 * an interactive program fed from the input line, and a program printing 10 000 lines.
 */
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ADMIN } from '../../test/support/session.js';
import { outputText, screenshotOnFailure, setEditorText, startBrowserHarness, type BrowserHarness } from './browser.js';

let h: BrowserHarness;
let page: Page;

beforeAll(async () => {
  h = await startBrowserHarness();
  ({ page } = await h.newPage());
  // The admin's rate limits are lifted by the harness: many runs in a row are not throttled.
  await page.goto('/login?next=%2Feditor');
  await page.getByLabel('Username').fill(TEST_ADMIN.username);
  await page.getByLabel('Password').fill(TEST_ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/editor$/);
  await page.locator('.cm-content').waitFor();
}, 120_000);

afterEach(async ({ task }) => {
  await screenshotOnFailure(page, `runs-${task.name}`, task.result?.state === 'fail');
});

afterAll(async () => {
  await h?.stop();
});

const HELLO: Record<string, string> = {
  python: 'print("hello python")',
  node: 'console.log("hello node")',
  typescript: 'const who: string = "typescript";\nconsole.log(`hello ${who}`)',
  ruby: 'puts "hello ruby"',
  go: 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("hello go")\n}',
  bash: 'echo "hello bash"',
};

describe('runs from the editor', () => {
  for (const [lang, script] of Object.entries(HELLO)) {
    it(`runs hello world in ${lang} and shows its output`, async () => {
      await page.getByTestId('language').selectOption(lang);
      // The version picker offers what the platform runs for that language.
      const versions = await page.getByTestId('version').locator('option').allTextContents();
      const offered = (await h.node.api('/k8s-limits')).body.supported_runtimes[lang].versions;
      expect(versions).toEqual(offered);
      await setEditorText(page, script);
      await page.getByTestId('run').click();
      await page.getByTestId('result-summary').waitFor({ timeout: 30_000 });
      expect(await page.getByTestId('result-status').textContent()).toBe('completed');
      expect(await outputText(page)).toBe(`hello ${lang}`);
    });
  }

  it('runs with Ctrl+Enter from the editor', async () => {
    await page.getByTestId('language').selectOption('python');
    await setEditorText(page, 'print("by keyboard")');
    await page.keyboard.press('Control+Enter');
    await page.getByTestId('result-summary').waitFor({ timeout: 15_000 });
    expect(await outputText(page)).toBe('by keyboard');
  });

  it('shows the resource usage the sandbox measured and says when the output was cut at its limit', async () => {
    await page.getByTestId('language').selectOption('python');
    // More than the platform's 1 MiB output limit (SANDBOX_OUTPUT_KB), and some work for the CPU figure.
    await setEditorText(page, 'import sys\nsum(i * i for i in range(2_000_000))\nsys.stdout.write(("y" * 999 + "\\n") * 1200)');
    await page.getByTestId('run').click();
    await page.getByTestId('result-summary').waitFor({ timeout: 30_000 });
    await page.getByTestId('truncated').waitFor();
    const latest = await page.evaluate(async () => (await (await fetch('/api/v1/user/executions?limit=1')).json()).executions[0]);
    expect(latest.stdout_truncated).toBe(true);
    const usage = latest.resource_usage;
    expect(await page.getByTestId('usage-cpu').textContent()).toBe(`${Math.round((usage.cpu_time_jiffies / usage.clk_tck_hertz) * 1000)} ms`);
    expect(await page.getByTestId('usage-memory').textContent()).toBe(`${(usage.peak_memory_kb / 1024).toFixed(1)} MiB`);
    expect(await page.getByTestId('usage-wall').textContent()).toBe(`${usage.execution_time_wall_seconds.toFixed(3)} s`);
    expect(usage.cpu_time_jiffies).toBeGreaterThan(0);
    expect(usage.peak_memory_kb).toBeGreaterThan(0);
  });

  it('uploads a file (language from its extension) and downloads the script with the right extension', async () => {
    await page.getByTestId('upload').setInputFiles({ name: 'greet.rb', mimeType: 'text/plain', buffer: Buffer.from('puts "from a file"\n') });
    await page.waitForFunction(() => (document.querySelector('[data-testid=language]') as HTMLSelectElement).value === 'ruby');
    expect(await page.getByTestId('script-name').inputValue()).toBe('greet');
    await page.waitForFunction(() => document.querySelector('.cm-content')?.textContent === 'puts "from a file"');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download').click()]);
    expect(download.suggestedFilename()).toBe('greet.rb');
    // Files over 1 MB are refused with a message.
    await page.getByTestId('upload').setInputFiles({ name: 'big.py', mimeType: 'text/plain', buffer: Buffer.alloc(1024 * 1024 + 1, 97) });
    await page.getByText('Files over 1 MB cannot be uploaded').waitFor();
    expect(await page.getByTestId('script-name').inputValue()).toBe('greet');
  });

  it('shows a failed run and a timed-out run with their exit code, error type and explanation', async () => {
    await page.getByTestId('language').selectOption('python');
    await setEditorText(page, 'import sys\nprint("oops", file=sys.stderr)\nsys.exit(3)');
    await page.getByTestId('run').click();
    await page.getByTestId('result-summary').waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('result-status').textContent()).toBe('failed');
    expect(await page.getByTestId('exit-code').textContent()).toBe('3');
    expect(await page.locator('[data-testid=output] .stream-stderr').textContent()).toBe('oops');
    await page.getByText('The program exited with an error.').waitFor();

    const limits = await h.node.api('/admin/settings/', { method: 'PUT', json: { max_timeout_seconds: 2 } });
    expect(limits.status).toBe(200);
    try {
      await setEditorText(page, 'while True:\n    pass');
      await page.getByTestId('run').click();
      await page.getByTestId('result-summary').waitFor({ timeout: 20_000 });
      expect(await page.getByTestId('result-status').textContent()).toBe('timeout');
      expect(await page.getByTestId('error-type').textContent()).toBe('timeout');
      await page.getByText('The program ran past its time limit and was stopped.').waitFor();
    } finally {
      await h.node.api('/admin/settings/reset', { method: 'POST' });
    }
  });

  it('says when the stream dropped, reconnects by itself and still shows the run to its end', async () => {
    await page.getByTestId('language').selectOption('python');
    await setEditorText(page, 'import time\nprint("before", flush=True)\ntime.sleep(2)\nprint("after", flush=True)');
    // The first stream the page opens ends at once after one frame, as a proxy dropping it would; the
    // browser retries after the `retry:` delay and the real stream takes over.
    let dropped = 0;
    await page.route('**/api/v1/events/executions/*', async (route) => {
      if (dropped++ > 0) return route.fallback();
      const frame = { event_type: 'status', execution_id: route.request().url().split('/').pop(), timestamp: new Date().toISOString(), event_id: '', status: 'queued', result: null };
      await route.fulfill({ status: 200, headers: { 'content-type': 'text/event-stream' }, body: `retry: 1500\n\ndata: ${JSON.stringify(frame)}\n\n` });
    });
    try {
      await page.getByTestId('run').click();
      await page.getByTestId('connection').filter({ hasText: 'reconnecting' }).waitFor({ timeout: 10_000 });
      await page.getByTestId('result-summary').waitFor({ timeout: 20_000 });
      expect(await page.getByTestId('result-status').textContent()).toBe('completed');
      expect(await outputText(page)).toBe('before\nafter');
      expect(dropped).toBe(2);
      expect(await page.getByTestId('connection').count()).toBe(0);
    } finally {
      await page.unroute('**/api/v1/events/executions/*');
    }
  });

  it('feeds an interactive program from the input line', async () => {
    await page.getByTestId('language').selectOption('python');
    await setEditorText(page, 'name = input()\nprint("hi", name, flush=True)\nrest = input()\nprint("then", rest)');
    await page.locator('details.input-options summary').click();
    await page.getByTestId('interactive').check();
    await page.getByTestId('run').click();
    const line = page.getByLabel('stdin');
    await line.waitFor({ timeout: 15_000 });
    await line.fill('Bob');
    await line.press('Enter');
    await page.locator('[data-testid=output]', { hasText: 'hi Bob' }).waitFor({ timeout: 10_000 });
    await line.fill('done');
    await page.getByRole('button', { name: 'EOF' }).click();
    await page.getByTestId('result-summary').waitFor({ timeout: 10_000 });
    expect(await outputText(page)).toBe('hi Bob\nthen done');
    await page.getByTestId('interactive').uncheck();
  });

  it('shows 10 000 printed lines, follows the end, and scrolls without stalling', async () => {
    await setEditorText(page, 'for i in range(10000):\n    print(f"line {i}")');
    await page.getByTestId('run').click();
    await page.getByTestId('result-summary').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('line-count').textContent()).toBe('10000 lines');
    expect(await page.locator('[data-testid=output] .line').count()).toBe(10_000);
    // Pinned to the end while printing: the last line is in view.
    await page.waitForFunction(() => {
      const out = document.querySelector('[data-testid=output]')!;
      return out.scrollTop + out.clientHeight >= out.scrollHeight - 30;
    });
    // Jumping through the whole log and drawing the next frames stays fast.
    const ms = await page.getByTestId('output').evaluate(async (out) => {
      const frame = () => new Promise((r) => requestAnimationFrame(() => r(null)));
      const started = performance.now();
      for (const top of [0, out.scrollHeight / 2, out.scrollHeight / 4, out.scrollHeight]) {
        out.scrollTop = top;
        await frame();
      }
      return performance.now() - started;
    });
    expect(ms).toBeLessThan(1000);
  });
});
