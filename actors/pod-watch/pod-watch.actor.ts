import { dispatch, spawn, type ActorContext, type Ref } from 'nact';
import type { StreamBytes } from '../../system/domain/live-output.js';
import type { Sandbox, SandboxHandle, SandboxOutcome, SandboxSpec } from '../../system/ports/sandbox.js';
import { sampledContextOf, tracer } from '../../system/events/trace-context.js';
import { SpanKind, SpanStatusCode, type Span } from '@opentelemetry/api';
import type { PodWatchMsg, WatchReport } from './messages.js';
import { OutputBatcher } from './output-batcher.js';
import { instrumented } from '../supervision/instrumented.js';

/** The watcher's state, by phase; fields live only where they mean something. */
type State =
  | { status: 'idle'; stopRequested: boolean }
  | { status: 'starting'; stopRequested: boolean; skip: StreamBytes }
  | { status: 'running'; handle: SandboxHandle; stopRequested: boolean; timedOut: boolean }
  | { status: 'ended' };

export interface PodWatchProps {
  sandbox: Sandbox;
  spec: SandboxSpec;
  report: Ref<WatchReport>;
  /** The execution's trace: the run (start to outcome) is a span in it. */
  traceparent?: string;
}

/** Name of an execution's watcher under its partition. */
export const podWatchActorName = (id: string) => `pod-watch-${id}`;

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

const NOTHING: StreamBytes = { stdout: 0, stderr: 0 };

/**
 * Spawns the actor that starts (or re-attaches to) one sandbox, watches it, enforces the wall deadline,
 * reports its live output in batches and its outcome to its saga, and feeds it standard input.
 * Stopping the actor stops the sandbox.
 */
