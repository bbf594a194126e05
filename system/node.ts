import { query, start as startActorSystem, type Ref } from 'nact';
import { stopTree } from '../actors/supervision/stop-tree.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnAdmission } from '../actors/admission/admission.actor.js';
import type { AdmissionMsg, QueueSnapshot } from '../actors/admission/messages.js';
import { PartitionRouter } from '../actors/partitions/router.js';
import { createSseBranch } from '../actors/sse-session/opener.js';
import { CrashLedger, DEFAULT_POLICY, SupervisionPolicySchema } from '../actors/supervision/policy.js';
import { connectKubernetesSandbox } from '../bridges/kubernetes/connect.js';
import { createBwrapSandbox } from '../bridges/sandbox/bwrap.js';
import { createThreadedBwrapSandbox } from '../bridges/sandbox/threaded.js';
import { adminClusterRoutes } from '../http/routes/admin-cluster.js';
import { metricsRoutes } from '../http/routes/metrics.js';
import { replayRoutes } from '../http/routes/replay.js';
import { createReplay, type Replay } from './services/replay/component.js';
import { createHttpServer } from '../http/server.js';
import { loadStaticSite, type StaticSite } from '../http/static.js';
import { admissionClient } from '../actors/admission/client.js';
import { buildPlatform, openSettings } from './platform.js';
import { startAll, stopAll, type Component } from './components.js';
import type { Config } from './config.js';
import type { AdminSettings } from './domain/admin-settings.js';
import { isTerminal } from './domain/execution.js';
import { OutputPublisher } from './events/output-publisher.js';
import { EventPublisher } from './events/publisher.js';
import { consumeInSpan } from './events/trace-context.js';
import { openInfrastructure, type Infrastructure } from './infrastructure.js';
import { RETRY_POLICIES, TOPICS } from './events/topics.js';
import { createPlatformMetrics } from './telemetry/metrics.js';
import { startTracing, type Tracing } from './telemetry/tracing.js';
import { instrumentSandbox } from './telemetry/sandbox-metrics.js';
import { createClusterView, type ClusterView } from './cluster/cluster-view.js';
import { createNodeRpc } from './cluster/node-rpc.js';
import { createLogger, type Logger } from './log.js';
import type { DocumentStore } from './ports/document-store.js';
import type { Consumer } from './ports/event-log.js';
import type { Sandbox } from './ports/sandbox.js';
import { createExecutionService } from './services/execution-service.js';
import { createHealthService } from './services/health-service.js';
import { EventStore } from './stores/event-store.js';
import { ExecutionStore } from './stores/execution-store.js';
import { OutputStore } from './stores/output-store.js';
import { SagaStore } from './stores/saga-store.js';

/** A running node: its HTTP port, what it is made of, and how to stop it. */
export interface RunningNode {
  port: number;
  mode: Infrastructure['mode'];
  nodeId: string;
  log: Logger;
  sandbox: Sandbox;
  router: PartitionRouter;
  crashes: CrashLedger;
  queue(): Promise<QueueSnapshot>;
  stop(): Promise<void>;
}

/** Boots one node in embedded mode: durable SQLite log and store, in-process bus, local sandbox, actors, HTTP. */
export interface NodeOptions {
  log?: Logger;
  /** Test seam: wraps the document store, e.g. to inject storage faults. */
  decorateStore?: (store: DocumentStore) => DocumentStore;
}

