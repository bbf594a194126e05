import { dispatch, spawn, type Ref } from 'nact';
import type { DomainEvent } from '../../system/domain/events.js';
import { cappedErrors, dueAfterMs, isReplayFinished, type ReplayError, type ReplaySession, type ReplayStatus } from '../../system/domain/replay.js';
import type { ReplaySink, ReplayTargets } from '../../system/services/replay/targets.js';
import { replayItem } from '../../system/services/replay/targets.js';
import type { EventStore } from '../../system/stores/event-store.js';
import { replayEventFilter, type ReplayStore } from '../../system/stores/replay-store.js';
import type { CrashLedger, SupervisionPolicy } from '../supervision/policy.js';
import { backoffMs } from '../supervision/policy.js';
import { begin, step, type ReplayMsg } from './messages.js';

/** Events handled by the runners of this node since it started (for the metrics). */
export interface ReplayCounters {
  replayed: number;
  failed: number;
}

export interface ReplayRunnerDeps {
  sessions: ReplayStore;
  events: EventStore;
  targets: ReplayTargets;
  nodeId: string;
  /** How long a claim holds without renewal; renewed at every poll. */
  leaseMs: number;
  /** How often the stored session is read (control, lease) while the runner waits or works. */
  pollMs: number;
  counters: ReplayCounters;
  policy: SupervisionPolicy;
  crashes: CrashLedger;
  /** Called once the runner stopped for good (finished, paused, taken over, gave up). */
  onDone(sessionId: string): void;
  log: { warn(obj: object, msg: string): void };
  clock?: () => number;
}

/** A running session as the runner holds it between steps. */
interface Running {
  status: 'running';
  session: ReplaySession;
  epoch: number;
  sink: ReplaySink;
  /** Read ahead of the cursor, not yet sent. */
  buffer: DomainEvent[];
  exhausted: boolean;
  /** The pacing clock of this run: the first event's time and the wall time it was due. */
  anchor: { eventTime: string; wallMs: number } | null;
  readAt: number;
}
type State = { status: 'idle' } | Running | { status: 'done' };

/** Name of a session's runner under the `replay` branch. */
export const replayActorName = (sessionId: string) => `replay-session-${sessionId}`;

const iso = (ms: number) => new Date(ms).toISOString();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nextTurn = () => new Promise<void>((r) => setImmediate(r));

/**
 * Spawns the runner of one replay session on this node: it reads the session's events after its cursor in event-id
 * (time) order, sends them to the target in batches spaced by their original gaps divided by the speed multiplier,
 * and stores progress, cursor and lease after every batch. It reads the stored session at least every `pollMs`:
 * an admin's pause or cancel (written by any node) ends the run; a claim by another node (a higher epoch) stops it
 * without another write.
 */
