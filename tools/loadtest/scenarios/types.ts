import type { HttpClient, Transport } from '../http-client.js';
import type { Options } from '../options.js';
import type { Rng } from '../rng.js';
import type { Recorder } from '../stats.js';

/** The API prefix every route lives under. */
export const API = '/api/v1';

/** What a scenario gets from the runner. */
export interface RunContext {
  options: Options;
  transport: Transport;
  recorder: Recorder;
  /** Seeded from --seed; scenarios fork it per worker. */
  rng: Rng;
  /** Aborts when the duration is over: start nothing new. */
  stop: AbortSignal;
  /** Aborts when in-flight work must end too (the duration plus any drain time). */
  hard: AbortSignal;
  /** `performance.now()` when the load started (after setup). */
  startedAt: number;
  /** `performance.now()` when new work must stop. */
  deadline: number;
  now(): number;
  /** Sleeps, but wakes early (resolving false) when the duration is over. */
  sleep(ms: number): Promise<boolean>;
  /** A new virtual user with its own cookie jar. */
  newClient(): HttpClient;
  /** The signed-in admin, when --username/--password were given. */
  admin: HttpClient | null;
  /** A short id unique to this run (user names). */
  runId: string;
  /** Prints a line above the progress bar. */
  log(line: string): void;
  /** Sets a value shown on the progress line. */
  setProgress(key: string, value: number | string): void;
}

/** What a scenario hands back: its own figures for the report, and how many real failures it saw. */
export interface ScenarioResult {
  /** Mode-specific figures (JSON), shown in the report under `scenario`. */
  summary: Record<string, unknown>;
  /** Failures that make the run fail (exit code 1): monkey 5xx/resets/hangs, SSE loss. */
  failures: number;
  /** Why the run failed, one line each. */
  reasons: string[];
}

export interface Scenario {
  /** Work before the clock starts (accounts, discovery). Requests here should be `unrecorded`. */
  setup?(ctx: RunContext): Promise<void>;
  /** The load itself; must return soon after `ctx.stop` (or `ctx.hard` for work it drains). */
  run(ctx: RunContext): Promise<ScenarioResult>;
}
