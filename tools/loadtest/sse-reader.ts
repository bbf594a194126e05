/**
 * An incremental text/event-stream parser (the WHATWG rules that matter here): frames are separated by a blank
 * line, `data:` lines are joined with newlines, `event:` and `id:` are kept, comments (`:`) and `retry:` are
 * skipped; CRLF, CR and LF line endings are all accepted, and a chunk may end anywhere, even inside a line.
 */

export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
  /** Epoch ms when the chunk that completed this frame arrived. */
  receivedAt: number;
}

export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private id: string | undefined;
  private event: string | undefined;
  private pendingCR = false;
  private readonly decoder = new TextDecoder();

  /** Feeds bytes (or text) and returns the frames completed by them. */
  push(chunk: Uint8Array | string, receivedAt = Date.now()): SseEvent[] {
    let text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    if (this.pendingCR) {
      // A CR at the end of the previous chunk already ended its line; drop the LF of a CRLF split in two.
      if (text.startsWith('\n')) text = text.slice(1);
      this.pendingCR = false;
    }
    this.buffer += text;
    const out: SseEvent[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      if (!m) break;
      // A lone CR at the very end may be the first half of a CRLF: treat it as a line end, remember it.
      if (m[0] === '\r' && m.index === this.buffer.length - 1) this.pendingCR = true;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      const ev = this.line(line, receivedAt);
      if (ev) out.push(ev);
    }
    return out;
  }

  private line(line: string, receivedAt: number): SseEvent | null {
    if (line === '') {
      if (this.data.length === 0) {
        this.event = undefined;
        return null;
      }
      const ev: SseEvent = { data: this.data.join('\n'), receivedAt };
      if (this.id !== undefined) ev.id = this.id;
      if (this.event !== undefined) ev.event = this.event;
      this.data = [];
      this.event = undefined;
      return ev;
    }
    if (line.startsWith(':')) return null;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? '' : line.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    return null;
  }
}