export function spawnReplayRunner(parent: Ref<unknown>, sessionId: string, deps: ReplayRunnerDeps): Ref<ReplayMsg> {
  const clock = deps.clock ?? Date.now;
  let tick = 0;
  let timer: NodeJS.Timeout | undefined;
  let epoch = 0;
  let self: Ref<ReplayMsg> | undefined;

  const schedule = (ms: number) => {
    clearTimeout(timer);
    const t = ++tick;
    if (ms <= 0) dispatch(self!, step(t));
    else timer = setTimeout(() => dispatch(self!, step(t)), ms);
  };
  const stopTimers = () => {
    clearTimeout(timer);
    tick++;
  };

  /** Ends this run with `status` (null: leave the stored session alone, someone else has it). */
  const end = async (s: Running, status: ReplayStatus | null, extra: Partial<ReplaySession> = {}): Promise<State> => {
    stopTimers();
    if (status) {
      await deps.sessions.update(sessionId, {
        ...extra,
        status,
        owner_node: null,
        lease_expires_at: null,
        ...(isReplayFinished(status) ? { completed_at: iso(clock()) } : {}),
      });
    }
    await s.sink.close().catch((err: unknown) => deps.log.warn({ err, session_id: sessionId }, 'replay target did not close cleanly'));
    deps.onDone(sessionId);
    return { status: 'done' };
  };

  /** Applies a freshly read session: stops on a lost claim, a pause or a cancel; otherwise carries on. */
  const observe = async (s: Running, doc: ReplaySession | null): Promise<State | null> => {
    if (!doc || doc.epoch !== s.epoch) return end(s, null);
    s.session = doc;
    s.readAt = clock();
    if (doc.control === 'cancel') return end(s, 'cancelled');
    if (doc.control === 'pause') return end(s, 'paused');
    return null;
  };

  const handled = (s: ReplaySession) => s.replayed_events + s.failed_events;

  /** Reads the next page of the session's events after those already buffered (or after the cursor) onto the buffer. */
  const fill = async (s: Running): Promise<void> => {
    const { config, cursor } = s.session;
    const left = config.max_events ? config.max_events - handled(s.session) - s.buffer.length : Infinity;
    if (left <= 0) {
      s.exhausted = true;
      return;
    }
    const filter = replayEventFilter(config.filter);
    const after = s.buffer.length > 0 ? s.buffer[s.buffer.length - 1]!.event_id : cursor;
    if (after) {
      const ids = config.filter.event_ids;
      filter['id'] = ids?.length ? { $in: ids.filter((id) => id > after) } : { $gt: after };
    }
    const limit = Math.min(Math.max(config.batch_size, 500), left);
    // Pages in event-id (time) order by the primary key (an event's document id is its event id).
    const page = await deps.events.find(filter, { sort: { id: 1 }, limit });
    s.buffer = s.buffer.length > 0 ? s.buffer.concat(page) : page;
    if (page.length < limit || page.length === left) s.exhausted = true;
  };

  const deliver = async (sink: ReplaySink, s: ReplaySession, batch: DomainEvent[]): Promise<Array<Error | null>> => {
    const now = iso(clock());
    const items = batch.map((e) => replayItem(s, e, now));
    const results = await sink.send(items);
    const attempts = s.config.retry_failed ? s.config.retry_attempts : 1;
    for (let a = 1; a < attempts; a++) {
      const failed = results.flatMap((r, i) => (r ? [i] : []));
      if (failed.length === 0) break;
      await sleep(Math.min(50 * 2 ** (a - 1), 1_000));
      const again = await sink.send(failed.map((i) => items[i]!));
      failed.forEach((i, k) => (results[i] = again[k] ?? null));
    }
    return results;
  };

  const stepOnce = async (s: Running): Promise<State> => {
    const now = clock();
    if (now - s.readAt >= deps.pollMs) {
      const stop = await observe(s, await deps.sessions.update(sessionId, { lease_expires_at: iso(now + deps.leaseMs) }));
      if (stop) return stop;
    }
    if (s.buffer.length === 0 && !s.exhausted) await fill(s);
    if (s.buffer.length === 0) return end(s, 'completed');

    const { config } = s.session;
    const anchor = (s.anchor ??= { eventTime: s.buffer[0]!.timestamp, wallMs: now });
    const due = (e: DomainEvent) => anchor.wallMs + dueAfterMs(anchor.eventTime, e.timestamp, config.speed_multiplier);
    let n = 0;
    while (n < s.buffer.length && n < config.batch_size && due(s.buffer[n]!) <= now) n++;
    if (n === 0) {
      schedule(Math.min(due(s.buffer[0]!) - now, deps.pollMs));
      return s;
    }

    const batch = s.buffer.slice(0, n);
    const delivering = deliver(s.sink, s.session, batch);
    // The next page is read while this batch is on its way, so the store's work overlaps the target's wait. It starts
    // a turn later: the target writes its request in the microtasks of this one.
    const readAhead = s.buffer.length - n < config.batch_size && !s.exhausted ? nextTurn().then(() => fill(s)) : undefined;
    const [results] = await Promise.all([delivering, readAhead]);
    const errors: ReplayError[] = [];
    let ok = 0;
    let bad = 0;
    let cursor = s.session.cursor;
    for (const [i, err] of results.entries()) {
      const event = batch[i]!;
      if (err) {
        bad++;
        errors.push({ timestamp: iso(clock()), error: err.message, error_type: err.name, event_id: event.event_id });
        if (!config.skip_errors) break;
      } else ok++;
      cursor = event.event_id;
    }
    deps.counters.replayed += ok;
    deps.counters.failed += bad;
    const progress: Partial<ReplaySession> = {
      replayed_events: s.session.replayed_events + ok,
      failed_events: s.session.failed_events + bad,
      skipped_events: s.session.skipped_events + (config.skip_errors ? bad : 0),
      errors: cappedErrors(s.session.errors, errors),
      cursor,
      last_event_at: iso(clock()),
    };
    if (bad && !config.skip_errors) return end(s, 'failed', progress);
    s.buffer = s.buffer.slice(n);
    const stop = await observe(s, await deps.sessions.update(sessionId, { ...progress, lease_expires_at: iso(clock() + deps.leaseMs) }));
    if (stop) return stop;
    schedule(0);
    return s;
  };

  const handle = async (state: State, msg: ReplayMsg): Promise<State> => {
    switch (msg.type) {
      case 'Begin': {
        if (state.status !== 'idle') return state;
        epoch = msg.epoch;
        const session = await deps.sessions.get(sessionId);
        if (!session || session.epoch !== msg.epoch || session.status !== 'running') {
          deps.onDone(sessionId);
          return { status: 'done' };
        }
        let sink: ReplaySink;
        try {
          sink = await deps.targets.open(session);
        } catch (err) {
          // The target cannot be opened (e.g. the replay directory is not writable): the session fails, saying why.
          const e = err instanceof Error ? err : new Error(String(err));
          await deps.sessions.update(sessionId, {
            status: 'failed',
            owner_node: null,
            lease_expires_at: null,
            completed_at: iso(clock()),
            errors: cappedErrors(session.errors, [{ timestamp: iso(clock()), error: e.message, error_type: e.name, event_id: null }]),
          });
          deps.onDone(sessionId);
          return { status: 'done' };
        }
        const s: Running = { status: 'running', session, epoch: msg.epoch, sink, buffer: [], exhausted: false, anchor: null, readAt: clock() };
        schedule(0);
        return s;
      }
      case 'Step':
        if (state.status !== 'running' || msg.tick !== tick) return state;
        return stepOnce(state);
      case 'Poke':
        if (state.status !== 'running') return state;
        // Read the stored session at the next step, which starts now.
        state.readAt = -Infinity;
        schedule(0);
        return state;
    }
  };

  self = spawn(
    parent as Ref<never>,
    async (state: State, msg: ReplayMsg) => {
      try {
        return await handle(state, msg);
      } catch (err) {
        stopTimers();
        if (state.status === 'running') await state.sink.close().catch(() => undefined);
        throw err;
      }
    },
    replayActorName(sessionId),
    {
      initialState: { status: 'idle' } as State,
      afterStop: (state: State) => {
        stopTimers();
        // Stopped with the node: the session keeps status running until its lease runs out (then: stalled).
        if (state.status === 'running') void state.sink.close().catch(() => undefined);
      },
      onCrash: (async (_msg: unknown, err: Error | undefined, ctx: { path: { toString(): string }; reset: symbol; stop: symbol; self: Ref<ReplayMsg> }) => {
        // A fault (the store or the target down): start over from the stored cursor after a backoff; past the budget
        // the run stops and its lease runs out, so the session shows as stalled and any node can resume it.
        const path = ctx.path.toString();
        const n = deps.crashes.note(path, err, deps.policy.windowMs);
        const decision = n > deps.policy.maxRestarts ? 'stop' : 'restart';
        deps.crashes.remember({ path, error: String(err?.message ?? err), at: iso(clock()), decision: decision === 'stop' ? 'escalate' : 'restart' });
        deps.log.warn({ err, session_id: sessionId, decision }, 'replay runner failed');
        if (decision === 'stop') {
          deps.onDone(sessionId);
          return ctx.stop;
        }
        await sleep(backoffMs(deps.policy, n));
        setImmediate(() => dispatch(ctx.self, begin(epoch)));
        return ctx.reset;
      }) as never,
    },
  ) as Ref<ReplayMsg>;
  return self;
}
