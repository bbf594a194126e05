/**
 * One replay session followed live: the snapshots of `GET /admin/events/replay/{id}/status` (SSE) as state, the
 * percentage done, and the stream closed once the session reaches a terminal status. EventSource reconnects by
 * itself when the stream drops before that; every snapshot is complete, so nothing needs resuming.
 */
import { replayStatusUrl } from './api/operations';
import { REPLAY_TERMINAL_STATUSES, type ReplaySession } from './api/types';

/** The part of EventSource this uses (a seam for tests). */
export interface EventSourceLike {
  readonly readyState: number;
  onerror: ((this: EventSource, ev: Event) => unknown) | null;
  addEventListener(type: string, listener: (ev: MessageEvent<string>) => void): void;
  close(): void;
}

/** Names a snapshot may be sent under: the default `message` or a named event. */
const FRAME_EVENTS = ['message', 'status', 'progress', 'replay', 'replay_status'];

export type ReplayConnection = 'none' | 'live' | 'reconnecting' | 'closed';

/** Percent of a session's events handled (replayed, failed or skipped), 0–100. */
export function replayPercent(s: Pick<ReplaySession, 'total_events' | 'replayed_events' | 'failed_events' | 'skipped_events' | 'progress_percentage' | 'status'>): number {
  if (typeof s.progress_percentage === 'number' && Number.isFinite(s.progress_percentage)) return clamp(s.progress_percentage);
  if (s.total_events <= 0) return s.status === 'completed' ? 100 : 0;
  return clamp(((s.replayed_events + (s.failed_events ?? 0) + (s.skipped_events ?? 0)) / s.total_events) * 100);
}

const clamp = (n: number) => Math.max(0, Math.min(100, Math.round(n * 10) / 10));

/** Follows one replay session's progress stream. */
export class ReplayProgress {
  session = $state<ReplaySession | null>(null);
  connection = $state<ReplayConnection>('none');
  /** How many snapshots arrived (a test and the view can tell a live stream from a single answer). */
  frames = $state(0);
  private source: EventSourceLike | null = null;

  constructor(private readonly open: (url: string) => EventSourceLike = (url) => new EventSource(url)) {}

  get percent(): number {
    return this.session ? replayPercent(this.session) : 0;
  }

  get finished(): boolean {
    return this.session !== null && REPLAY_TERMINAL_STATUSES.has(this.session.status);
  }

  /** Starts following a session (stops following any other). */
  follow(sessionId: string): void {
    this.stop();
    this.session = null;
    this.frames = 0;
    const source = this.open(replayStatusUrl(sessionId));
    this.source = source;
    this.connection = 'live';
    const onFrame = (ev: MessageEvent<string>) => {
      if (this.source !== source) return;
      let snapshot: ReplaySession;
      try {
        snapshot = JSON.parse(ev.data) as ReplaySession;
      } catch {
        return;
      }
      if (!snapshot || typeof snapshot !== 'object' || typeof snapshot.status !== 'string') return;
      this.session = { ...snapshot, session_id: snapshot.session_id ?? sessionId };
      this.frames++;
      this.connection = 'live';
      if (REPLAY_TERMINAL_STATUSES.has(snapshot.status)) this.close();
    };
    for (const name of FRAME_EVENTS) source.addEventListener(name, onFrame);
    source.onerror = () => {
      if (this.source !== source) return;
      // CLOSED (2): the browser gave up (e.g. a 4xx); CONNECTING (0): it is trying again by itself.
      if (source.readyState === 2) this.close();
      else this.connection = 'reconnecting';
    };
  }

  /** Takes a snapshot fetched another way (e.g. a pause or resume answer) as the current state. */
  apply(snapshot: ReplaySession): void {
    this.session = snapshot;
  }

  /** Stops following. */
  stop(): void {
    this.close();
    this.connection = 'none';
  }

  private close(): void {
    this.source?.close();
    this.source = null;
    this.connection = 'closed';
  }
}
