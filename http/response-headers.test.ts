/**
 * How response headers go out: the pipeline's fixed security block, headers steps add, a response's own headers
 * (which win on a clash) and cookies, all in one uWS call; every header exactly once, and no value can start a line.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HeaderBlock, JSON_HEADERS } from './context.js';
import type { RouteGroup } from './server.js';
import { connect, parseHead, readUntil, startHarness, type Harness } from './test-support.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.server.close();
  h = null;
});

const routes: RouteGroup = (router) => {
  router.get('/api/v1/plain', (ctx) => ctx.json(200, { ok: true }), { summary: 'plain', tag: 't', auth: 'public' });
  router.get('/api/v1/constant', (ctx) => ctx.send(200, 'x', OWN_BLOCK), { summary: 'constant', tag: 't', auth: 'public' });
  router.get(
    '/api/v1/constant-with-step',
    (ctx) => {
      ctx.responseHeaders.set('x-step', 'yes');
      ctx.addCookie('c=1; Path=/');
      ctx.send(200, 'x', OWN_BLOCK);
    },
    { summary: 'constant and a step', tag: 't', auth: 'public' },
  );
  router.get(
    '/api/v1/own-policy',
    (ctx) => ctx.send(200, 'x', { 'Content-Security-Policy': "default-src 'none'", 'cache-control': 'max-age=5', 'content-type': 'text/plain' }),
    { summary: 'own', tag: 't', auth: 'public' },
  );
  router.get(
    '/api/v1/injected',
    (ctx) => {
      ctx.addCookie('a=1; Path=/');
      ctx.addCookie('b=2; Path=/');
      ctx.send(200, 'x', { 'x-note': 'one\r\nset-cookie: evil=1\r\n\r\nbody', 'content-type': 'text/plain' });
    },
    { summary: 'injected', tag: 't', auth: 'public' },
  );
  router.get(
    '/api/v1/streamed',
    (ctx) => {
      ctx.addCookie('s=1; Path=/');
      ctx.responseHeaders.set('x-step', 'yes');
      const out = ctx.startStream(200, { 'content-type': 'text/plain' });
      // The stream keeps its own head; the request's state is let go as it starts.
      streamed = { headersLeft: Object.keys(ctx.headers).length };
      setTimeout(() => {
        out.write(Buffer.from('first'));
        out.end();
      }, 20);
    },
    { summary: 'streamed', tag: 't', auth: 'public' },
  );
};
let streamed: { headersLeft: number } | null = null;
const OWN_BLOCK = new HeaderBlock({ 'cache-control': 'max-age=7', 'content-type': 'text/plain' });

/** The response head as raw lines, by a socket (fetch would fold repeated headers). */
async function rawHead(port: number, path: string): Promise<string[]> {
  const socket = await connect(port);
  socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  const text = await readUntil(socket, (t) => t.includes('\r\n\r\n'));
  socket.destroy();
  return text.slice(0, text.indexOf('\r\n\r\n')).split('\r\n').slice(1);
}

const count = (lines: string[], name: string) => lines.filter((l) => l.toLowerCase().startsWith(`${name}:`)).length;

describe('response headers', () => {
  it('carries every security header once, and no-store on the API', async () => {
    h = await startHarness({ routes: [routes] });
    const lines = await rawHead(h.port, '/api/v1/plain');
    for (const name of ['x-content-type-options', 'x-frame-options', 'referrer-policy', 'content-security-policy', 'cache-control', 'content-type']) {
      expect(count(lines, name), name).toBe(1);
    }
    expect(parseHead(`HTTP/1.1 200 OK\r\n${lines.join('\r\n')}\r\n\r\n`).headers['cache-control']).toBe('no-store');
  });

  it("lets a response's own header replace a fixed one, whatever its case", async () => {
    h = await startHarness({ routes: [routes] });
    const lines = await rawHead(h.port, '/api/v1/own-policy');
    expect(count(lines, 'content-security-policy')).toBe(1);
    expect(count(lines, 'cache-control')).toBe(1);
    expect(lines).toContain("content-security-policy: default-src 'none'");
    expect(lines).toContain('cache-control: max-age=5');
    expect(lines).toContain('x-frame-options: DENY');
  });

  it("lets a constant block of a response's own replace a fixed header, with and without steps' headers and cookies", async () => {
    h = await startHarness({ routes: [routes] });
    for (const path of ['/api/v1/constant', '/api/v1/constant-with-step', '/api/v1/constant']) {
      const lines = await rawHead(h.port, path);
      expect(count(lines, 'cache-control'), path).toBe(1);
      expect(lines, path).toContain('cache-control: max-age=7');
      expect(lines, path).toContain('content-type: text/plain');
      expect(count(lines, 'x-frame-options'), path).toBe(1);
      expect(count(lines, 'x-step'), path).toBe(path.endsWith('step') ? 1 : 0);
      expect(count(lines, 'set-cookie'), path).toBe(path.endsWith('step') ? 1 : 0);
    }
  });

  it('joins two header blocks once per pair, the second winning on a clash, and refuses names a client would not match', () => {
    const base = new HeaderBlock({ 'x-frame-options': 'DENY', 'cache-control': 'no-store' });
    const joined = base.with(OWN_BLOCK);
    expect(base.with(OWN_BLOCK)).toBe(joined);
    expect(joined.line).toEqual(['x-frame-options', 'DENY\r\ncache-control: max-age=7\r\ncontent-type: text/plain']);
    expect(base.with(JSON_HEADERS).values).toEqual({ 'x-frame-options': 'DENY', 'cache-control': 'no-store', 'content-type': 'application/json' });
    expect(() => new HeaderBlock({ 'Content-Type': 'text/plain' })).toThrow('invalid header block');
    expect(() => new HeaderBlock({ 'x-a': 'b\r\nset-cookie: x=1' })).toThrow('invalid header block');
  });

  it('keeps CR and LF in a value from starting a header or the body, and sends each cookie on its own line', async () => {
    h = await startHarness({ routes: [routes] });
    const lines = await rawHead(h.port, '/api/v1/injected');
    expect(lines.filter((l) => l.startsWith('set-cookie:'))).toEqual(['set-cookie: a=1; Path=/', 'set-cookie: b=2; Path=/']);
    expect(lines.find((l) => l.startsWith('x-note:'))).toBe('x-note: one set-cookie: evil=1 body');
  });

  it("sends a stream's head with its first write, with the steps' headers and cookies, after the request state was let go", async () => {
    h = await startHarness({ routes: [routes] });
    const lines = await rawHead(h.port, '/api/v1/streamed');
    expect(streamed).toEqual({ headersLeft: 0 });
    expect(lines).toContain('x-step: yes');
    expect(lines).toContain('set-cookie: s=1; Path=/');
    expect(lines).toContain('content-type: text/plain');
    expect(count(lines, 'x-frame-options')).toBe(1);
  });
});
