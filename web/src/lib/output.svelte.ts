/**
 * The output of one run as lines of styled segments, appended chunk by chunk. Lines are grouped into blocks
 * of fixed size so that appending re-renders only the last block, and the view can skip off-screen blocks:
 * a program printing 10 000 lines stays smooth.
 */
import { AnsiParser, type Segment } from './ansi';

export type StreamName = 'stdout' | 'stderr';

/** One printed line; stderr segments carry the `stream-stderr` class. */
export interface OutputLine {
  segments: Segment[];
}

/** Lines per block. */
export const BLOCK_LINES = 200;

export class OutputBuffer {
  /** Finished blocks, then the growing last one. */
  blocks = $state.raw<OutputLine[][]>([]);
  lineCount = $state(0);
  private parsers: Record<StreamName, AnsiParser> = { stdout: new AnsiParser(), stderr: new AnsiParser() };
  private current: Segment[] = [];
  private lastStream: StreamName | null = null;
  /** Text received per stream, for the copy buttons. */
  private texts: Record<StreamName, string[]> = { stdout: [], stderr: [] };

  /** Adds a chunk of a stream's output. */
  append(stream: StreamName, text: string): void {
    if (text === '') return;
    this.texts[stream].push(text);
    // Output of the other stream starts on a fresh line, so interleaved stdout and stderr stay readable.
    if (this.lastStream !== null && this.lastStream !== stream && this.current.length > 0) this.breakLine();
    this.lastStream = stream;
    const extra = stream === 'stderr' ? 'stream-stderr' : '';
    const blocks = this.blocks.slice();
    let tail = blocks.length ? blocks[blocks.length - 1]!.slice() : [];
    let lines = this.lineCount;
    const flushLine = (final: boolean) => {
      const line = { segments: this.current };
      if (tail.length > 0 && this.openLine) tail[tail.length - 1] = line;
      else {
        if (tail.length >= BLOCK_LINES) {
          if (blocks.length) blocks[blocks.length - 1] = tail;
          else blocks.push(tail);
          blocks.push([]);
          tail = [];
        }
        tail.push(line);
        lines++;
      }
      if (final) {
        this.current = [];
        this.openLine = false;
      } else this.openLine = true;
    };
    for (const seg of this.parsers[stream].push(text)) {
      const classes = [seg.classes, extra].filter(Boolean).join(' ');
      const pieces = seg.text.split('\n');
      pieces.forEach((piece, i) => {
        if (i > 0) flushLine(true);
        // A carriage return without newline rewrites the line (progress bars).
        const cr = piece.lastIndexOf('\r');
        if (cr >= 0) {
          this.current = [];
          piece = piece.slice(cr + 1);
        }
        if (piece !== '') this.current = [...this.current, { text: piece, classes }];
      });
    }
    if (this.current.length > 0) flushLine(false);
    if (blocks.length === 0) blocks.push(tail);
    else blocks[blocks.length - 1] = tail;
    this.blocks = blocks;
    this.lineCount = lines;
  }

  /** Everything one stream printed. */
  text(stream: StreamName): string {
    return this.texts[stream].join('');
  }

  clear(): void {
    this.blocks = [];
    this.lineCount = 0;
    this.current = [];
    this.openLine = false;
    this.lastStream = null;
    this.parsers = { stdout: new AnsiParser(), stderr: new AnsiParser() };
    this.texts = { stdout: [], stderr: [] };
  }

  /** True while the last line has no newline yet (it is replaced, not appended, on the next chunk). */
  private openLine = false;

  private breakLine(): void {
    this.current = [];
    this.openLine = false;
  }
}