export async function startNode(config: Config, opts: NodeOptions = {}): Promise<RunningNode> {
  const log = opts.log ?? createLogger(config.logLevel);
  mkdirSync(config.dataDir, { recursive: true });
  const infra = openInfrastructure(config, { log, ...(opts.decorateStore ? { decorateStore: opts.decorateStore } : {}) });
  const { store, eventLog, bus } = infra;
  const executions = new ExecutionStore(store);
  const events = new EventStore(store);
  const publisher = new EventPublisher(events, eventLog, bus, (err, event) =>
    log.warn({ err, event_type: event.event_type, execution_id: event.aggregate_id }, 'live fan-out failed; streams catch up from the event store'),
  );
  const outputStore = new OutputStore(store);
  const output = new OutputPublisher(outputStore, bus, (err, executionId) =>
    log.warn({ err, execution_id: executionId }, 'live output not stored or not fanned out; the final result still has it'),
  );
  const settings = await openSettings(config, store, log, bus);
  const tracing = config.tracing ? startNodeTracing(config, infra.mode, settings) : null;
  const metrics = createPlatformMetrics({
    nodeId: config.nodeId,
    mode: infra.mode,
    otlpEndpoint: config.otlpEndpoint ?? undefined,
    exportIntervalMs: config.metricExportIntervalMs,
  });
  const policy = SupervisionPolicySchema.parse(DEFAULT_POLICY);
  const crashes = new CrashLedger();
  const clusterView = createClusterView({
    nodeId: config.nodeId,
    partitions: config.partitions,
    system: () => system,
    crashes,
    registry: infra.registry,
    executions,
    rpc: () => rpc,
  });
  const rpc = createNodeRpc({
    bus,
    nodeId: config.nodeId,
    answer: (query) => clusterView.answer(query),
    onError: (err) => log.warn({ err }, 'could not answer another node'),
  });

  let sandbox: Sandbox | undefined;
  let system: Ref<unknown> | undefined;
  let admission: Ref<AdmissionMsg> | undefined;
  let router: PartitionRouter | undefined;
  let consumer: Consumer | undefined;
  let replay: Replay | undefined;
  let http: ReturnType<typeof createHttpServer> | undefined;
  let port = 0;
  let platformComponents: Component[] = [];

  const queue = () => query(admission!, (replyTo: Ref<QueueSnapshot>) => ({ type: 'Snapshot' as const, replyTo }), 5_000) as Promise<QueueSnapshot>;

  const components: Component[] = [
    {
      name: 'storage',
      start: async () => undefined,
      stop: async () => infra.close(),
    },
    {
      name: 'tracing',
      start: async () => undefined,
      stop: async () => tracing?.shutdown().catch((err: unknown) => log.warn({ err }, 'trace exporter did not close cleanly')),
    },
    {
      name: 'sandbox',
      start: async () => {
        if (config.kubernetes) {
          sandbox = await connectKubernetesSandbox(config.kubernetes, {
            partitions: config.partitions,
            cpuMillicores: () => settings.cpuMillicores(),
            executionLive: async (id) => {
              const record = await executions.get(id);
              return record !== null && !isTerminal(record.status);
            },
            onError: (err, what) => log.warn({ err, what }, 'kubernetes sandbox'),
          });
          return;
        }
        const options = { workDir: join(config.dataDir, 'sandbox'), fallbackDir: config.sandboxCacheDir, goCacheDir: join(config.sandboxCacheDir, 'go') };
        sandbox = config.sandboxWorkerThread ? await createThreadedBwrapSandbox(options) : await createBwrapSandbox(options);
      },
      stop: async () => sandbox?.close(),
    },
    {
      name: 'actors',
      start: async () => {
        system = startActorSystem() as Ref<unknown>;
        admission = spawnAdmission(system, settings.current().max_concurrent_executions, {
          semaphore: infra.semaphore,
          onError: (err, what) => log.warn({ err, what }, 'admission: global concurrency semaphore'),
        });
        const deps = { executions, publisher, policy, crashes };
        router = new PartitionRouter(system, {
          executions,
          execution: deps,
          saga: {
            admission,
            sandbox: instrumentSandbox(sandbox!),
            sagas: new SagaStore(store),
            output,
            limitsFor: () => settings.limitsFor(),
            maxAttempts: config.maxAttempts,
            deadlineGraceMs: config.sagaDeadlineGraceMs,
            policy,
            crashes,
          },
          log,
        });
        replay = createReplay({ root: system, store, eventLog, bus, nodeId: config.nodeId, replayDir: config.replayDir, policy, crashes, meter: metrics.meter, log });
      },
      stop: async () => {
        await drain(queue, config.shutdownGraceMs);
        router?.stopAll();
        if (system) stopTree(system);
      },
    },
    {
      name: 'log-consumer',
      start: async () => {
        consumer = await eventLog.consume(
          {
            group: 'execution-owners',
            topics: [TOPICS.executionCommands],
            retry: RETRY_POLICIES[TOPICS.executionCommands],
            onAssigned: async (partitions) => {
              log.info({ partitions }, 'partitions assigned');
              sandbox!.scope?.([...router!.ownedPartitions(), ...partitions]);
              const recovered = await router!.assigned(partitions);
              if (recovered) log.info({ recovered }, 'recovered unfinished executions');
            },
            onRevoked: (partitions) => {
              log.info({ partitions }, 'partitions revoked');
              router!.revoked(partitions);
              sandbox!.scope?.(router!.ownedPartitions());
            },
          },
          (record) => consumeInSpan(record, () => router!.route(record)),
        );
      },
      stop: async () => consumer?.stop(),
    },
    {
      name: 'http',
      start: async () => {
        const sse = createSseBranch(system!, {
          bus,
          executions,
          events,
          output: outputStore,
          onError: (err, channel) => log.warn({ err, channel }, 'execution stream fan-out'),
        });
        const platform = await buildPlatform({
          config,
          store,
          bus,
          eventLog,
          counters: infra.counters,
          executions,
          settings,
          admission: admissionClient(admission!),
          runtimes: sandbox!.runtimes,
          log,
        });
        platformComponents = await startAll(platform.components);
        http = createHttpServer({
          ...platform.pipeline,
          routes: [
            ...platform.routes,
            adminClusterRoutes({
              mode: infra.mode,
              nodeId: config.nodeId,
              nodes: () => infra.registry.list(),
              nodeTree: (nodeId) => clusterView.nodeTree(nodeId),
              executionActors: (executionId) => clusterView.executionActors(executionId),
            }),
            metricsRoutes(metrics),
            replayRoutes(replay!.service),
          ],
          executions: createExecutionService({
            executions,
            events,
            idempotency: infra.idempotency,
            publisher,
            runtimes: sandbox!.runtimes,
            partitions: config.partitions,
            limits: () => settings.limitsFor(),
            cpuMillicores: () => settings.cpuMillicores(),
            streams: sse,
            onPublishDeferred: (err, executionId) => log.warn({ err, execution_id: executionId }, 'execution accepted; its request event is published later'),
          }),
          health: createHealthService({ store, eventLog, bus, sandbox: sandbox! }),
          log,
          site: loadSite(config.webDir, log),
          ...(tracing ? { tracing: tracing.sampler } : {}),
          config: {
            host: config.host,
            port: config.port,
            maxBodyBytes: config.maxBodyBytes,
            corsOrigins: config.corsOrigins,
            sseHeartbeatMs: config.sseHeartbeatMs,
            sseMaxBufferedBytes: config.sseMaxBufferedBytes,
          },
        });
        const server = http;
        metrics.observe({
          http: () => server.metrics(),
          httpActive: () => server.activeRequests(),
          actors: () => clusterView.totals(),
          consumerLag: () => eventLog.lag(),
          sse: () => server.sseStats(),
          admission: () => admissionClient(admission!).snapshot(),
          partitions: () => router!.ownedPartitions(),
          deadLetters: () => platform.deadLetterStats(),
          notifications: () => platform.notificationStats(),
        });
        port = (await http.listen()).port;
      },
      stop: async () => {
        await http?.close();
        await stopAll(platformComponents, 5_000);
        await metrics.close().catch((err: unknown) => log.warn({ err }, 'metrics exporter did not close cleanly'));
      },
    },
  ];

  components.push(
    {
      name: 'replay',
      start: () => replay!.component.start(),
      stop: async () => replay?.component.stop(),
    },
    {
      name: 'node-rpc',
      start: () => rpc.start(),
      stop: () => rpc.stop(),
    },
    membership(config, infra, () => ({ port, router: router!, http: http!, view: clusterView }), log),
  );

  const started = await startAll(components);
  log.info({ port, mode: infra.mode, nodeId: config.nodeId, dataDir: config.dataDir, runtimes: sandbox!.runtimes.list() }, 'node started');
  return {
    port,
    mode: infra.mode,
    nodeId: config.nodeId,
    log,
    sandbox: sandbox!,
    router: router!,
    crashes,
    queue,
    stop: () => stopAll(started, config.shutdownGraceMs + 5_000, (name, err) => log.error({ component: name, err }, 'stop failed')),
  };
}

