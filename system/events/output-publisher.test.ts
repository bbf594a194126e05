import { describe, expect, it } from 'vitest';
import { newEventId } from '../domain/events.js';
import { createSqliteDocumentStore } from '../embedded/document-store.js';
import { createInProcessBus } from '../embedded/fanout-bus.js';
import { openDataDir } from '../embedded/sqlite.js';
import type { FanoutBus } from '../ports/fanout-bus.js';
import { OutputStore } from '../stores/output-store.js';
import { createTempDir } from '../../test/support/temp-dir.js';
import { OutputPublisher } from './output-publisher.js';
import { executionChannel, type OutputFrame } from './stream-frame.js';

async function parts() {
  const dir = await createTempDir();
  const store = createSqliteDocumentStore(openDataDir(dir.path));
  const bus = createInProcessBus();
  return {
    output: new OutputStore(store),
    bus,
    async cleanup() {
      await bus.close();
      await store.close();
      await dir.cleanup();
    },
  };
}
const piece = (text: string, stream: 'stdout' | 'stderr' = 'stdout') => ({ stream, text, truncated: false });

describe('OutputPublisher', () => {
  it('stores each piece and sends its frame on the execution channel, with ids after the events before it', async () => {
    const p = await parts();
    const sent: OutputFrame[] = [];
    await p.bus.subscribe(executionChannel('e1'), (payload) => sent.push(JSON.parse(payload) as OutputFrame));
    const publisher = new OutputPublisher(p.output, p.bus);
    const before = newEventId();
    const a = await publisher.publish({ executionId: 'e1', attempt: 1, seq: 1 }, piece('a'));
    const b = await publisher.publish({ executionId: 'e1', attempt: 1, seq: 2 }, piece('é', 'stderr'));
    expect(sent).toEqual([a, b]);
    expect(a).toMatchObject({ event_type: 'execution_output', execution_id: 'e1', status: 'running', result: null, seq: 1, stream: 'stdout', text: 'a' });
    expect(before < a.event_id && a.event_id < b.event_id).toBe(true);
    expect((await p.output.after('e1', null)).map((x) => x.event_id)).toEqual([a.event_id, b.event_id]);
    expect((await p.output.after('e1', a.event_id)).map((x) => x.text)).toEqual(['é']);
    expect(await p.output.after('e2', null)).toEqual([]);
    expect(await publisher.position('e1', 1)).toEqual({ seq: 2, bytes: { stdout: 1, stderr: 2 } });
    expect(await publisher.position('e1', 2)).toEqual({ seq: 2, bytes: { stdout: 0, stderr: 0 } });
    await p.cleanup();
  });

  it('a bus that is down is reported and does not fail the publish: the piece is stored for resuming clients', async () => {
    const p = await parts();
    const faults: string[] = [];
    const down: FanoutBus = { ...p.bus, publish: async () => Promise.reject(new Error('redis is down')) };
    const publisher = new OutputPublisher(p.output, down, (err) => faults.push((err as Error).message));
    const frame = await publisher.publish({ executionId: 'e1', attempt: 1, seq: 1 }, piece('kept'));
    expect(faults).toEqual(['redis is down']);
    expect((await p.output.after('e1', null)).map((x) => x.event_id)).toEqual([frame.event_id]);
    await p.cleanup();
  });

  it('pieces expire from the buffer after the retention period', async () => {
    const p = await parts();
    await p.output.append({ ...piece('old'), event_id: newEventId(), execution_id: 'e1', attempt: 1, seq: 1, timestamp: new Date(0).toISOString() }, 0);
    expect(await p.output.after('e1', null)).toEqual([]);
    await p.cleanup();
  });
});
