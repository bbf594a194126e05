import { randomUUID } from 'node:crypto';
import { dispatch, query, spawn, type Ref } from 'nact';
import type { ExecutionRecord } from '../../system/domain/execution.js';
import type { Limits } from '../../system/domain/limits.js';
import type { OutputPublisher } from '../../system/events/output-publisher.js';
import { contextOf, currentTraceparent, inSpan, sampledContextOf, tracer } from '../../system/events/trace-context.js';
import type { Span } from '@opentelemetry/api';
import type { OutputPosition } from '../../system/stores/output-store.js';
import type { Sandbox, SandboxHandle } from '../../system/ports/sandbox.js';
import type { SagaStore } from '../../system/stores/saga-store.js';
import type { AdmissionMsg } from '../admission/messages.js';
import type { ApplyReply, ExecutionChange, ExecutionMsg } from '../execution/messages.js';
import type { PodWatchMsg } from '../pod-watch/messages.js';
import { spawnPodWatch } from '../pod-watch/pod-watch.actor.js';
import { restartWithBackoff, type CrashLedger, type SupervisionPolicy } from '../supervision/policy.js';
import type { SagaDone, SagaMsg } from './messages.js';
import { SagaJournal } from './journal.js';
import { instrumented } from '../supervision/instrumented.js';

export interface SagaDeps {
  admission: Ref<AdmissionMsg>;
  sandbox: Sandbox;
  sagas: SagaStore;
  /** Publishes the run's live output to its stream. */
  output: OutputPublisher;
  limitsFor: (record: ExecutionRecord) => Limits;
  maxAttempts: number;
  /** The saga's own deadline is its sandbox's start + the wall limit + this (SAGA_DEADLINE_GRACE_SECONDS). */
  deadlineGraceMs: number;
  /** Set to end the execution as a system error instead of running it (its actors gave up). */
  abort?: string;
  policy: SupervisionPolicy;
  crashes: CrashLedger;
}

type Rehydrate = { type: 'Rehydrate' };
/** (self) The run's deadline timer fired; `at` tells the current deadline from one replaced since. */
type DeadlineReached = { type: 'DeadlineReached'; at: string };
type Msg = SagaMsg | Rehydrate | DeadlineReached;

/**
 * The saga's state by phase. `cancel` holds a cancel reason that arrived mid-flight; `seq` is the position of the
 * last live output piece published.
 */
type State =
  | { status: 'idle'; cancel: string | null }
  | { status: 'admitting'; record: ExecutionRecord; cancel: string | null; reattach: boolean }
  | { status: 'running'; record: ExecutionRecord; watch: Ref<PodWatchMsg>; cancel: string | null; seq: number }
  | { status: 'done' };

export const sagaActorName = (id: string) => `saga-${id}`;
const NOTHING_PUBLISHED: OutputPosition = { seq: 0, bytes: { stdout: 0, stderr: 0 } };
const APPLY_TIMEOUT_MS = 30_000;
/** How long the deadline's compensation waits for the sandbox to stop (a hung backend must not hang the saga). */
const STOP_TIMEOUT_MS = 10_000;

/**
 * Spawns the saga that carries one execution through admit → allocate → start sandbox → await outcome →
 * store result → release, compensating (stop sandbox, release slot, mark error) on faults and cancel.
 * It rebuilds itself from the stored execution on spawn and after a crash, so recovery is the same path as a first run.
 */