/** Starts the tracing SDK with the sampling the admin settings hold, and keeps it following them. */
function startNodeTracing(config: Config, mode: Infrastructure['mode'], settings: Awaited<ReturnType<typeof openSettings>>): Tracing {
  const sampling = (s: AdminSettings) => ({ enabled: s.enable_tracing, ratio: s.sampling_rate });
  const tracing = startTracing({
    nodeId: config.nodeId,
    mode,
    sampling: sampling(settings.current()),
    otlpEndpoint: config.otlpEndpoint,
    spansFile: config.tracing?.spansFile ?? null,
  });
  settings.onChange((next) => tracing.sampler.configure(sampling(next)));
  return tracing;
}

/** Waits until no execution holds a slot, or the grace period ends. */
async function drain(queue: () => Promise<QueueSnapshot>, graceMs: number): Promise<void> {
  const until = Date.now() + graceMs;
  while (Date.now() < until) {
    const snap = await queue().catch(() => null);
    if (!snap || snap.active_count === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const HEARTBEAT_MS = 2_000;
const HEARTBEAT_TTL_MS = 3 * HEARTBEAT_MS;

/** Announces the node in the registry every HEARTBEAT_MS (owned partitions, actor counts) and withdraws it on stop. */
function membership(
  config: Config,
  infra: Infrastructure,
  parts: () => { port: number; router: PartitionRouter; http: ReturnType<typeof createHttpServer>; view: ClusterView },
  log: Logger,
): Component {
  const startedAt = new Date().toISOString();
  let timer: NodeJS.Timeout | undefined;
  const beat = async () => {
    const { port, router, http, view } = parts();
    const figures = view.figures();
    await infra.registry.heartbeat(
      {
        nodeId: config.nodeId,
        address: config.advertisedUrl ?? `http://${config.host}:${port}`,
        startedAt,
        partitions: router.ownedPartitions(),
        // Open streams rather than the SSE branch's actor count: what an operator wants to know.
        actors: { ...figures.actors, sse: http.sseStats().open },
        mailboxes: figures.mailboxes,
        restarts: figures.restarts,
        crashes: figures.crashes,
      },
      HEARTBEAT_TTL_MS,
    );
  };
  const tick = () => {
    beat()
      .catch((err: unknown) => log.warn({ err }, 'node heartbeat failed'))
      .finally(() => {
        if (timer) timer = setTimeout(tick, HEARTBEAT_MS).unref();
      });
  };
  return {
    name: 'membership',
    start: async () => {
      await beat().catch((err: unknown) => log.warn({ err }, 'first node heartbeat failed'));
      timer = setTimeout(tick, HEARTBEAT_MS).unref();
    },
    stop: async () => {
      clearTimeout(timer);
      timer = undefined;
      await infra.registry.remove(config.nodeId).catch(() => false);
    },
  };
}

/** The built SPA, or null (with a warning) when it was not built: the API still serves. */
function loadSite(webDir: string, log: Logger): StaticSite | null {
  const site = loadStaticSite(webDir);
  if (site) log.info({ webDir, files: site.fileCount }, 'serving the web app');
  else log.warn({ webDir }, 'no built web app (run npm run build:web): only the API is served');
  return site;
}
