/**
 * The platform's recorded metrics, one process-wide registry (like the OTel global meter): the code that knows a
 * figure records it here in a plain object, and /metrics and the OTLP reader collect the registry. Names are OTel
 * style; the Prometheus exporter turns dots into underscores and adds `_total` to counters, so the names that
 * carry a unit end in it (`_seconds`, `_bytes`) and read the same on /metrics and after the collector. Label values
 * come from closed sets (languages, statuses, topics, rule groups, actor kinds), never from ids or user input.
 * docs/observability.md lists every metric.
 */
import { MetricRegistry } from './registry.js';

/** Every family below; metrics.ts collects it. */
export const registry = new MetricRegistry();

/** Seconds: 5 ms to 5 min. */
const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Seconds for work inside one process: 50 µs to 10 s. */
const SHORT_SECONDS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];
/** Bytes: 1 MiB to 4 GiB (program memory). */
const MEMORY_BYTES = [1, 4, 16, 32, 64, 128, 256, 512, 1024, 4096].map((mib) => mib * 1024 * 1024);

const executionsFinished = registry.counter('executions.finished', 'Executions that reached a final status, by language and status', '{execution}', ['lang', 'status']);
const executionDuration = registry.histogram(
  'executions.duration_seconds',
  'Time from submission to final status, by language and status',
  's',
  ['lang', 'status'],
  SECONDS,
);
const queueWait = registry.histogram('executions.queue.wait_seconds', 'Time an execution waited in the admission queue for a slot, by priority', 's', ['priority'], SECONDS);

/** Executions: final statuses, end-to-end time and time in the queue. */
export const executionMetrics = {
  /** An execution reached final `status`, `seconds` after it was submitted. */
  finished(lang: string, status: string, seconds: number): void {
    executionsFinished.add([lang, status]);
    if (seconds >= 0) executionDuration.record([lang, status], seconds);
  },
  /** An execution of `priority` got its slot after waiting `seconds`. */
  admitted(priority: string, seconds: number): void {
    queueWait.record([priority], seconds);
  },
};

const sandboxStarts = registry.counter('sandbox.starts', 'Programs started in a sandbox or pod, by backend and language', '{start}', ['backend', 'lang']);
const sandboxFailures = registry.counter(
  'sandbox.failures',
  'Sandbox faults (ours, not the program\'s): a start or a watch that failed, by backend and stage',
  '{failure}',
  ['backend', 'stage'],
);
const sandboxCpu = registry.histogram('sandbox.cpu_seconds', 'CPU time a finished program used, by language', 's', ['lang'], SECONDS);
const sandboxWall = registry.histogram('sandbox.wall_seconds', 'Wall time a finished program ran, by language', 's', ['lang'], SECONDS);
const sandboxMemory = registry.histogram('sandbox.memory.peak_bytes', 'Peak memory a finished program used, by language', 'By', ['lang'], MEMORY_BYTES);
const sandboxLimits = registry.counter('sandbox.limits_hit', 'Programs a limit stopped, by language and limit', '{run}', ['lang', 'limit']);

/** Sandboxes and pods: starts, faults and the resources finished programs used. */
export const sandboxMetrics = {
  /** Starts the series of rare events at zero for a backend, its languages and the limits a run can hit. */
  known(backend: string, langs: readonly string[], limits: readonly string[]): void {
    for (const stage of ['start', 'watch']) sandboxFailures.touch([backend, stage]);
    for (const lang of langs) for (const limit of limits) sandboxLimits.touch([lang, limit]);
  },
  started(backend: string, lang: string): void {
    sandboxStarts.add([backend, lang]);
  },
  failed(backend: string, stage: 'start' | 'watch'): void {
    sandboxFailures.add([backend, stage]);
  },
  finished(lang: string, usage: { cpuSeconds: number; wallSeconds: number; peakMemoryBytes: number }, limit: string | null): void {
    sandboxCpu.record([lang], usage.cpuSeconds);
    sandboxWall.record([lang], usage.wallSeconds);
    sandboxMemory.record([lang], usage.peakMemoryBytes);
    if (limit) sandboxLimits.add([lang, limit]);
  },
};

