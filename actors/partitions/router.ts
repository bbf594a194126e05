import { dispatch, query, spawnStateless, type Ref } from 'nact';
import { stopTree } from '../supervision/stop-tree.js';
import { parseEvent } from '../../system/domain/events.js';
import type { LogRecord } from '../../system/ports/event-log.js';
import { REPLAY_HEADER } from '../../system/domain/replay.js';
import { currentTraceparent } from '../../system/events/trace-context.js';
import { isExecutionCommand, type ExecutionCommand, type PartitionMsg, type PartitionView } from './messages.js';
import { spawnPartition, type PartitionDeps } from './partition.actor.js';

const ACK_TIMEOUT_MS = 30_000;

/** Default period of the sweep for executions that need actors and have none. */
export const SWEEP_EVERY_MS = 10_000;
/** How long a record must have been left alone before the sweep adopts it. */
const SETTLE_MS = 5_000;

/**
 * Owns the `partitions` branch of the supervision tree: spawns a partition actor for each partition the
 * log assigns to this node, stops it on revoke, and routes each command record into its partition's mailbox.
 */
export class PartitionRouter {
  private readonly owned = new Map<number, Ref<PartitionMsg>>();
  private readonly branch: Ref<unknown>;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    root: Ref<unknown>,
    private readonly deps: PartitionDeps,
    sweepEveryMs = SWEEP_EVERY_MS,
  ) {
    this.branch = spawnStateless(root as Ref<never>, () => undefined, 'partitions') as Ref<unknown>;
    this.sweeper = setInterval(() => void this.sweep(), sweepEveryMs).unref();
  }

  /**
   * One pass over the owned partitions (two store queries per node, whatever the partition count): unfinished
   * executions and records with unpublished events go to their partition, which hosts those without actors.
   */
  async sweep(): Promise<void> {
    const partitions = this.ownedPartitions();
    if (partitions.length === 0) return;
    try {
      const [unfinished, pending] = await Promise.all([
        this.deps.executions.unfinished(partitions),
        this.deps.executions.withPendingOutbox(partitions),
      ]);
      const byPartition = new Map<number, string[]>();
      // A record changed moments ago is most likely in someone's hands (its command is on the way): leave it.
      const settled = Date.now() - SETTLE_MS;
      for (const r of [...unfinished, ...pending]) {
        if (Date.parse(r.updated_at) >= settled) continue;
        byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r.id]);
      }
      for (const [p, ids] of byPartition) {
        const ref = this.owned.get(p);
        if (ref) dispatch(ref, { type: 'Adopt', executionIds: ids });
      }
    } catch (err) {
      this.deps.log.error({ err }, 'sweep for executions without actors failed');
    }
  }

  /** Takes ownership of partitions and recovers their unfinished executions; returns how many were recovered. */
  async assigned(partitions: number[]): Promise<number> {
    let recovered = 0;
    for (const p of partitions) {
      if (this.owned.has(p)) continue;
      const ref = spawnPartition(this.branch, p, this.deps);
      this.owned.set(p, ref);
      recovered += (await query(ref, (replyTo: Ref<number>) => ({ type: 'Recover' as const, replyTo }), ACK_TIMEOUT_MS)) as number;
    }
    return recovered;
  }

  /** Gives partitions up: their actors stop (passivate). */
  revoked(partitions: number[]): void {
    for (const p of partitions) {
      const ref = this.owned.get(p);
      this.owned.delete(p);
      if (ref) stopTree(ref);
    }
  }

  /** Handles one command record from the log; resolves once its partition has taken it. */
  async route(record: LogRecord): Promise<void> {
    // A replayed command is history, not a request: it was acted on when it first came (or its execution is gone).
    // Acting again would run, cancel or feed an execution twice.
    if (record.headers[REPLAY_HEADER] !== undefined) return;
    const event = parseEvent(JSON.parse(record.value));
    if (!isExecutionCommand(event)) return;
    const ref = this.owned.get(record.partition);
    if (!ref) throw new Error(`partition ${record.partition} is not owned by this node`);
    const command: ExecutionCommand = event;
    const traceparent = currentTraceparent();
    await query(ref, (replyTo: Ref<'ok'>) => ({ type: 'Command' as const, command, traceparent, replyTo }), ACK_TIMEOUT_MS);
  }

  /** What each owned partition hosts right now. */
  async inspect(): Promise<PartitionView[]> {
    return Promise.all(
      [...this.owned.values()].map((ref) => query(ref, (replyTo: Ref<PartitionView>) => ({ type: 'Inspect' as const, replyTo }), 5_000) as Promise<PartitionView>),
    );
  }

  ownedPartitions(): number[] {
    return [...this.owned.keys()].sort((a, b) => a - b);
  }

  stopAll(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.revoked([...this.owned.keys()]);
  }
}
