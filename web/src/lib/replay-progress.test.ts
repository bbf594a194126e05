import { describe, expect, it } from 'vitest';
import { ReplayProgress, replayPercent, type EventSourceLike } from './replay-progress.svelte';

/** An EventSource stand-in that records what was opened and lets the test deliver frames. */
class RecordingSource implements EventSourceLike {
  static opened: RecordingSource[] = [];
  readyState = 1;
  closed = false;
  onerror: EventSourceLike['onerror'] = null;
  private listeners = new Map<string, Array<(ev: MessageEvent<string>) => void>>();
  constructor(readonly url: string) {
    RecordingSource.opened.push(this);
  }
  addEventListener(type: string, listener: (ev: MessageEvent<string>) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  close(): void {
    this.closed = true;
    this.readyState = 2;
  }
  emit(data: unknown, type = 'message'): void {
    for (const l of this.listeners.get(type) ?? []) l(new MessageEvent(type, { data: typeof data === 'string' ? data : JSON.stringify(data) }));
  }
  fail(readyState: number): void {
    this.readyState = readyState;
    this.onerror?.call(this as unknown as EventSource, new Event('error'));
  }
}

const snap = (status: string, replayed: number, extra: Record<string, unknown> = {}) => ({
  session_id: 's1',
  status,
  total_events: 4,
  replayed_events: replayed,
  failed_events: 0,
  skipped_events: 0,
  ...extra,
});

function follow(): { progress: ReplayProgress; source: RecordingSource } {
  RecordingSource.opened = [];
  const progress = new ReplayProgress((url) => new RecordingSource(url));
  progress.follow('s1');
  return { progress, source: RecordingSource.opened[0]! };
}

describe('ReplayProgress', () => {
  it('opens the session status stream and shows each snapshot until a terminal one, then closes', () => {
    const { progress, source } = follow();
    expect(source.url).toBe('/api/v1/admin/events/replay/s1/status');
    expect(progress.connection).toBe('live');
    source.emit(snap('running', 1));
    expect(progress.session?.status).toBe('running');
    expect(progress.percent).toBe(25);
    source.emit(snap('running', 3), 'progress');
    expect(progress.percent).toBe(75);
    expect(source.closed).toBe(false);
    source.emit(snap('completed', 4));
    expect(progress.finished).toBe(true);
    expect(progress.percent).toBe(100);
    expect(progress.frames).toBe(3);
    expect(source.closed).toBe(true);
    expect(progress.connection).toBe('closed');
  });

  it('ignores frames that are not snapshots and frames of a stream it left', () => {
    const { progress, source } = follow();
    source.emit('not json');
    source.emit({ hello: 1 });
    expect(progress.session).toBeNull();
    progress.follow('s2');
    expect(source.closed).toBe(true);
    source.emit(snap('running', 2));
    expect(progress.session).toBeNull();
    expect(RecordingSource.opened.at(-1)!.url).toBe('/api/v1/admin/events/replay/s2/status');
  });

  it('says reconnecting while the browser retries, and closed when it gives up', () => {
    const { progress, source } = follow();
    source.fail(0);
    expect(progress.connection).toBe('reconnecting');
    source.emit(snap('paused', 2));
    expect(progress.connection).toBe('live');
    source.fail(2);
    expect(progress.connection).toBe('closed');
  });
});

describe('replayPercent', () => {
  it('prefers the server figure, else counts replayed, failed and skipped', () => {
    expect(replayPercent({ ...snap('running', 1), progress_percentage: 62.5 })).toBe(62.5);
    expect(replayPercent({ ...snap('running', 1), failed_events: 1, skipped_events: 1 })).toBe(75);
    expect(replayPercent({ ...snap('completed', 0), total_events: 0 })).toBe(100);
    expect(replayPercent({ ...snap('running', 0), total_events: 0 })).toBe(0);
  });
});