export function spawnPodWatch(parent: Ref<unknown>, props: PodWatchProps): Ref<PodWatchMsg> {
  const { sandbox, spec, report } = props;
  let deadline: NodeJS.Timeout | undefined;
  let live: SandboxHandle | undefined;
  let batcher: OutputBatcher | undefined;
  /** Writes to stdin go out one after another, in the order they came. */
  let writing: Promise<unknown> = Promise.resolve();
  const written = new Set<string>();
  /** The run as a span, from start (or re-attach) to its outcome. */
  let run: Span | null = null;
  const runStarted = (reattach: boolean) => {
    const parent = sampledContextOf(props.traceparent);
    if (!parent || run) return;
    run = tracer().startSpan(
      'sandbox.run',
      { kind: SpanKind.CLIENT, attributes: { 'execution.id': spec.executionId, 'execution.lang': spec.lang, 'sandbox.reattach': reattach } },
      parent,
    );
  };
  const runEnded = (outcome: SandboxOutcome | null, failure: string | null) => {
    if (!run) return;
    if (outcome) {
      run.setAttributes({ 'process.exit_code': outcome.exitCode ?? -1, 'sandbox.limit': outcome.limit ?? 'none', 'sandbox.stopped': outcome.stopped });
    }
    if (failure !== null) run.setStatus({ code: SpanStatusCode.ERROR, message: failure });
    run.end();
    run = null;
  };

  const flushOutput = (pieces: ReturnType<OutputBatcher['close']>) => {
    if (pieces.length > 0) dispatch(report, { type: 'SandboxOutput', pieces });
  };
  const watch = (self: Ref<PodWatchMsg>, handle: SandboxHandle, skip: StreamBytes) => {
    live = handle;
    deadline = setTimeout(() => dispatch(self, { type: 'DeadlineReached' }), spec.limits.wallMs);
    const output = new OutputBatcher({ capBytes: spec.limits.outputBytes, skip }, flushOutput);
    batcher = output;
    sandbox.watch(handle, (chunk) => output.push(chunk)).then(
      (outcome) => dispatch(self, { type: 'Exited', outcome }),
      (err) => dispatch(self, { type: 'WatchFailed', message: message(err) }),
    );
  };
  const ended = (): State => {
    clearTimeout(deadline);
    live = undefined;
    batcher?.close();
    return { status: 'ended' };
  };

  return spawn(
    parent as Ref<never>,
    instrumented('pod-watch', (state: State, msg: PodWatchMsg, ctx: ActorContext<PodWatchMsg, Ref<never>>): State => {
      const self = ctx.self as Ref<PodWatchMsg>;
      switch (msg.type) {
        case 'Start':
          if (state.status !== 'idle') return state;
          runStarted(false);
          sandbox.start(spec).then(
            (handle) => dispatch(self, { type: 'Started', handle }),
            (err) => dispatch(self, { type: 'StartFailed', message: message(err) }),
          );
          return { status: 'starting', stopRequested: state.stopRequested, skip: NOTHING };
        case 'Reattach':
          if (state.status !== 'idle') return state;
          runStarted(true);
          sandbox.reattach(msg.handle).then(
            (handle) => dispatch(self, handle ? { type: 'Started', handle } : { type: 'Lost' }),
            (err) => dispatch(self, { type: 'StartFailed', message: message(err) }),
          );
          return { status: 'starting', stopRequested: state.stopRequested, skip: msg.skip };
        case 'Started': {
          if (state.status !== 'starting') return state;
          run?.setAttribute('sandbox.backend', msg.handle.backend);
          dispatch(report, { type: 'SandboxStarted', handle: msg.handle });
          watch(self, msg.handle, state.skip);
          if (state.stopRequested) void sandbox.stop(msg.handle);
          return { status: 'running', handle: msg.handle, stopRequested: state.stopRequested, timedOut: false };
        }
        case 'StartFailed':
          runEnded(null, msg.message);
          dispatch(report, { type: 'SandboxFailed', message: msg.message });
          return ended();
        case 'Lost':
          if (state.status !== 'starting') return state;
          runEnded(null, 'sandbox lost');
          dispatch(report, { type: 'SandboxLost' });
          return { status: 'idle', stopRequested: state.stopRequested };
        case 'Stop':
          if (state.status === 'running') {
            void sandbox.stop(state.handle);
            return { ...state, stopRequested: true };
          }
          return state.status === 'ended' ? state : { ...state, stopRequested: true };
        case 'DeadlineReached':
          if (state.status !== 'running') return state;
          void sandbox.stop(state.handle);
          return { ...state, timedOut: !state.stopRequested };
        case 'Write': {
          if (state.status !== 'running' || written.has(msg.commandId)) return state;
          written.add(msg.commandId);
          const { handle } = state;
          writing = writing.then(() => sandbox.write(handle, msg.data, msg.eof)).catch(() => undefined); // a run that ended takes no input
          return state;
        }
        case 'Exited':
          if (state.status !== 'running') return state;
          if (msg.outcome.stopped && !state.stopRequested && !state.timedOut) {
            // Stopped, but not by this watcher: an earlier watcher of the same run let it go (its partition was
            // revoked). That ending says nothing about the program, so the run counts as lost and is run again.
            ended();
            runEnded(msg.outcome, 'sandbox lost');
            dispatch(report, { type: 'SandboxLost' });
            return { status: 'idle', stopRequested: false };
          }
          flushOutput(batcher?.finish(msg.outcome) ?? []);
          runEnded(msg.outcome, null);
          dispatch(report, {
            type: 'SandboxExited',
            end: { outcome: msg.outcome, timedOut: state.timedOut, cancelled: state.stopRequested },
          });
          return ended();
        case 'WatchFailed':
          if (state.status === 'running') void sandbox.stop(state.handle);
          flushOutput(batcher?.close() ?? []);
          runEnded(null, msg.message);
          dispatch(report, { type: 'SandboxFailed', message: msg.message });
          return ended();
      }
    }),
    podWatchActorName(spec.executionId),
    {
      initialState: { status: 'idle', stopRequested: false } as State,
      // A watcher that crashes must not leave a program running: stop it and report a fault to the saga.
      onCrash: (_msg, err, ctx) => {
        if (live) void sandbox.stop(live);
        dispatch(report, { type: 'SandboxFailed', message: `watcher crashed: ${message(err)}` });
        return ctx.stop;
      },
      afterStop: () => {
        runEnded(null, null);
        clearTimeout(deadline);
        batcher?.close();
        // Passivated while the program runs: leave it to the next owner if it can re-attach from anywhere.
        if (live && !sandbox.reattachableElsewhere) void sandbox.stop(live);
      },
    },
  );
}
