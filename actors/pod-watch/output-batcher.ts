import { StringDecoder } from 'node:string_decoder';
import { OUTPUT_FLUSH_BYTES, OUTPUT_FLUSH_MS, type OutputPiece, type StreamBytes } from '../../system/domain/live-output.js';
import type { OutputChunk } from '../../system/ports/sandbox.js';

/** Settings of one run's batcher. */
export interface BatcherOptions {
  /** The output cap of the run (limits.outputBytes), per stream, as the final result has it. */
  capBytes: number;
  /** Bytes per stream published before (by an earlier watch of the same run): dropped, not sent again. */
  skip?: StreamBytes;
  flushMs?: number;
  flushBytes?: number;
}

const byteLength = (text: string): number => Buffer.byteLength(text, 'utf8');

/** The longest prefix of `text` of at most `bytes` UTF-8 bytes that does not split a character. */
export function prefixOfBytes(text: string, bytes: number): string {
  return new StringDecoder('utf8').write(Buffer.from(text, 'utf8').subarray(0, Math.max(0, bytes)));
}

/**
 * Turns a run's live output into pieces worth a frame each: in arrival order, a stream switch starting a new
 * piece, flushed `flushMs` after the first pending byte or once `flushBytes` are pending, each stream cut at the
 * output cap with the cut piece marked truncated. finish() flushes the rest and marks a truncation the backend
 * did (bytes it dropped before they reached us) that the batcher could not see.
 */
export class OutputBatcher {
  private readonly flushMs: number;
  private readonly flushBytes: number;
  private readonly accepted: StreamBytes = { stdout: 0, stderr: 0 };
  private readonly toSkip: StreamBytes;
  private readonly cut = { stdout: false, stderr: false };
  private pending: OutputPiece[] = [];
  private pendingBytes = 0;
  /** Bytes of the last pending piece (kept, not measured again on every push). */
  private lastBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly opts: BatcherOptions,
    private readonly onFlush: (pieces: OutputPiece[]) => void,
  ) {
    this.flushMs = opts.flushMs ?? OUTPUT_FLUSH_MS;
    this.flushBytes = Math.max(4, opts.flushBytes ?? OUTPUT_FLUSH_BYTES); // room for any one character
    this.toSkip = { ...(opts.skip ?? { stdout: 0, stderr: 0 }) };
  }

  /** Takes a chunk from the sandbox. */
  push(chunk: OutputChunk): void {
    const s = chunk.stream;
    if (this.closed || this.cut[s]) return;
    let text = chunk.text;
    if (this.toSkip[s] > 0) {
      const bytes = byteLength(text);
      const skipped = Math.min(bytes, this.toSkip[s]);
      this.toSkip[s] -= skipped;
      this.accepted[s] += skipped;
      text = Buffer.from(text, 'utf8').subarray(skipped).toString('utf8');
    }
    const room = this.opts.capBytes - this.accepted[s];
    let truncated = false;
    if (byteLength(text) > room) {
      text = prefixOfBytes(text, room);
      truncated = true;
      this.cut[s] = true;
    }
    if (!text && !truncated) return;
    this.accepted[s] += byteLength(text);
    this.add(s, text, truncated);
    if (this.pendingBytes >= this.flushBytes || truncated) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.flushMs);
  }

  /** Flushes what is pending and ends the batcher; `outcome` tells which streams the backend truncated. */
  finish(outcome: { stdoutTruncated: boolean; stderrTruncated: boolean }): OutputPiece[] {
    const rest = this.close();
    for (const s of ['stdout', 'stderr'] as const) {
      const truncated = s === 'stdout' ? outcome.stdoutTruncated : outcome.stderrTruncated;
      if (truncated && !this.cut[s]) rest.push({ stream: s, text: '', truncated: true });
    }
    return rest;
  }

  /** Ends the batcher without a flush callback and returns what was pending. */
  close(): OutputPiece[] {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.closed = true;
    const rest = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    this.lastBytes = 0;
    return rest;
  }

  private add(stream: OutputPiece['stream'], text: string, truncated: boolean): void {
    let rest = text;
    let restBytes = byteLength(text);
    while (rest) {
      const last = this.pending.at(-1);
      const open = last && last.stream === stream && !last.truncated ? last : undefined;
      const room = this.flushBytes - (open ? this.lastBytes : 0);
      const part = restBytes <= room ? rest : prefixOfBytes(rest, room);
      const partBytes = part === rest ? restBytes : byteLength(part);
      if (open && part) {
        open.text += part;
        this.lastBytes += partBytes;
      } else if (open) {
        this.pending.push({ stream, text: '', truncated: false }); // the open piece is full: continue in a new one
        this.lastBytes = 0;
        continue;
      } else {
        this.pending.push({ stream, text: part, truncated: false });
        this.lastBytes = partBytes;
      }
      rest = rest.slice(part.length);
      restBytes -= partBytes;
      this.pendingBytes += partBytes;
    }
    if (!truncated) return;
    const last = this.pending.at(-1);
    if (last && last.stream === stream && !last.truncated) last.truncated = true;
    else this.pending.push({ stream, text: '', truncated: true });
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.length === 0) return;
    const pieces = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    this.lastBytes = 0;
    this.onFlush(pieces);
  }
}
