import { spawnStateless, type Ref } from 'nact';
import { STREAM_HIDDEN_EVENTS } from '../../system/domain/events.js';
import { isTerminal, toExecutionResult } from '../../system/domain/execution.js';
import { byEventId, executionChannel, toOutputFrame, toStreamFrame, type StreamFrame } from '../../system/events/stream-frame.js';
import { createChannelFanout } from '../../system/events/channel-fanout.js';
import type { FanoutBus } from '../../system/ports/fanout-bus.js';
import { encodeFrame } from '../../system/services/sse-encoding.js';
import type { StreamOpener } from '../../system/services/stream-opener.js';
import type { EventStore } from '../../system/stores/event-store.js';
import type { ExecutionStore } from '../../system/stores/execution-store.js';
import type { OutputStore } from '../../system/stores/output-store.js';
import type { LiveFrame } from './messages.js';
import { spawnSseSession, type Replay } from './sse-session.actor.js';

export interface SseDeps {
  bus: FanoutBus;
  executions: ExecutionStore;
  events: EventStore;
  /** Live output published so far, for clients that join or resume a running stream. */
  output: OutputStore;
  /** Told about bus payloads that are not frames and listeners that threw. */
  onError?: (error: unknown, channel: string) => void;
}

/**
 * A bus payload as every local stream gets it: the publishers send the frame's JSON, which is also the frame's
 * `data:`, so it is parsed once (for the session's order and end checks) and never serialised again.
 */
export function decodeLiveFrame(payload: string): LiveFrame {
  const frame = JSON.parse(payload) as Partial<StreamFrame> | null;
  if (!frame || typeof frame.event_id !== 'string' || typeof frame.event_type !== 'string') throw new Error('not a stream frame');
  return { frame: frame as StreamFrame, encoded: encodeFrame({ id: frame.event_id, data: payload }) };
}

/**
 * The `sse` branch of the supervision tree: one session actor per open execution stream, and one bus subscription
 * per execution channel on this node shared by all of that execution's local sessions.
 */
export function createSseBranch(root: Ref<unknown>, deps: SseDeps): StreamOpener & { channels(): number } {
  const branch = spawnStateless(root as Ref<never>, () => undefined, 'sse') as Ref<unknown>;
  const channels = createChannelFanout(deps.bus, { decode: decodeLiveFrame, ...(deps.onError ? { onError: deps.onError } : {}) });

  const replay = async (id: string, lastEventId: string | null): Promise<Replay> => {
    const record = await deps.executions.get(id);
    if (!record) return { frames: [], terminal: true };
    const status: StreamFrame = {
      event_type: 'status',
      execution_id: id,
      timestamp: new Date().toISOString(),
      event_id: '',
      status: record.status,
      result: null,
    };
    const result = isTerminal(record.status) ? toExecutionResult(record) : null;
    const withResult = (e: Parameters<typeof toStreamFrame>[0]) => toStreamFrame(e, e.event_type === 'result_stored' ? result : null);
    if (lastEventId) {
      // Events and output pieces share one order (their ids), so one id says where the client left both.
      const [missed, output] = await Promise.all([deps.events.forAggregate(id, { afterEventId: lastEventId }), deps.output.after(id, lastEventId)]);
      const shown = missed.filter((e) => !STREAM_HIDDEN_EVENTS.has(e.event_type));
      const frames = [...shown.map(withResult), ...output.map(toOutputFrame)].sort(byEventId);
      return { frames: [status, ...frames], terminal: isTerminal(record.status), traceparent: record.traceparent };
    }
    if (!isTerminal(record.status)) {
      // The record could not be finished but the failure was announced: end the stream with it.
      const failed = (await deps.events.forAggregate(id, { eventTypes: ['result_failed'] })).at(-1);
      if (failed) return { frames: [status, withResult(failed)], terminal: true, traceparent: record.traceparent };
      // A client joining a run gets its output so far (the final result will carry all of it anyway).
      const output = await deps.output.after(id, null);
      return { frames: [status, ...output.map(toOutputFrame)], terminal: false, traceparent: record.traceparent };
    }
    const stored = (await deps.events.forAggregate(id, { eventTypes: ['result_stored'] })).at(-1);
    const final: StreamFrame = stored
      ? withResult(stored)
      : { ...status, event_type: 'result_stored', event_id: '', result };
    return { frames: [status, final], terminal: true, traceparent: record.traceparent };
  };

  return {
    open(id, lastEventId, sink) {
      spawnSseSession(branch, { sink, channels, channel: executionChannel(id), replay: () => replay(id, lastEventId) });
    },
    channels: () => channels.channels(),
  };
}
