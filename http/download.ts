import type { HttpContext } from './context.js';
import type { HttpLogger } from './log.js';
import { describeError } from './log.js';

/** A file answered in pieces: its type, its name, and its text as it is produced. */
export interface Download {
  contentType: string;
  fileName: string;
  chunks: AsyncIterable<string>;
}

/**
 * Streams a download (chunked transfer encoding): each piece is written as soon as it is produced, and the next is
 * not asked for while the socket is backed up or after the client left. The first piece is produced before the
 * status goes out, so a failure to start (the store is down) is still an ordinary error response; a failure later
 * can only cut the response short, which the client sees as a truncated transfer.
 */
export async function sendDownload(ctx: HttpContext, download: Download, log: HttpLogger): Promise<void> {
  const pieces = download.chunks[Symbol.asyncIterator]();
  let next = await pieces.next();
  const out = ctx.startStream(200, {
    'content-type': download.contentType,
    'content-disposition': `attachment; filename="${download.fileName}"`,
    'cache-control': 'no-store',
  });
  let wake: (() => void) | null = null;
  ctx.onAbort(() => wake?.());
  try {
    while (!next.done) {
      if (ctx.aborted) return;
      if (next.value.length > 0 && !out.write(Buffer.from(next.value))) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          out.onWritable(() => {
            resolve();
            return true;
          });
        });
        wake = null;
        if (ctx.aborted) return;
      }
      next = await pieces.next();
    }
    out.end();
  } catch (err) {
    log.error({ method: ctx.method, path: ctx.path, ...describeError(err) }, 'download failed after it started; connection closed');
    out.close();
  } finally {
    // Ends the producer (and the store scan behind it) when the client left or a write failed.
    await pieces.return?.();
  }
}
