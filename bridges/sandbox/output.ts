/** One output stream of a run, kept up to a byte cap: the rest is read and dropped, and flagged truncated. */
import { StringDecoder } from 'node:string_decoder';

/** Collects a stream's text up to `capBytes`, decoding UTF-8 across chunk borders, and tells listeners. */
export class CappedOutput {
  private readonly decoder = new StringDecoder('utf8');
  private readonly texts: string[] = [];
  private kept = 0;
  private ended = false;
  /** True once a byte had to be dropped. */
  truncated = false;

  constructor(
    private readonly capBytes: number,
    private readonly onText: (text: string) => void = () => {},
  ) {}

  /** Takes a chunk: the part under the cap is kept (and passed to the listener), the rest is dropped. */
  push(chunk: Buffer): void {
    if (this.ended) return;
    const room = this.capBytes - this.kept;
    if (chunk.length > room) this.truncated = true;
    if (room <= 0) return;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.kept += part.length;
    this.emit(this.decoder.write(part));
  }

  /** Flushes a character cut at the end; later chunks are ignored. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.emit(this.decoder.end());
  }

  /** Bytes kept so far. */
  get bytes(): number {
    return this.kept;
  }

  /** Everything kept so far, as text. */
  text(): string {
    return this.texts.join('');
  }

  private emit(text: string): void {
    if (!text) return;
    this.texts.push(text);
    this.onText(text);
  }
}
