import { dispatch, spawn, stop, type Ref } from 'nact';
import { STREAM_CLOSING_EVENTS, type EventType } from '../../system/domain/events.js';
import type { ChannelFanout, FanoutListener } from '../../system/events/channel-fanout.js';
import type { StreamFrame } from '../../system/events/stream-frame.js';
import type { Unsubscribe } from '../../system/ports/fanout-bus.js';
import type { SseFrame, SseSink } from '../../system/services/types.js';
import type { LiveFrame, SseSessionMsg } from './messages.js';
import { contextOf, inSpan, sampledContextOf, SpanKind, tracer } from '../../system/events/trace-context.js';
import { instrumented } from '../supervision/instrumented.js';
import { compactIdleActor } from '../supervision/concrete.js';

/** What a session replays before going live: the status frame and what the client missed; terminal ends the stream. */
export interface Replay {
  frames: StreamFrame[];
  terminal: boolean;
  /** The execution's trace (its record's): the frame that ends the stream is a span in it. */
  traceparent?: string | null;
}

export interface SseSessionProps {
  sink: SseSink;
  /** The node's shared subscriptions and the channel of this execution's live frames. */
  channels: ChannelFanout<LiveFrame>;
  channel: string;
  /** Reads what the client has not seen yet (status frame, missed events); runs after the subscription is active. */
  replay: () => Promise<Replay>;
}

/** The actor's state: before the replay is written, live, or ended. */
type State = { status: 'replaying' | 'live' | 'ended'; session: SseSession };

let counter = 0;

/** Writes one frame; events carry `id:` so a client can resume; synthetic status frames do not. */
export function toSseFrame(frame: StreamFrame): SseFrame {
  const data = JSON.stringify(frame);
  return frame.event_type === 'status' ? { data } : { id: frame.event_id, data };
}

function closes(frame: StreamFrame): boolean {
  return STREAM_CLOSING_EVENTS.has(frame.event_type as EventType);
}

/**
 * One stream's session, and its listener on the channel. Live frames fanned out to every stream of a channel are
 * written here by the bus listener, not through the actor's mailbox: nact handles each message in its own
 * setImmediate with a fresh context, which for one frame to 20 000 sessions meant 20 000 turns of the event loop.
 * The mode is switched only by the actor's handler (buffer → direct once the replay is written, → off at the end);
 * the listener only appends to the buffer, or writes and advances `lastSent`, synchronously, so nothing can slip
 * between the replay and the first direct write.
 *
 * A class with methods rather than closures: one stream costs this object, its actor, and its transport.
 */
class SseSession implements FanoutListener<LiveFrame> {
  mode: 'buffer' | 'direct' | 'off' = 'buffer';
  buffered: LiveFrame[] | null = null;
  /** The id of the last event frame written; frames at or before it are duplicates of the replay. */
  lastSent: string | null = null;
  /** The execution's trace, from the replay; the closing frame's send is a span in it. */
  traceparent: string | null = null;
  unsubscribe: Unsubscribe | null = null;
  stopped = false;
  ref!: Ref<SseSessionMsg>;

  constructor(readonly sink: SseSink) {}

  /** A live frame from the channel (see the class comment). */
  deliver(live: LiveFrame): void {
    if (this.mode === 'buffer') {
      (this.buffered ??= []).push(live);
      return;
    }
    if (this.mode === 'off' || this.isDuplicate(live.frame)) return;
    this.lastSent = live.frame.event_id;
    if (!closes(live.frame)) return this.sink.sendEncoded(live.encoded);
    closingFanout(live, this.traceparent);
    // The session ends with this frame: it is stopped here rather than told through its mailbox, since a result
    // ends every stream of the execution at once (two mailbox turns each for 20 000 streams cost seconds). Its
    // afterStop turns delivery off and leaves the channel; the frame and the end of the body go out in one write.
    stop(this.ref);
    this.sink.endWith(live.encoded);
  }

  /**
   * Writes the replay, then what arrived meanwhile; true once a terminal frame went out. The replay is emptied as it
   * is written: nact keeps an actor's last handled message (its setImmediate) until the next one, and a client
   * joining a chatty run would otherwise keep all of the run's output so far alive for as long as it listens.
   */
  writeReplay(frames: StreamFrame[]): boolean {
    for (const frame of frames.splice(0)) if (this.write(frame, null)) return true;
    const buffered = this.buffered ?? [];
    this.buffered = null;
    for (const live of buffered) if (this.write(live.frame, live)) return true;
    return false;
  }

  /** Stops delivery and ends the stream. */
  end(): void {
    this.mode = 'off';
    this.buffered = null;
    this.sink.end();
  }