export function spawnSaga(
  parent: Ref<unknown>,
  executionId: string,
  execution: Ref<ExecutionMsg>,
  done: Ref<SagaDone>,
  deps: SagaDeps,
): Ref<SagaMsg> {
  const journal = new SagaJournal(deps.sagas, executionId);
  let slotHeld = false;
  /**
   * The current run's sandbox and deadline. The deadline is stored in the saga record when the sandbox starts and
   * armed as a timer here; a saga continued after a restart or failover re-arms it from the record.
   */
  let started: SandboxHandle | null = null;
  let deadlineAt: string | null = null;
  let deadlineTimer: NodeJS.Timeout | undefined;
  const disarm = () => {
    clearTimeout(deadlineTimer);
    deadlineTimer = undefined;
  };
  const arm = (self: Ref<Msg>, at: string) => {
    disarm();
    deadlineAt = at;
    deadlineTimer = setTimeout(() => dispatch(self, { type: 'DeadlineReached', at }), Math.max(0, Date.parse(at) - Date.now()));
  };
  /** The trace this saga's steps belong to: where it was spawned (a consumed command), else the record's. */
  let traceparent = currentTraceparent();
  /** The wait for a slot, from the ask to the grant (or the end of the wait), as a span. */
  let waiting: Span | null = null;
  const stopWaiting = (outcome: string) => {
    waiting?.setAttribute('admission.outcome', outcome);
    waiting?.end();
    waiting = null;
  };

  const apply = async (change: ExecutionChange): Promise<ApplyReply> => {
    for (let attempt = 1; ; attempt++) {
      const reply = (await query(execution, (replyTo: Ref<ApplyReply>) => ({ type: 'Apply' as const, change, replyTo }), APPLY_TIMEOUT_MS)) as ApplyReply;
      if (reply.ok || !reply.retryable) return reply;
      if (attempt > deps.policy.maxRestarts) throw new Error(`execution could not apply ${change.kind}: ${reply.reason}`);
    }
  };
  /** This saga instance, as admission knows its requests (a restarted or replaced saga is another owner). */
  const owner = randomUUID();
  let asked = false;
  const release = () => {
    if (!slotHeld) return;
    slotHeld = false;
    dispatch(deps.admission, { type: 'Release', executionId, owner });
  };
  /**
   * On stop (passivation, a revoked partition, a restart): give back whatever admission holds for this saga, a
   * slot or a place in the line. A grant still in flight to this stopped saga would otherwise keep its slot forever.
   */
  const releaseOnStop = () => {
    stopWaiting('stopped');
    if (!asked) return;
    asked = false;
    slotHeld = false;
    dispatch(deps.admission, { type: 'Release', executionId, owner });
  };
  const finish = async (outcome: 'completed' | 'failed' | 'cancelled' | 'timeout', error: string | null = null): Promise<State> => {
    disarm();
    const held = slotHeld;
    release();
    if (outcome === 'cancelled' && held) await journal.compensated('release');
    await journal.end(outcome, error);
    dispatch(done, { type: 'SagaDone', executionId });
    return { status: 'done' };
  };
  const fail = async (message: string): Promise<State> => {
    await journal.compensating(message);
    release();
    await journal.compensated('release');
    await apply({ kind: 'system_error', message });
    return finish('failed', message);
  };
  /**
   * The deadline passed and no outcome came (the sandbox or its watcher hangs): stop the sandbox directly, give
   * back the slot (or the place in line), and end the execution as timeout (cancelled when a cancel was pending).
   */
  const timeOut = async (record: ExecutionRecord, watch: Ref<PodWatchMsg> | null, cancel: string | null): Promise<State> => {
    await journal.compensating(cancel !== null ? `cancelled: ${cancel}` : `deadline ${deadlineAt} passed with no outcome from the sandbox`);
    if (watch) dispatch(watch, { type: 'Stop' });
    if (started) {
      await stopWithin(deps.sandbox, started, STOP_TIMEOUT_MS);
      await journal.compensated('stop_sandbox');
    }
    const held = slotHeld;
    if (asked) {
      asked = false;
      slotHeld = false;
      dispatch(deps.admission, { type: 'Release', executionId, owner });
    }
    if (held) await journal.compensated('release');
    if (cancel !== null) {
      await apply({ kind: 'cancelled', reason: cancel });
      return finish('cancelled');
    }
    await apply({ kind: 'timed_out', timeoutSeconds: deps.limitsFor(record).wallMs / 1000 });
    return finish('timeout');
  };

  const f = async (state: State, msg: Msg, ctx: { self: Ref<unknown> }): Promise<State> => {
    const self = ctx.self as Ref<SagaMsg>;
    switch (msg.type) {
      case 'Rehydrate': {
        const record = (await query(execution, (replyTo: Ref<ExecutionRecord | null>) => ({ type: 'Get' as const, replyTo }), APPLY_TIMEOUT_MS)) as ExecutionRecord | null;
        traceparent ??= record?.traceparent ?? undefined;
        if (!record || ['completed', 'failed', 'timeout', 'cancelled', 'error'].includes(record.status)) {
          return finish('completed');
        }
        if (deps.abort) return fail(deps.abort);
        if (record.attempts >= deps.maxAttempts) return fail(`gave up after ${record.attempts} attempts to run`);
        const cancel = state.status === 'idle' ? state.cancel : null;
        await journal.step('admit');
        const reattach = record.status !== 'queued' && record.sandbox !== null;
        // Continuing a run (restart, failover): its deadline still holds; already past, it ends now.
        const deadline = reattach ? await journal.storedDeadline() : null;
        started = reattach ? record.sandbox : null;
        disarm();
        deadlineAt = deadline;
        if (deadline !== null) {
          if (Date.parse(deadline) <= Date.now()) return timeOut(record, null, cancel);
          arm(self, deadline);
        }
        asked = true;
        const parent = sampledContextOf(traceparent);
        if (parent) waiting = tracer().startSpan('admission.wait', { attributes: { 'execution.id': executionId, 'execution.priority': reattach ? 'critical' : record.priority } }, parent);
        dispatch(deps.admission, { type: 'Acquire', executionId, priority: reattach ? 'critical' : record.priority, replyTo: self, owner });
        return { status: 'admitting', record, cancel, reattach };
      }
      case 'Queued':
        if (state.status === 'admitting' && state.record.status === 'queued') await apply({ kind: 'queued', position: msg.position });
        return state;
      case 'SlotGranted': {
        slotHeld = true;
        stopWaiting('granted');
        if (state.status !== 'admitting') {
          release();
          return state;
        }
        if (state.cancel !== null) {
          await apply({ kind: 'cancelled', reason: state.cancel });
          return finish('cancelled');
        }
        const record = state.reattach ? state.record : (await apply({ kind: 'scheduled' })).record ?? state.record;
        if (!state.reattach) {
          disarm();
          deadlineAt = null;
        }
        await journal.step('start_sandbox', state.reattach ? {} : { deadline_at: null });
        const watch = spawnPodWatch(self, {
          sandbox: deps.sandbox,
          spec: {
            executionId,
            lang: record.lang,
            langVersion: record.lang_version,
            script: record.script,
            limits: deps.limitsFor(record),
            stdin: record.stdin,
            keepStdinOpen: record.interactive,
            ...(record.user_id ? { userId: record.user_id } : {}),
          },
          report: self,
          ...(traceparent ? { traceparent } : {}),
        });
        // Output published before (by an earlier attempt, or this attempt's saga before a restart) is neither
        // numbered nor sent again. A first attempt started afresh cannot have printed anything yet.
        const published = state.reattach || record.attempts > 1 ? await deps.output.position(executionId, record.attempts) : NOTHING_PUBLISHED;
        dispatch(watch, state.reattach && record.sandbox ? { type: 'Reattach', handle: record.sandbox, skip: published.bytes } : { type: 'Start' });
        return { status: 'running', record, watch, cancel: null, seq: published.seq };
      }
      case 'SandboxStarted':
        if (state.status !== 'running') return state;
        started = msg.handle;
        await apply({ kind: 'started', handle: msg.handle });
        if (deadlineAt !== null) {
          await journal.step('await_outcome');
          return state;
        }
        {
          const from = Date.parse(msg.handle.startedAt);
          const at = new Date((Number.isFinite(from) ? from : Date.now()) + deps.limitsFor(state.record).wallMs + deps.deadlineGraceMs).toISOString();
          await journal.step('await_outcome', { deadline_at: at });
          arm(self, at);
        }
        return state;
      case 'SandboxOutput': {
        // Published from here, one piece after another, so their ids sort after the events this saga published.
        if (state.status !== 'running') return state;
        let seq = state.seq;
        for (const piece of msg.pieces) await deps.output.publish({ executionId, attempt: state.record.attempts, seq: ++seq }, piece);
        return { ...state, seq };
      }
      case 'Stdin':
        if (state.status === 'running') dispatch(state.watch, { type: 'Write', commandId: msg.commandId, data: msg.data, eof: msg.eof });
        return state;
      case 'SandboxExited': {
        if (state.status !== 'running') return state;
        if (state.cancel !== null && msg.end.cancelled) await journal.compensated('stop_sandbox');
        await journal.step('store_result');
        const limits = deps.limitsFor(state.record);
        await apply({ kind: 'finished', end: msg.end, timeoutSeconds: limits.wallMs / 1000, cancelReason: state.cancel ?? 'cancelled' });
        return finish(msg.end.cancelled ? 'cancelled' : 'completed');
      }
      case 'SandboxFailed':
        if (state.status !== 'running') return state;
        return fail(msg.message);
      case 'SandboxLost': {
        // The sandbox died with the node that ran it: run the script again, as a new attempt, on this node.
        if (state.status !== 'running') return state;
        if (state.cancel !== null) {
          await apply({ kind: 'cancelled', reason: state.cancel });
          return finish('cancelled');
        }
        if (state.record.attempts >= deps.maxAttempts) return fail(`sandbox lost after ${state.record.attempts} attempts to run`);
        const record = (await apply({ kind: 'scheduled' })).record ?? state.record;
        // A new run, a new deadline once its sandbox starts.
        disarm();
        deadlineAt = null;
        started = null;
        await journal.step('start_sandbox', { deadline_at: null });
        dispatch(state.watch, { type: 'Start' });
        return { ...state, record };
      }
      case 'DeadlineReached':
        if (msg.at !== deadlineAt) return state;
        if (state.status === 'running') return timeOut(state.record, state.watch, state.cancel);
        if (state.status === 'admitting') return timeOut(state.record, null, state.cancel);
        return state;
      case 'Cancel':
        switch (state.status) {
          case 'idle':
            return { ...state, cancel: msg.reason };
          case 'admitting':
            if (slotHeld) return { ...state, cancel: msg.reason };
            stopWaiting('cancelled');
            dispatch(deps.admission, { type: 'Release', executionId, owner });
            await apply({ kind: 'cancelled', reason: msg.reason });
            return finish('cancelled');
          case 'running':
            if (state.cancel !== null) return state;
            await journal.compensating(`cancelled: ${msg.reason}`);
            dispatch(state.watch, { type: 'Stop' });
            return { ...state, cancel: msg.reason };
          case 'done':
            return state;
        }
    }
    return state;
  };

  /** Each message but live output is a span of the execution's trace (none when the saga has no trace). */
  const traced = (state: State, msg: Msg, ctx: { self: Ref<unknown> }): Promise<State> => {
    if (msg.type === 'Rehydrate' && traceparent === undefined) {
      // Spawned outside a trace (recovery): continue the submitting request's, once the record is read.
      return f(state, msg, ctx);
    }
    const parent = msg.type === 'SandboxOutput' ? null : contextOf(traceparent);
    if (!parent) return f(state, msg, ctx);
    return inSpan(`saga.${msg.type}`, { parent, attributes: { 'execution.id': executionId } }, () => f(state, msg, ctx));
  };

  return spawn(parent as Ref<never>, instrumented('saga', traced) as never, sagaActorName(executionId), {
    initialStateFunc: (ctx: { self: Ref<unknown> }) => {
      dispatch(ctx.self as Ref<Msg>, { type: 'Rehydrate' });
      return { status: 'idle', cancel: null } as State;
    },
    onCrash: restartWithBackoff(deps.policy, deps.crashes) as never,
    afterStop: () => {
      disarm();
      releaseOnStop();
    },
  } as never) as Ref<SagaMsg>;
}

/** Stops a sandbox, waiting at most `ms`; a backend that cannot stop it reports that itself (its own log). */
async function stopWithin(sandbox: Sandbox, handle: SandboxHandle, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([sandbox.stop(handle).catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
