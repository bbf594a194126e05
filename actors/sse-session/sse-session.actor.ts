import { dispatch, spawn, stop, type Ref } from 'nact';
import { STREAM_CLOSING_EVENTS, type EventType } from '../../system/domain/events.js';
import type { StreamFrame } from '../../system/events/stream-frame.js';
import type { SseFrame, SseSink } from '../../system/services/types.js';
import type { SseSessionMsg } from './messages.js';

/** Before the replay is written, live frames wait; after it, they go straight out. */
type State =
  | { status: 'replaying'; buffered: StreamFrame[]; lastSent: string | null }
  | { status: 'live'; lastSent: string | null }
  | { status: 'ended' };

export interface SseSessionProps {
  sink: SseSink;
  /** Subscribes to the execution's live frames; resolves to the unsubscribe function once active. */
  subscribe: (onFrame: (frame: StreamFrame) => void) => Promise<() => Promise<void>>;
  /** Reads what the client has not seen yet (status frame, missed events); runs after the subscription is active. */
  replay: () => Promise<{ frames: StreamFrame[]; terminal: boolean }>;
}

let counter = 0;

/** Writes one frame; events carry `id:` so a client can resume; synthetic status frames do not. */
export function toSseFrame(frame: StreamFrame): SseFrame {
  const data = JSON.stringify(frame);
  return frame.event_type === 'status' ? { data } : { id: frame.event_id, data };
}

const closes = (frame: StreamFrame) => STREAM_CLOSING_EVENTS.has(frame.event_type as EventType);

/**
 * Spawns one SSE session: subscribes to the execution's frames, writes the replay, then live frames in order
 * without duplicates, and ends after a terminal frame or when the client goes away.
 */
export function spawnSseSession(parent: Ref<unknown>, props: SseSessionProps): Ref<SseSessionMsg> {
  const { sink } = props;
  let unsubscribe: (() => Promise<void>) | undefined;
  let finished = false;

  const send = (state: { lastSent: string | null }, frames: StreamFrame[]): { lastSent: string | null; done: boolean } => {
    let lastSent = state.lastSent;
    for (const frame of frames) {
      if (frame.event_type !== 'status' && lastSent !== null && frame.event_id <= lastSent) continue;
      sink.send(toSseFrame(frame));
      if (frame.event_type !== 'status') lastSent = frame.event_id;
      if (closes(frame)) return { lastSent, done: true };
    }
    return { lastSent, done: false };
  };

  const ref = spawn(
    parent as Ref<never>,
    (state: State, msg: SseSessionMsg, ctx): State => {
      const end = (): State => {
        sink.end();
        stop(ctx.self);
        return { status: 'ended' };
      };
      switch (msg.type) {
        case 'Live':
          if (state.status === 'replaying') return { ...state, buffered: [...state.buffered, msg.frame] };
          if (state.status === 'live') {
            const r = send(state, [msg.frame]);
            return r.done ? end() : { status: 'live', lastSent: r.lastSent };
          }
          return state;
        case 'Replayed': {
          if (state.status !== 'replaying') return state;
          const r = send(state, [...msg.frames, ...state.buffered]);
          return r.done || msg.terminal ? end() : { status: 'live', lastSent: r.lastSent };
        }
        case 'ReplayFailed':
        case 'ClientGone':
          return state.status === 'ended' ? state : end();
      }
    },
    `session-${++counter}`,
    {
      initialState: { status: 'replaying', buffered: [], lastSent: null } as State,
      onCrash: (_m, _e, ctx) => {
        sink.end();
        return ctx.stop;
      },
      afterStop: () => {
        finished = true;
        void unsubscribe?.();
      },
    },
  );

  sink.onClosed(() => dispatch(ref, { type: 'ClientGone' }));
  props
    .subscribe((frame) => dispatch(ref, { type: 'Live', frame }))
    .then(async (unsub) => {
      unsubscribe = unsub;
      if (finished) return void unsub();
      const { frames, terminal } = await props.replay();
      dispatch(ref, { type: 'Replayed', frames, terminal });
    })
    .catch((err: unknown) => dispatch(ref, { type: 'ReplayFailed', message: String(err) }));
  return ref;
}
