/** A parsed SSE message. */
export interface SseMessage {
  id?: string;
  event?: string;
  data: string;
}

/** Reads an SSE response body into messages until the server closes it or the deadline passes. */
export async function readSse(
  url: string,
  opts: {
    headers?: Record<string, string>;
    timeoutMs?: number;
    onMessage?: (m: SseMessage) => void;
    /** Hangs up (as a client going away) once this returns true for a message just read. */
    until?: (m: SseMessage) => boolean;
  } = {},
): Promise<{ status: number; messages: SseMessage[]; closedByServer: boolean }> {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), opts.timeoutMs ?? 20_000);
  const messages: SseMessage[] = [];
  try {
    const res = await fetch(url, { headers: { accept: 'text/event-stream', ...opts.headers }, signal: ctrl.signal });
    if (!res.body || !(res.headers.get('content-type') ?? '').includes('text/event-stream')) {
      await res.text().catch(() => '');
      return { status: res.status, messages, closedByServer: true };
    }
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const m = parseBlock(block);
        if (m) {
          messages.push(m);
          opts.onMessage?.(m);
          if (opts.until?.(m)) {
            ctrl.abort();
            return { status: res.status, messages, closedByServer: false };
          }
        }
      }
    }
    return { status: res.status, messages, closedByServer: true };
  } catch (err) {
    if (ctrl.signal.aborted) return { status: 200, messages, closedByServer: false };
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

function parseBlock(block: string): SseMessage | null {
  const data: string[] = [];
  const m: SseMessage = { data: '' };
  for (const line of block.split('\n')) {
    if (line.startsWith(':') || line === '') continue;
    const idx = line.indexOf(':');
    const field = idx < 0 ? line : line.slice(0, idx);
    const value = idx < 0 ? '' : line.slice(idx + 1).replace(/^ /, '');
    if (field === 'data') data.push(value);
    else if (field === 'id') m.id = value;
    else if (field === 'event') m.event = value;
  }
  if (data.length === 0) return null;
  m.data = data.join('\n');
  return m;
}