const actorMessageDuration = registry.histogram(
  'actors.message.duration_seconds',
  'Time an actor took to handle one message, by actor kind',
  's',
  ['kind'],
  SHORT_SECONDS,
);
const actorCrashes = registry.counter('actors.crashes', 'Messages whose handler threw, by actor kind (each is a crash its supervisor decides on)', '{crash}', ['kind']);
const actorRestarts = registry.counter('actors.restarts', 'Actors reset by their supervisor after a crash, by actor kind', '{restart}', ['kind']);
const actorEscalations = registry.counter('actors.escalations', 'Crashes escalated to the parent because the restart budget was spent, by actor kind', '{crash}', ['kind']);

/** The actor kinds of a node's tree (see docs/architecture.md); their crash and supervision series start at zero. */
const ACTOR_KINDS = ['admission', 'partition', 'execution', 'saga', 'pod-watch', 'session'];
for (const kind of ACTOR_KINDS) for (const family of [actorCrashes, actorRestarts, actorEscalations]) family.touch([kind]);

/** Actors: message handling time, crashes and supervisor decisions (counts and mailboxes are read from the tree). */
export const actorMetrics = {
  handled(kind: string, seconds: number): void {
    actorMessageDuration.record([kind], seconds);
  },
  crashed(kind: string): void {
    actorCrashes.add([kind]);
  },
  supervised(kind: string, decision: 'restart' | 'escalate'): void {
    (decision === 'restart' ? actorRestarts : actorEscalations).add([kind]);
  },
};

const MESSAGING = ['messaging.system', 'messaging.destination.name'] as const;
const sent = registry.counter('messaging.client.sent.messages', 'Records appended to the event log, by log and topic', '{message}', MESSAGING);
const consumed = registry.counter(
  'messaging.client.consumed.messages',
  'Records handed to a consumer group\'s handler, by log, topic and group',
  '{message}',
  [...MESSAGING, 'messaging.consumer.group.name'],
);
const rebalances = registry.counter('messaging.consumer.rebalances', 'Consumer-group joins of this node (each rebalance makes every member join), by group', '{rebalance}', [
  'messaging.system',
  'messaging.consumer.group.name',
]);

/** The event log (Kafka or the embedded log): produced and consumed records, group rebalances. */
export const messagingMetrics = {
  sent(system: string, topic: string, n = 1): void {
    sent.add([system, topic], n);
  },
  consumed(system: string, topic: string, group: string): void {
    consumed.add([system, topic, group]);
  },
  rebalanced(system: string, group: string): void {
    rebalances.add([system, group]);
  },
};

const rateLimitDecisions = registry.counter('rate_limit.decisions', 'Requests counted against a rate-limit rule, by rule group and decision', '{request}', ['rule', 'decision']);
const idempotencyClaims = registry.counter(
  'idempotency.claims',
  'Idempotency-Key claims of POST /execute: miss (new key), hit (answered with the earlier execution), in_progress (409)',
  '{request}',
  ['result'],
);

/** Rate limits and idempotency keys. */
export const requestGuardMetrics = {
  rateLimited(rule: string, allowed: boolean): void {
    rateLimitDecisions.add([rule, allowed ? 'allowed' : 'limited']);
  },
  idempotency(result: 'miss' | 'hit' | 'in_progress'): void {
    idempotencyClaims.add([result]);
  },
};

const logins = registry.counter('auth.logins', 'Login attempts by result: success, bad_credentials, locked, disabled, error', '{attempt}', ['result']);
const lockouts = registry.counter('auth.lockouts', 'Accounts locked by a failed login that spent the attempt budget', '{lockout}');
const tokenChecks = registry.counter(
  'auth.token.verifications',
  'Session checks (GET /auth/verify-token) by result: valid, refreshed (a new CSRF token was issued), invalid',
  '{check}',
  ['result'],
);

/** Sign-in: logins, lockouts and session checks that refresh the CSRF token. */
export const authMetrics = {
  login(result: 'success' | 'bad_credentials' | 'locked' | 'disabled' | 'error'): void {
    logins.add([result]);
  },
  lockedOut(): void {
    lockouts.add([]);
  },
  tokenChecked(result: 'valid' | 'refreshed' | 'invalid'): void {
    tokenChecks.add([result]);
  },
};

const deadLettered = registry.counter('dlq.received', 'Records dead-lettered after their handler kept failing, by original topic', '{message}', ['topic']);

/** Dead letters as they arrive (depth and age are read from the store). */
export const deadLetterMetrics = {
  /** Starts the series of these topics at zero. */
  known(topics: readonly string[]): void {
    for (const topic of topics) deadLettered.touch([topic]);
  },
  received(topic: string): void {
    deadLettered.add([topic]);
  },
};
