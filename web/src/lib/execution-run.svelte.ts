/**
 * One run of a script as the editor sees it: submit, follow the execution's SSE stream (phase, live output
 * chunks, final result), cancel, and send stdin. EventSource resumes a dropped stream with Last-Event-ID;
 * chunks seen twice are ignored, and the final result is the truth for the output when it differs.
 */
import { api, ApiError } from './api/client';
import { TERMINAL_STATUSES, type ExecutionFrame, type ExecutionResult, type ExecutionStatus, type OutputChunkFrame } from './api/types';
import { OutputBuffer } from './output.svelte';

/** Event types after which the server closes the stream. */
const CLOSING_EVENTS = new Set(['result_stored', 'result_failed', 'execution_failed', 'execution_timeout', 'execution_cancelled']);

export type Phase = 'idle' | 'submitting' | ExecutionStatus;
export type Connection = 'none' | 'live' | 'reconnecting' | 'lost' | 'closed';

export class ExecutionRun {
  executionId = $state<string | null>(null);
  phase = $state<Phase>('idle');
  connection = $state<Connection>('none');
  result = $state<ExecutionResult | null>(null);
  /** Chunks that arrived before the run ended (live output). */
  liveChunks = $state(0);
  cancelling = $state(false);
  /** The run keeps stdin open for the input line. */
  interactive = $state(false);
  readonly output = new OutputBuffer();
  private source: EventSource | null = null;
  private seen = new Set<string>();

  get active(): boolean {
    return this.phase === 'submitting' || (this.phase !== 'idle' && !TERMINAL_STATUSES.has(this.phase));
  }

  /** Submits a script (with optional standard input, kept open when `interactive`) and follows it. */
  async start(script: string, lang: string, langVersion: string, input: { stdin?: string; interactive?: boolean } = {}): Promise<void> {
    this.reset();
    this.phase = 'submitting';
    this.interactive = input.interactive === true;
    try {
      const res = await api.post<{ execution_id: string; status: ExecutionStatus }>('/execute', {
        json: {
          script,
          lang,
          lang_version: langVersion,
          ...(input.stdin ? { stdin: input.stdin } : {}),
          ...(input.interactive ? { interactive: true } : {}),
        },
        headers: { 'idempotency-key': crypto.randomUUID() },
      });
      this.executionId = res.execution_id;
      this.phase = res.status;
      this.follow(res.execution_id);
    } catch (err) {
      this.phase = 'idle';
      throw err;
    }
  }

  /** Follows an existing execution (re-opening a past run). */
  follow(id: string): void {
    this.executionId = id;
    this.source?.close();
    const source = new EventSource(`/api/v1/events/executions/${encodeURIComponent(id)}`, { withCredentials: true });
    this.source = source;
    source.onopen = () => {
      this.connection = 'live';
    };
    source.onmessage = (event: MessageEvent<string>) => this.onFrame(JSON.parse(event.data) as ExecutionFrame | OutputChunkFrame);
    source.onerror = () => {
      if (this.source !== source) return;
      if (source.readyState === EventSource.CLOSED) {
        this.connection = 'lost';
        void this.fetchResult();
      } else this.connection = 'reconnecting';
    };
  }

  /** Asks the server to stop the run. */
  async cancel(): Promise<void> {
    if (!this.executionId) return;
    this.cancelling = true;
    try {
      await api.post(`/executions/${encodeURIComponent(this.executionId)}/cancel`, { json: { reason: 'Cancelled from the editor' } });
    } catch (err) {
      this.cancelling = false;
      if (!(err instanceof ApiError && err.status === 400)) throw err;
    }
  }

  /** Sends a line (or end of input) to the running program. */
  async sendInput(data: string, eof = false): Promise<void> {
    if (!this.executionId) return;
    await api.post(`/executions/${encodeURIComponent(this.executionId)}/stdin`, { json: { data, eof } });
  }

  /** Stops following (page left). */
  dispose(): void {
    this.source?.close();
    this.source = null;
  }

  private reset(): void {
    this.dispose();
    this.executionId = null;
    this.result = null;
    this.liveChunks = 0;
    this.cancelling = false;
    this.connection = 'none';
    this.seen = new Set();
    this.output.clear();
  }

  private onFrame(frame: ExecutionFrame | OutputChunkFrame): void {
    if (frame.event_type === 'execution_output') {
      const chunk = frame as OutputChunkFrame;
      const key = `${chunk.stream}:${chunk.seq}`;
      if (this.seen.has(key)) return;
      this.seen.add(key);
      if (this.result === null) this.liveChunks++;
      this.output.append(chunk.stream, chunk.text);
      return;
    }
    const f = frame as ExecutionFrame;
    if (f.status && !(this.result && !TERMINAL_STATUSES.has(f.status))) this.phase = f.status;
    if (f.result) this.finish(f.result);
    if (CLOSING_EVENTS.has(f.event_type)) {
      this.dispose();
      this.connection = 'closed';
      if (!this.result) void this.fetchResult();
    }
  }

  private async fetchResult(): Promise<void> {
    if (!this.executionId) return;
    try {
      const result = await api.get<ExecutionResult>(`/executions/${encodeURIComponent(this.executionId)}/result`, { quiet: true });
      if (TERMINAL_STATUSES.has(result.status)) {
        this.dispose();
        this.connection = 'closed';
        this.finish(result);
      }
    } catch {
      // The stream reports the state; a failed look-up changes nothing.
    }
  }

  private finish(result: ExecutionResult): void {
    this.result = result;
    this.phase = result.status;
    this.cancelling = false;
    // The stored result is complete (capped): it replaces live output that missed or reordered anything.
    if (this.output.text('stdout') !== result.stdout || this.output.text('stderr') !== result.stderr) {
      this.output.clear();
      this.output.append('stdout', result.stdout);
      this.output.append('stderr', result.stderr);
    }
  }
}
