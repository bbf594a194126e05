/** HEAD over a kept-alive connection: the head only, so the next response on the connection is read intact. */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpStack, type HttpStack } from './support/http-stack.js';

let s: HttpStack;
beforeAll(async () => {
  s = await startHttpStack();
});
afterAll(async () => s?.close());

function exchange(port: number, raw: string, responses: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`timed out; got:\n${got}`));
    }, 5_000);
    socket.on('data', (chunk) => {
      got += chunk.toString('latin1');
      if ((got.match(/HTTP\/1\.1 /g) ?? []).length >= responses && got.trimEnd().endsWith('}')) {
        clearTimeout(timer);
        socket.destroy();
        resolve(got);
      }
    });
    socket.on('error', reject);
    socket.write(raw);
  });
}

describe('HEAD', () => {
  it('answers with the head only, and the next request on the connection gets a whole response', async () => {
    const raw = 'HEAD /api/v1/health/live HTTP/1.1\r\nHost: x\r\n\r\nGET /api/v1/health/live HTTP/1.1\r\nHost: x\r\n\r\n';
    const got = await exchange(s.port, raw, 2);
    const [head, second] = got.split(/(?=HTTP\/1\.1 )/);
    expect(head).toMatch(/^HTTP\/1\.1 \d{3} /);
    expect(head!.split('\r\n\r\n')[1]).toBe('');
    expect(second).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(JSON.parse(second!.split('\r\n\r\n')[1]!)).toMatchObject({ status: 'ok' });
  });
});
