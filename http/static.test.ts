import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, parseHead, startHarness, type Harness } from './test-support.js';
import { DOCUMENT_CSP, loadStaticSite, looksLikeFile } from './static.js';

const INDEX = '<!doctype html><html><head><script type="module" src="/assets/app-abc123.js"></script></head><body></body></html>';
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(4000))});`;

let dir: string;
let h: Harness;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'integr8s-site-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), INDEX);
  writeFileSync(join(dir, 'assets', 'app-abc123.js'), SCRIPT);
  writeFileSync(join(dir, 'assets', 'app-abc123.css'), 'body{color:red}');
  writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  // A file next to the site that traversal would reach.
  writeFileSync(join(dir, '..', 'integr8s-secret.txt'), 'secret');
  h = await startHarness({ site: loadStaticSite(dir) });
});

afterAll(async () => {
  await h?.server.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(join(dir, '..', 'integr8s-secret.txt'), { force: true });
});

/** Sends a raw request line (fetch would normalise `..` away) and returns the parsed head and body. */
async function raw(method: string, target: string, extra = ''): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const socket = await connect(h.port);
  const text = await new Promise<string>((resolve, reject) => {
    let got = '';
    const timer = setTimeout(() => reject(new Error(`timed out; got: ${got}`)), 3000);
    socket.on('data', (chunk: Buffer) => (got += chunk.toString('latin1')));
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    socket.once('error', reject);
    socket.write(`${method} ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${extra}\r\n`);
  });
  const res = parseHead(text);
  return { ...res, body: text.slice(text.indexOf('\r\n\r\n') + 4) };
}

describe('static site', () => {
  it('serves index.html at / with no-cache and the HTML content type', async () => {
    const res = await fetch(`${h.base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    // Scripts only from the site itself; the editor's inline style attributes allowed.
    expect(res.headers.get('content-security-policy')).toBe(DOCUMENT_CSP);
    expect(DOCUMENT_CSP).toMatch(/^default-src 'self';/);
    expect(DOCUMENT_CSP).not.toMatch(/script-src|unsafe-eval/);
    expect(await res.text()).toBe(INDEX);
  });

  it('falls back to index.html for SPA routes, nested ones included', async () => {
    for (const path of ['/editor', '/admin/users', '/history?status=failed', '/login']) {
      const res = await fetch(`${h.base}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('cache-control'), path).toBe('no-cache');
      expect(await res.text(), path).toBe(INDEX);
    }
  });

  it('serves hashed assets with a long immutable cache and their content types', async () => {
    const js = await fetch(`${h.base}/assets/app-abc123.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(js.headers.get('content-security-policy')).toBe("default-src 'self'");
    expect(await js.text()).toBe(SCRIPT);
    const css = await fetch(`${h.base}/assets/app-abc123.css`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    const svg = await fetch(`${h.base}/favicon.svg`);
    expect(svg.headers.get('content-type')).toBe('image/svg+xml');
    expect(svg.headers.get('cache-control')).toBe('no-cache');
  });

  it('answers a missing asset with 404 JSON instead of the page', async () => {
    for (const path of ['/assets/gone-123.js', '/robots.txt']) {
      const res = await fetch(`${h.base}${path}`);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toBe('application/json');
    }
  });

  it('leaves /api/ paths to the API: an unknown one is a 404 JSON error, not the page', async () => {
    const res = await fetch(`${h.base}/api/v1/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ type: 'NotFound' });
    const live = await fetch(`${h.base}/api/v1/health/live`);
    expect(await live.json()).toMatchObject({ status: 'ok' });
  });

  it('never leaves the site directory, however the path is spelled', async () => {
    for (const target of ['/../integr8s-secret.txt', '/assets/../../integr8s-secret.txt', '/%2e%2e/integr8s-secret.txt', '/..%2fintegr8s-secret.txt', '/assets/%2e%2e%2f%2e%2e%2fintegr8s-secret.txt']) {
      const res = await raw('GET', target);
      expect(res.body, target).not.toContain('secret');
      expect([200, 404], target).toContain(res.status);
      if (res.status === 200) expect(res.body, target).toBe(INDEX);
    }
  });

  it('answers HEAD with the head only', async () => {
    const res = await raw('HEAD', '/assets/app-abc123.js');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.body).toBe('');
    const page = await raw('HEAD', '/settings');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toBe('');
  });

  it('gzips large text files for clients that accept it, and answers 304 to a matching ETag', async () => {
    const res = await raw('GET', '/assets/app-abc123.js', 'Accept-Encoding: gzip, br\r\n');
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.headers['vary']).toBe('Accept-Encoding');
    const first = await fetch(`${h.base}/assets/app-abc123.js`);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await fetch(`${h.base}/assets/app-abc123.js`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    // fetch decodes gzip itself: the bytes it hands back are the file.
    expect(gunzipSync(Buffer.from(res.body, 'latin1')).toString()).toBe(SCRIPT);
  });

  it('does not answer other methods outside /api/', async () => {
    const res = await fetch(`${h.base}/editor`, { method: 'POST', body: 'x' });
    expect(res.status).toBe(404);
  });
});

describe('loadStaticSite', () => {
  it('is null for a directory without index.html (the SPA was not built)', () => {
    expect(loadStaticSite(join(tmpdir(), 'integr8s-no-such-dir'))).toBeNull();
  });

  it('tells files from SPA routes', () => {
    expect(looksLikeFile('/assets/x')).toBe(true);
    expect(looksLikeFile('/favicon.ico')).toBe(true);
    expect(looksLikeFile('/admin/users')).toBe(false);
    expect(looksLikeFile('/')).toBe(false);
  });
});
