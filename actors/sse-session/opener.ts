import { spawnStateless, type Ref } from 'nact';
import { STREAM_HIDDEN_EVENTS } from '../../system/domain/events.js';
import { isTerminal, toExecutionResult } from '../../system/domain/execution.js';
import { byEventId, executionChannel, toOutputFrame, toStreamFrame, type StreamFrame } from '../../system/events/stream-frame.js';
import type { FanoutBus } from '../../system/ports/fanout-bus.js';
import type { StreamOpener } from '../../system/services/stream-opener.js';
import type { EventStore } from '../../system/stores/event-store.js';
import type { ExecutionStore } from '../../system/stores/execution-store.js';
import type { OutputStore } from '../../system/stores/output-store.js';
import { spawnSseSession } from './sse-session.actor.js';

export interface SseDeps {
  bus: FanoutBus;
  executions: ExecutionStore;
  events: EventStore;
  /** Live output published so far, for clients that join or resume a running stream. */
  output: OutputStore;
}

/** The `sse` branch of the supervision tree: one session actor per open execution stream. */
export function createSseBranch(root: Ref<unknown>, deps: SseDeps): StreamOpener & { count(): number } {
  const branch = spawnStateless(root as Ref<never>, () => undefined, 'sse') as Ref<unknown>;
  let open = 0;

  const replay = async (id: string, lastEventId: string | null): Promise<{ frames: StreamFrame[]; terminal: boolean }> => {
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
      return { frames: [status, ...frames], terminal: isTerminal(record.status) };
    }
    if (!isTerminal(record.status)) {
      // The record could not be finished but the failure was announced: end the stream with it.
      const failed = (await deps.events.forAggregate(id, { eventTypes: ['result_failed'] })).at(-1);
      if (failed) return { frames: [status, withResult(failed)], terminal: true };
      // A client joining a run gets its output so far (the final result will carry all of it anyway).
      const output = await deps.output.after(id, null);
      return { frames: [status, ...output.map(toOutputFrame)], terminal: false };
    }
    const stored = (await deps.events.forAggregate(id, { eventTypes: ['result_stored'] })).at(-1);
    const final: StreamFrame = stored
      ? withResult(stored)
      : { ...status, event_type: 'result_stored', event_id: '', result };
    return { frames: [status, final], terminal: true };
  };

  return {
    open(id, lastEventId, sink) {
      open++;
      sink.onClosed(() => open--);
      spawnSseSession(branch, {
        sink,
        subscribe: (onFrame) => deps.bus.subscribe(executionChannel(id), (payload) => onFrame(JSON.parse(payload) as StreamFrame)),
        replay: () => replay(id, lastEventId),
      });
    },
    count: () => open,
  };
}
