import { afterEach, describe, expect, it } from 'vitest';
import { sendDownload } from './download.js';
import { connect, eventually, readUntil, startHarness, type Harness } from './test-support.js';

let h: Harness | undefined;
afterEach(async () => h?.server.close());

const CHUNK = 'x'.repeat(64 * 1024);

describe('streamed downloads', () => {
  it('stops producing while the client does not read, and ends the producer when the client leaves', async () => {
    let produced = 0;
    let finished = false;
    async function* endless(): AsyncGenerator<string> {
      try {
        for (;;) {
          produced++;
          yield CHUNK;
        }
      } finally {
        finished = true;
      }
    }
    h = await startHarness({
      routes: [(router, { log }) => router.get('/dl', (ctx) => sendDownload(ctx, { contentType: 'text/plain', fileName: 'x.txt', chunks: endless() }, log))],
    });
    const socket = await connect(h.port);
    socket.write('GET /dl HTTP/1.1\r\nHost: x\r\n\r\n');
    await readUntil(socket, (text) => text.includes('\r\n\r\n'));
    socket.pause();
    await new Promise((r) => setTimeout(r, 400));
    const stalled = produced;
    await new Promise((r) => setTimeout(r, 400));
    // Held back by the socket: what was produced fits in the socket buffers, and nothing more comes.
    expect(produced).toBe(stalled);
    expect(produced).toBeLessThan(400);
    expect(finished).toBe(false);
    socket.destroy();
    await eventually(() => finished, 3_000, 'the producer ended');
    expect(produced).toBe(stalled);
  });

  it('sends a failure to start as an ordinary error response', async () => {
    async function* broken(): AsyncGenerator<string> {
      throw new Error('store down');
    }
    h = await startHarness({
      routes: [(router, { log }) => router.get('/dl', (ctx) => sendDownload(ctx, { contentType: 'text/plain', fileName: 'x.txt', chunks: broken() }, log))],
    });
    const res = await fetch(`${h.base}/dl`);
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ type: 'InternalError' });
  });
});
