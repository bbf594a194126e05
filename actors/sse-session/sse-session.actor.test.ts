import { start, stop, type Ref } from 'nact';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SpanLine } from '../../system/telemetry/span-file-exporter.js';
import { startTracing } from '../../system/telemetry/tracing.js';
import { createTempDir } from '../../test/support/temp-dir.js';
import { createInProcessBus } from '../../system/embedded/fanout-bus.js';
import { createChannelFanout } from '../../system/events/channel-fanout.js';
import type { StreamFrame } from '../../system/events/stream-frame.js';
import type { EncodedSseFrame } from '../../system/services/sse-encoding.js';
import type { SseFrame, SseSink } from '../../system/services/types.js';
import { decodeLiveFrame } from './opener.js';
import { spawnSseSession, type Replay } from './sse-session.actor.js';

/** A sink that records what was written, in order, as text. */
class RecordingSink implements SseSink {
  written: string[] = [];
  encoded: EncodedSseFrame[] = [];
  ended = 0;
  closed = false;
  private listeners: Array<() => void> = [];
  send(frame: SseFrame): void {
    if (!this.closed) this.written.push(frame.data);
  }
  sendEncoded(frame: EncodedSseFrame): void {
    if (this.closed) return;
    this.encoded.push(frame);
    this.written.push(/data: (.*)\n/.exec(frame.bytes.toString())![1]!);
  }
  end(): void {
    if (this.closed) return;
    this.ended++;
    this.close();
  }
  endWith(frame: EncodedSseFrame): void {
    this.sendEncoded(frame);
    this.end();
  }
  close(): void {
    this.closed = true;
    for (const l of this.listeners.splice(0)) l();
  }
  onClosed(listener: () => void): void {
    if (this.closed) listener();
    else this.listeners.push(listener);
  }
  types(): string[] {
    return this.written.map((d) => (JSON.parse(d) as StreamFrame).event_type);
  }
}

const frame = (event_id: string, event_type = 'execution_output'): StreamFrame =>
  ({ event_type, execution_id: 'e1', timestamp: '2026-01-01T00:00:00.000Z', event_id, status: 'running', result: null }) as StreamFrame;
const status = frame('', 'status');
const tick = () => new Promise((r) => setTimeout(r, 10));

let system: Ref<unknown> | null = null;
afterEach(() => {
  if (system) stop(system);
  system = null;
});

function setup(replay: () => Promise<Replay>) {
  system = start() as Ref<unknown>;
  const bus = createInProcessBus();
  const channels = createChannelFanout(bus, { decode: decodeLiveFrame });
  const publish = (f: StreamFrame) => bus.publish('execution:e1', JSON.stringify(f));
  const open = () => {
    const sink = new RecordingSink();
    spawnSseSession(system!, { sink, channels, channel: 'execution:e1', replay });
    return sink;
  };
  return { publish, open, channels };
}

describe('SSE session', () => {
  it('writes the replay, then frames that arrived meanwhile without duplicates, then live frames; ends after the terminal frame and leaves the channel', async () => {
    let release!: (r: Replay) => void;
    const { publish, open, channels } = setup(() => new Promise((r) => (release = r)));
    const sink = open();
    await tick();
    expect(channels.channels()).toBe(1);
    // Published while the replay is being read: one of them is also in the replay.
    await publish(frame('02'));
    await publish(frame('03'));
    const replayed = [status, frame('01'), frame('02')];
    release({ frames: replayed, terminal: false });
    await tick();
    // Nothing of the replay stays referenced by the message nact keeps after handling it.
    expect(replayed).toEqual([]);
    expect(sink.written.map((d) => (JSON.parse(d) as StreamFrame).event_id)).toEqual(['', '01', '02', '03']);
    await publish(frame('04'));
    await publish(frame('03'));
    await publish(frame('05', 'result_stored'));
    await publish(frame('06'));
    await tick();
    expect(sink.written.map((d) => (JSON.parse(d) as StreamFrame).event_id)).toEqual(['', '01', '02', '03', '04', '05']);
    expect(sink.ended).toBe(1);
    expect(channels.channels()).toBe(0);
  });

  it('every stream of a channel writes the same serialised bytes', async () => {
    const { publish, open } = setup(async () => ({ frames: [status], terminal: false }));
    const sinks = [open(), open(), open()];
    await tick();
    await publish(frame('10'));
    expect(sinks.every((s) => s.encoded.length === 1 && s.encoded[0] === sinks[0]!.encoded[0])).toBe(true);
  });

  it('a terminal replay ends the stream at once; a client that leaves ends the session and its subscription', async () => {
    const done = setup(async () => ({ frames: [status, frame('07', 'result_stored')], terminal: true }));
    const finished = done.open();
    await tick();
    expect(finished.types()).toEqual(['status', 'result_stored']);
    expect(finished.ended).toBe(1);

    const live = setup(async () => ({ frames: [status], terminal: false }));
    const leaving = live.open();
    await tick();
    expect(live.channels.channels()).toBe(1);
    leaving.close();
    await tick();
    expect(live.channels.channels()).toBe(0);
    await live.publish(frame('08'));
    expect(leaving.types()).toEqual(['status']);
  });

  it('a closing frame fanned out to many streams is one span on the node, with the number of streams', async () => {
    const dir = await createTempDir('integr8s-sse-span-');
    const file = join(dir.path, 'spans.jsonl');
    const tracing = startTracing({ nodeId: 'sse-unit', mode: 'embedded', sampling: { enabled: true, ratio: 1 }, spansFile: file });
    let stopped = false;
    try {
      const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      const { publish, open } = setup(async () => ({ frames: [status], terminal: false, traceparent }));
      const sinks = [open(), open(), open(), open()];
      await tick();
      await publish(frame('20', 'result_stored'));
      await tick();
      expect(sinks.every((s) => s.ended === 1)).toBe(true);
      await tracing.shutdown();
      stopped = true;
      const spans = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SpanLine).filter((l) => l.name === 'sse.frame result_stored');
      expect(spans).toHaveLength(1);
      expect(spans[0]).toMatchObject({ trace_id: '0af7651916cd43dd8448eb211c80319c', parent_span_id: 'b7ad6b7169203331' });
      expect(spans[0]!.attributes['sse.streams']).toBe(4);
    } finally {
      if (!stopped) await tracing.shutdown();
      await dir.cleanup();
    }
  });
});