  /** Supervision: a crash ends this stream and its session; nothing else is affected. */
  crashed(_msg: unknown, _err: unknown, ctx: { stop: unknown }): unknown {
    this.end();
    return ctx.stop;
  }

  private write(frame: StreamFrame, live: LiveFrame | null): boolean {
    if (this.isDuplicate(frame)) return false;
    const send = () => (live ? this.sink.sendEncoded(live.encoded) : this.sink.send(toSseFrame(frame)));
    if (closes(frame)) this.traced(frame, send);
    else send();
    if (frame.event_type !== 'status') this.lastSent = frame.event_id;
    return closes(frame);
  }

  /** Sends the frame that ends the stream as a span of the execution's trace (when it has one). */
  private traced(frame: StreamFrame, send: () => void): void {
    const parent = contextOf(this.traceparent);
    if (!parent) return send();
    inSpan(`sse.frame ${frame.event_type}`, { kind: SpanKind.PRODUCER, parent, attributes: { 'execution.id': frame.execution_id, 'sse.event_id': frame.event_id } }, send);
  }

  private isDuplicate(frame: StreamFrame): boolean {
    return frame.event_type !== 'status' && this.lastSent !== null && frame.event_id <= this.lastSent;
  }
}

/**
 * The span of a closing frame's fan-out on this node: one for all the streams it ends (a result fanned out to 20 000
 * streams is one span, not 20 000), started by the first session to write it, ended once the synchronous fan-out
 * loop is done. Nothing when the execution's trace is not sampled.
 */
const closingSpans = new WeakMap<LiveFrame, { streams: number } | null>();
function closingFanout(live: LiveFrame, traceparent: string | null): void {
  const known = closingSpans.get(live);
  if (known !== undefined) {
    if (known) known.streams++;
    return;
  }
  const parent = sampledContextOf(traceparent);
  if (!parent) return void closingSpans.set(live, null);
  const { frame } = live;
  const span = tracer().startSpan(`sse.frame ${frame.event_type}`, { kind: SpanKind.PRODUCER, attributes: { 'execution.id': frame.execution_id, 'sse.event_id': frame.event_id } }, parent);
  const tally = { streams: 1 };
  closingSpans.set(live, tally);
  queueMicrotask(() => {
    span.setAttribute('sse.streams', tally.streams);
    span.end();
  });
}

/** The session's transition, shared by every session (the session object travels in the state). */
function handle(state: State, msg: SseSessionMsg, ctx: { self: Ref<SseSessionMsg> }): State {
  const { session } = state;
  const end = (): State => {
    session.end();
    stop(ctx.self);
    return { status: 'ended', session };
  };
  switch (msg.type) {
    case 'Replayed':
      if (state.status !== 'replaying') return state;
      if (session.writeReplay(msg.frames) || msg.terminal) return end();
      session.mode = 'direct';
      // From here the session idles until its stream ends, often for minutes, one of thousands.
      compactIdleActor(ctx.self);
      return { status: 'live', session };
    case 'ReplayFailed':
    case 'ClientGone':
      return state.status === 'ended' ? state : end();
  }
}

/** One wrapper for every session (a wrapper per spawn would be one more closure per open stream). */
const sessionBehaviour = instrumented('session', handle);

function afterStop(state: State): void {
  const { session } = state;
  session.stopped = true;
  session.mode = 'off';
  void session.unsubscribe?.();
}

/**
 * Spawns one SSE session: subscribes to the execution's frames, writes the replay, then live frames in order
 * without duplicates, and ends after a terminal frame or when the client goes away.
 */
export function spawnSseSession(parent: Ref<unknown>, props: SseSessionProps): Ref<SseSessionMsg> {
  const session = new SseSession(props.sink);
  const ref = spawn(parent as Ref<never>, sessionBehaviour, `session-${++counter}`, {
    initialState: { status: 'replaying', session } as State,
    onCrash: session.crashed.bind(session) as never,
    afterStop,
  }) as Ref<SseSessionMsg>;
  session.ref = ref;
  props.sink.onClosed(() => dispatch(ref, { type: 'ClientGone' }));
  void start(session, props);
  return ref;
}

async function start(session: SseSession, props: SseSessionProps): Promise<void> {
  try {
    session.unsubscribe = await props.channels.subscribe(props.channel, session);
    if (session.stopped) return void session.unsubscribe();
    const { frames, terminal, traceparent } = await props.replay();
    session.traceparent = traceparent ?? null;
    dispatch(session.ref, { type: 'Replayed', frames, terminal });
  } catch (err) {
    dispatch(session.ref, { type: 'ReplayFailed', message: String(err) });
  }
}
