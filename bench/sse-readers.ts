/**
 * The reading side of bench:sse, spread over worker threads: each worker holds its share of the raw SSE streams
 * (test/support/raw-sse.ts) and records, per stream, when each frame arrived and how late it was (receipt minus the
 * frame's own timestamp). One reading thread is the bottleneck of a fan-out to 20 000 streams on this machine (it
 * receives them one socket at a time while the node sends them); several read in parallel, as many clients would.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { openRawSse, type RawSse } from '../test/support/raw-sse.js';

/** What one stream saw. `frames`: event id → receipt time (epoch ms), for frames other than the status frame. */
export interface StreamTally {
  frames: Map<string, number>;
  /** Latency of each `execution_output` frame, in ms. */
  latencies: number[];
  ended: boolean;
  refused: boolean;
}

interface OpenRequest {
  kind: 'open';
  port: number;
  path: string;
  headers: Record<string, string>;
  count: number;
  /** Tallies go to this group, so phases can be read apart. */
  group: string;
}
type ToWorker = OpenRequest | { kind: 'collect' | 'count' | 'close'; group: string };
type WireTally = { frames: Array<[string, number]>; latencies: number[]; ended: boolean; refused: boolean };
type Counts = { open: number; ended: number; withOutput: number };
type FromWorker = { kind: 'opened' } | { kind: 'tallies'; tallies: WireTally[] } | ({ kind: 'counted' } & Counts) | { kind: 'closed' };

/** Worker threads reading SSE streams; `open` spreads a batch of streams over them. */
export class SseReaderPool {
  private constructor(private readonly workers: Worker[]) {}

  static async start(threads: number): Promise<SseReaderPool> {
    // The workers run this same TypeScript file: they register tsx's loader first, as the bench's own thread has.
    const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}); })`;
    const workers = Array.from({ length: threads }, () => new Worker(boot, { eval: true, workerData: { reader: true } }));
    for (const w of workers) {
      w.on('error', (err) => {
        console.error('SSE reader thread failed:', err);
        process.exit(1);
      });
    }
    await Promise.all(workers.map((w) => new Promise((resolve) => w.once('online', resolve))));
    return new SseReaderPool(workers);
  }

  /** Opens `count` streams (split over the workers); resolves once each got its first frame or was refused. */
  async open(port: number, path: string, headers: Record<string, string>, count: number, group: string): Promise<void> {
    await Promise.all(
      this.workers.map((w, i) => {
        const share = Math.floor(count / this.workers.length) + (i < count % this.workers.length ? 1 : 0);
        return share === 0 ? undefined : this.ask(w, { kind: 'open', port, path, headers, count: share, group });
      }),
    );
  }

  /** What every stream of `group` saw so far. */
  async collect(group: string): Promise<StreamTally[]> {
    const replies = await Promise.all(this.workers.map((w) => this.ask(w, { kind: 'collect', group })));
    return replies.flatMap((r) => (r.kind === 'tallies' ? r.tallies : [])).map((t) => ({ ...t, frames: new Map(t.frames) }));
  }

  /** How many streams of `group` are open, ended, and got an output frame (cheap enough to poll). */
  async count(group: string): Promise<Counts> {
    const replies = await Promise.all(this.workers.map((w) => this.ask(w, { kind: 'count', group })));
    const total: Counts = { open: 0, ended: 0, withOutput: 0 };
    for (const r of replies) {
      if (r.kind !== 'counted') continue;
      total.open += r.open;
      total.ended += r.ended;
      total.withOutput += r.withOutput;
    }
    return total;
  }

  /** Closes the streams of `group`. */
  async close(group: string): Promise<void> {
    await Promise.all(this.workers.map((w) => this.ask(w, { kind: 'close', group })));
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private ask(worker: Worker, msg: ToWorker): Promise<FromWorker> {
    return new Promise((resolve) => {
      worker.once('message', resolve);
      worker.postMessage(msg);
    });
  }
}

/** The worker: opens streams on request, 256 connecting at a time, and reports what they saw. */
function serve(): void {
  const port = parentPort!;
  const groups = new Map<string, Array<{ tally: StreamTally; stream: RawSse }>>();
  port.on('message', (msg: ToWorker) => {
    if (msg.kind === 'open') void openAll(msg).then(() => port.postMessage({ kind: 'opened' } satisfies FromWorker));
    else if (msg.kind === 'collect') {
      const tallies = (groups.get(msg.group) ?? []).map(({ tally }) => ({ ...tally, frames: [...tally.frames] }));
      port.postMessage({ kind: 'tallies', tallies } satisfies FromWorker);
    } else if (msg.kind === 'count') {
      const group = groups.get(msg.group) ?? [];
      const ended = group.filter(({ tally }) => tally.ended).length;
      const withOutput = group.filter(({ tally }) => tally.latencies.length > 0).length;
      port.postMessage({ kind: 'counted', open: group.length - ended, ended, withOutput } satisfies FromWorker);
    } else {
      for (const { stream } of groups.get(msg.group) ?? []) stream.close();
      groups.delete(msg.group);
      port.postMessage({ kind: 'closed' } satisfies FromWorker);
    }
  });

  async function openAll(req: OpenRequest): Promise<void> {
    const group = groups.get(req.group) ?? [];
    groups.set(req.group, group);
    for (let i = 0; i < req.count; i += 256) {
      const batch = Math.min(256, req.count - i);
      await Promise.all(Array.from({ length: batch }, () => new Promise<void>((resolve) => group.push(openOne(req, resolve)))));
    }
  }

  function openOne(req: OpenRequest, opened: () => void): { tally: StreamTally; stream: RawSse } {
    const tally: StreamTally = { frames: new Map(), latencies: [], ended: false, refused: false };
    const stream = openRawSse({
      port: req.port,
      path: req.path,
      headers: req.headers,
      onOpen: (status) => {
        if (status === 200) return;
        tally.refused = true;
        opened();
      },
      onFrame: (f) => {
        const frame = JSON.parse(f.data) as { event_type: string; timestamp: string; event_id: string };
        if (frame.event_type === 'status') return opened();
        tally.frames.set(frame.event_id, f.receivedAt);
        if (frame.event_type === 'execution_output') tally.latencies.push(f.receivedAt - Date.parse(frame.timestamp));
      },
      onClose: () => {
        tally.ended = true;
        opened();
      },
    });
    return { tally, stream };
  }
}

if (!isMainThread && (workerData as { reader?: boolean } | null)?.reader) serve();
