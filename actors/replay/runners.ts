import { dispatch, spawnStateless, type Ref } from 'nact';
import { stopTree } from '../supervision/stop-tree.js';
import { begin, poke, type ReplayMsg } from './messages.js';
import { spawnReplayRunner, type ReplayRunnerDeps } from './replay.actor.js';

/** The `replay` branch of this node's supervision tree: one runner actor per session this node runs. */
export class ReplayRunners {
  private readonly branch: Ref<unknown>;
  private readonly runners = new Map<string, Ref<ReplayMsg>>();

  constructor(
    root: Ref<unknown>,
    private readonly deps: Omit<ReplayRunnerDeps, 'onDone'>,
  ) {
    this.branch = spawnStateless(root as Ref<never>, () => undefined, 'replay') as Ref<unknown>;
  }

  /** Runs a session this node has just claimed with `epoch` (a runner already here is stopped first). */
  run(sessionId: string, epoch: number): void {
    this.stop(sessionId);
    const ref = spawnReplayRunner(this.branch, sessionId, {
      ...this.deps,
      onDone: (id) => {
        if (this.runners.get(id) === ref) {
          this.runners.delete(id);
          setImmediate(() => stopTree(ref));
        }
      },
    });
    this.runners.set(sessionId, ref);
    dispatch(ref, begin(epoch));
  }

  /** Tells this node's runner of the session, if any, that its stored control changed; false when none runs here. */
  poke(sessionId: string): boolean {
    const ref = this.runners.get(sessionId);
    if (ref) dispatch(ref, poke());
    return ref !== undefined;
  }

  /** Sessions running on this node. */
  running(): string[] {
    return [...this.runners.keys()];
  }

  private stop(sessionId: string): void {
    const ref = this.runners.get(sessionId);
    this.runners.delete(sessionId);
    if (ref) stopTree(ref);
  }

  /** Stops every runner: their sessions keep status `running` until the lease runs out, then any node may resume them. */
  stopAll(): void {
    for (const id of [...this.runners.keys()]) this.stop(id);
  }
}
