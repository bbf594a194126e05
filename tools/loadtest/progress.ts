/**
 * The progress line on stderr: elapsed/duration, requests, errors, current RPS, open connections (plus whatever
 * the scenario adds). On a TTY one line is redrawn in place at most 4 times a second; otherwise a plain line is
 * printed once a second.
 */

export interface ProgressSnapshot {
  elapsedS: number;
  durationS: number;
  requests: number;
  errors: number;
  rps: number;
  open: number;
  /** Scenario extras, e.g. `{ streams: 50, lost: 0 }`. */
  extra?: Record<string, number | string>;
}

export interface ProgressSink {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

const BAR = 20;

/** Formats one progress line (no line ending). */
export function formatProgress(s: ProgressSnapshot, bar = true): string {
  const ratio = s.durationS > 0 ? Math.min(1, Math.max(0, s.elapsedS / s.durationS)) : 0;
  const filled = Math.round(ratio * BAR);
  const head = bar ? `[${'#'.repeat(filled)}${'-'.repeat(BAR - filled)}] ` : '';
  const extra = Object.entries(s.extra ?? {})
    .map(([k, v]) => `  ${k} ${v}`)
    .join('');
  return `${head}${s.elapsedS.toFixed(1)}/${s.durationS}s  req ${s.requests}  err ${s.errors}  rps ${Math.round(s.rps)}  conn ${s.open}${extra}`;
}

export class Progress {
  private timer: NodeJS.Timeout | null = null;
  private drawn = false;
  private readonly tty: boolean;

  constructor(
    private readonly sink: ProgressSink,
    private readonly snapshot: () => ProgressSnapshot,
  ) {
    this.tty = sink.isTTY === true;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.draw(), this.tty ? 250 : 1000);
    this.timer.unref();
  }

  /** Prints a line that must not be overwritten (a warning), keeping the progress line below it. */
  log(line: string): void {
    if (this.tty && this.drawn) this.sink.write('\r\x1b[2K');
    this.sink.write(`${line}\n`);
    if (this.tty && this.timer) this.draw();
  }

  private draw(): void {
    const line = formatProgress(this.snapshot(), this.tty);
    if (this.tty) {
      const columns = this.sink.columns !== undefined && this.sink.columns > 0 ? this.sink.columns : 120;
      const width = Math.max(20, columns - 1);
      this.sink.write(`\r\x1b[2K${line.length > width ? line.slice(0, width) : line}`);
      this.drawn = true;
    } else {
      this.sink.write(`${line}\n`);
    }
  }

  /** Stops redrawing and leaves the final state on its own line. */
  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = null;
    this.draw();
    if (this.tty) this.sink.write('\n');
    this.drawn = false;
  }
}
