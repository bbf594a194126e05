/**
 * The in-pod wrapper's log framing (deploy/runtimes/wrapper) and its parser.
 *
 * A pod has one log, where the container's stdout and stderr are merged, so the wrapper never lets the program
 * write to it: it reads the program's stdout and stderr from pipes and writes one ASCII line per chunk,
 *
 *     <key> <seq> <tag> <base64 payload>\n        tag: o = stdout bytes, e = stderr bytes, x = exit report (JSON)
 *
 * `key` is a random per-run secret (I8S_FRAME_KEY in the pod's env, removed from the program's env; the wrapper
 * makes itself non-dumpable so the program cannot read it back from /proc/1). The program's bytes only ever
 * appear base64-encoded inside a frame, so output that imitates a frame is just output. `seq` counts frames from
 * 0: after a log stream drops, the log is read again from the start and frames already seen are skipped; a gap
 * means lost log data and makes the log unusable. Lines without the key (runtime noise) are ignored.
 */
import { z } from 'zod';

/** Env var the wrapper reads its frame key from. */
export const FRAME_KEY_ENV = 'I8S_FRAME_KEY';
/** A frame key: 32 lower-case hex digits. */
export const FRAME_KEY_PATTERN = /^[0-9a-f]{32}$/;

/** The wrapper's exit report (the `x` frame), in its wire names. */
export const ExitReportSchema = z.object({
  v: z.literal(1),
  /** The program's exit code; null when a signal ended it. */
  exit_code: z.number().int().min(0).max(255).nullable(),
  signal: z.string().regex(/^SIG[A-Z0-9+]+$/).nullable(),
  cpu_ms: z.number().min(0),
  peak_memory_kb: z.number().min(0),
  wall_ms: z.number().min(0),
  /** OOM kills counted in the container's memory cgroup while the program ran. */
  oom_kills: z.number().int().min(0),
  /** The wrapper killed the program at I8S_WALL_MS. */
  wall_timed_out: z.boolean(),
  stdout_truncated: z.boolean(),
  stderr_truncated: z.boolean(),
  /** Set when the wrapper could not run the program at all (our fault, not the user's). */
  error: z.string().nullable(),
});
export type ExitReport = z.infer<typeof ExitReportSchema>;

/** What the parser hands on, in log order. */
export type FrameEvent = { kind: 'output'; stream: 'stdout' | 'stderr'; bytes: Buffer } | { kind: 'exit'; report: ExitReport };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const SEQ = /^(0|[1-9][0-9]{0,9})$/;

/** Reads a framed pod log incrementally; feed it text with push(), call restart() before reading the log again. */
export class FrameParser {
  private partial = '';
  private next = 0;
  /** Lines without this run's key (runtime noise, anything not written by the wrapper). */
  noise = 0;
  /** Frames skipped because they were already seen (a log read again after a reconnect). */
  duplicates = 0;
  /** Why the log cannot be trusted (a gap in the sequence, a malformed frame with our key); null while sound. */
  corrupt: string | null = null;
  report: ExitReport | null = null;

  constructor(
    private readonly key: string,
    private readonly sink: (event: FrameEvent) => void,
  ) {
    if (!FRAME_KEY_PATTERN.test(key)) throw new Error('frame key must be 32 lower-case hex digits');
  }

  /** Takes the next piece of the log; whole lines are parsed, a trailing partial line waits for the rest. */
  push(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.line(line);
  }

  /** The log will be read again from its start: drop the partial line (it comes again, whole). */
  restart(): void {
    this.partial = '';
  }

  /** Frames accepted so far. */
  get frames(): number {
    return this.next;
  }

  private line(raw: string): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (!line.startsWith(`${this.key} `)) {
      this.noise++;
      return;
    }
    if (this.corrupt) return;
    if (this.report) {
      // after the report only re-read frames may come (a log read again); anything new is not the wrapper's
      const seq = this.seqOf(line);
      if (seq !== null && seq < this.next) this.duplicates++;
      else this.fail('a frame after the exit report');
      return;
    }
    const parts = line.split(' ');
    if (parts.length !== 4) return this.fail(`malformed frame (${parts.length} fields)`);
    const [, seqText, tag, payload] = parts as [string, string, string, string];
    if (!SEQ.test(seqText)) return this.fail('malformed frame sequence number');
    const seq = Number(seqText);
    if (seq < this.next) {
      this.duplicates++;
      return;
    }
    if (seq > this.next) return this.fail(`frames ${this.next}..${seq - 1} are missing from the log`);
    if (!BASE64.test(payload) || payload.length % 4 !== 0) return this.fail('malformed frame payload');
    const bytes = Buffer.from(payload, 'base64');
    switch (tag) {
      case 'o':
      case 'e':
        this.next++;
        this.sink({ kind: 'output', stream: tag === 'o' ? 'stdout' : 'stderr', bytes });
        return;
      case 'x': {
        const report = parseReport(bytes.toString('utf8'));
        if (!report) return this.fail('malformed exit report');
        this.next++;
        this.report = report;
        this.sink({ kind: 'exit', report });
        return;
      }
      default:
        return this.fail(`unknown frame tag ${JSON.stringify(tag.slice(0, 8))}`);
    }
  }

  private seqOf(line: string): number | null {
    const seq = line.split(' ')[1] ?? '';
    return SEQ.test(seq) ? Number(seq) : null;
  }

  private fail(why: string): void {
    this.corrupt = why;
  }
}

function parseReport(text: string): ExitReport | null {
  try {
    const parsed = ExitReportSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Encodes one frame as the wrapper does (for tests and the test kubelet's simulated runs). */
export function encodeFrame(key: string, seq: number, tag: 'o' | 'e' | 'x', payload: Buffer | string): string {
  return `${key} ${seq} ${tag} ${Buffer.from(payload).toString('base64')}\n`;
}
