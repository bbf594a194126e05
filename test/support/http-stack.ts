import { createMemorySemaphore } from '../../system/embedded/concurrency-semaphore.js';
/**
 * A fully wired HTTP server for route, property and bench runs, without the sandbox or the execution actors:
 * real SQLite stores in a temp dir, the real services, a real admission actor, the SSE branch and every route
 * group of the executions/admin/docs API. Callers come from the test header (see http/test-caller.ts) until
 * sessions exist. Submitted executions stay `queued` (nothing consumes the command log).
 */
import { dispatch, spawnStateless, start as startActors, stop as stopActor, type Ref } from 'nact';
import { spawnAdmission } from '../../actors/admission/admission.actor.js';
import { admissionClient, type AdmissionClient } from '../../actors/admission/client.js';
import { recordFromRequest } from '../../system/domain/record-from-request.js';
import { createSseBranch } from '../../actors/sse-session/opener.js';
import { adminExecutionRoutes } from '../../http/routes/admin-executions.js';
import { adminSettingsRoutes } from '../../http/routes/admin-settings.js';
import { docsRoutes } from '../../http/routes/docs.js';
import type { AdmissionMsg, AdmissionReply } from '../../actors/admission/messages.js';
import type { HttpLogger } from '../../http/log.js';
import type { Router, RouteInfo } from '../../http/router.js';
import { createHttpServer, type HttpServer, type HttpServerDeps, type RouteGroup } from '../../http/server.js';
import { testCallerResolver } from '../../http/test-caller.js';
import { loadConfig, type Config } from '../../system/config.js';
import type { AdminSettings, SettingsReader } from '../../system/domain/admin-settings.js';
import { stampEvent } from '../../system/domain/events.js';
import type { ExecutionRecord, Priority } from '../../system/domain/execution.js';
import { partitionOf } from '../../system/domain/partition.js';
import type { RuntimeCatalogue, RuntimeInfo } from '../../system/domain/runtimes.js';
import { createSqliteDocumentStore } from '../../system/embedded/document-store.js';
import { createSqliteEventLog } from '../../system/embedded/event-log.js';
import { createInProcessBus } from '../../system/embedded/fanout-bus.js';
import { openDataDir } from '../../system/embedded/sqlite.js';
import type { DocumentStore } from '../../system/ports/document-store.js';
import type { EventLog } from '../../system/ports/event-log.js';
import { EventPublisher } from '../../system/events/publisher.js';
import { createAdminExecutionService } from '../../system/services/admin-executions.js';
import { applySettings, openAdminSettings, type AdminSettingsService } from '../../system/services/admin-settings.js';
import { createExecutionService } from '../../system/services/execution-service.js';
import type { ExecutionService, HealthService } from '../../system/services/types.js';
import { AdminSettingsStore } from '../../system/stores/admin-settings-store.js';
import { OutputStore } from '../../system/stores/output-store.js';
import { EventStore } from '../../system/stores/event-store.js';
import { ExecutionStore } from '../../system/stores/execution-store.js';
import { IdempotencyStore } from '../../system/stores/idempotency-store.js';
import { createTempDir } from './temp-dir.js';
import type { RequestSampling } from '../../http/tracing.js';
import { tracedDocumentStore } from '../../system/telemetry/traced-store.js';

const RUNTIMES: RuntimeInfo[] = [
  { lang: 'python', versions: ['3.11'], fileExt: 'py' },
  { lang: 'node', versions: ['20'], fileExt: 'js' },
  { lang: 'bash', versions: ['5.2'], fileExt: 'sh' },
];

/** A fixed runtime catalogue (no sandbox is started). */
export const staticRuntimes: RuntimeCatalogue = {
  list: () => RUNTIMES,
  find: (lang) => RUNTIMES.find((r) => r.lang === lang),
};

/** A logger that drops everything but keeps errors for assertions. */
export class QuietLog implements HttpLogger {
  readonly errors: Array<{ fields: Record<string, unknown>; message: string }> = [];
  info(): void {}
  warn(): void {}
  error(fields: Record<string, unknown>, message: string): void {
    this.errors.push({ fields, message });
  }
}

/** Replaces the test-header caller with real sessions (or anything else) built on the stack's store. */
export type StackAuth = (parts: { store: DocumentStore; config: Config; settings: SettingsReader }) => Promise<Pick<HttpServerDeps, 'resolveCaller' | 'csrf' | 'rateLimiter'>>;

/** The started stack and its parts. */
export interface HttpStack {
  base: string;
  port: number;
  server: HttpServer;
  config: Config;
  store: DocumentStore;
  executionStore: ExecutionStore;
  events: EventStore;
  /** The stack's event log (embedded) and the publisher the execution service uses. */
  eventLog: EventLog;
  publisher: EventPublisher;
  executions: ExecutionService;
  settings: AdminSettingsService;
  admission: AdmissionClient;
  log: QuietLog;
  /** Log levels the settings hook was asked to set, in order. */
  logLevels: Array<AdminSettings['log_level']>;
  /** Every route of the wired server (read from its router at call time). */
  routes(): RouteInfo[];
  /** Asks admission for a slot the way a saga does; granted ids are appended to `granted`. */
  acquire(executionId: string, priority: Priority): void;
  granted: string[];
  /** Stores an execution directly (for states the HTTP API cannot produce without a sandbox). */
  seed(userId: string | null, patch?: Partial<ExecutionRecord>): Promise<ExecutionRecord>;
  close(): Promise<void>;
}

/** Starts the stack on 127.0.0.1, port 0; `env` overrides configuration variables, `auth` the caller resolution. */
/** The stack's parts a test's extra route groups can be built on. */
export interface StackParts {
  store: DocumentStore;
  executionStore: ExecutionStore;
  events: EventStore;
  eventLog: EventLog;
  publisher: EventPublisher;
}

export async function startHttpStack(
  env: Record<string, string> = {},
  extraRoutes: RouteGroup[] | ((parts: StackParts) => RouteGroup[]) = [],
  auth?: StackAuth,
  /** `tracing`: server spans sampled by it, and store calls traced, as in a node (the SDK is the caller's to start). */
  options: { tracing?: RequestSampling } = {},
): Promise<HttpStack> {
  const dir = await createTempDir('integr8s-http-');
  const config = loadConfig({ PORT: '0', DATA_DIR: dir.path, LOG_LEVEL: 'silent', EVENT_PARTITIONS: '4', ...env });
  const db = openDataDir(dir.path);
  const sqlite = createSqliteDocumentStore(db);
  const store = options.tracing ? tracedDocumentStore(sqlite, 'sqlite') : sqlite;
  const eventLog = createSqliteEventLog(db, { partitions: config.partitions });
  const bus = createInProcessBus();
  const executionStore = new ExecutionStore(store);
  const events = new EventStore(store);
  const publisher = new EventPublisher(events, eventLog, bus);
  const log = new QuietLog();
  const settings = await openAdminSettings({ store: new AdminSettingsStore(store), config, log });

  const system = startActors() as Ref<unknown>;
  const admissionRef: Ref<AdmissionMsg> = spawnAdmission(system, config.maxConcurrentExecutions, { semaphore: createMemorySemaphore() });
  const admission = admissionClient(admissionRef);
  const granted: string[] = [];
  const grants = spawnStateless(system as Ref<never>, (msg: AdmissionReply) => {
    if (msg.type === 'SlotGranted') granted.push(msg.executionId);
  }) as Ref<AdmissionReply>;
  let router: Router | null = null;
  const logLevels: Array<AdminSettings['log_level']> = [];
  const hooks = { setMaxConcurrent: (n: number) => admission.setMaxConcurrent(n), setLogLevel: (l: AdminSettings['log_level']) => logLevels.push(l) };
  applySettings(settings.current(), hooks, settings.defaults());
  settings.onChange((next, prev) => applySettings(next, hooks, prev));

  const executions = createExecutionService({
    executions: executionStore,
    events,
    idempotency: new IdempotencyStore(store),
    publisher,
    runtimes: staticRuntimes,
    partitions: config.partitions,
    limits: settings.limitsFor,
    cpuMillicores: settings.cpuMillicores,
    streams: createSseBranch(system, { bus, executions: executionStore, events, output: new OutputStore(store) }),
  });
  const health: HealthService = {
    live: () => ({ status: 'ok', uptime_seconds: 0, timestamp: new Date().toISOString() }),
    ready: async () => {
      await store.ping();
      return { status: 'ok', checks: { store: { ok: true, detail: 'ok' } } };
    },
  };
  const callers = auth ? await auth({ store, config, settings: settings.current }) : { resolveCaller: testCallerResolver() };
  const server = createHttpServer({
    executions,
    health,
    log,
    ...callers,
    ...(options.tracing ? { tracing: options.tracing } : {}),
    routes: [
      // First on purpose: the document is read from the router at request time, so later groups are listed too.
      docsRoutes(),
      adminExecutionRoutes(createAdminExecutionService({ executions: executionStore, admission })),
      adminSettingsRoutes(settings),
      ...(typeof extraRoutes === 'function' ? extraRoutes({ store, executionStore, events, eventLog, publisher }) : extraRoutes),
      (r) => {
        router = r;
      },
    ],
    config: {
      host: '127.0.0.1',
      port: 0,
      maxBodyBytes: config.maxBodyBytes,
      corsOrigins: [],
      sseHeartbeatMs: 15_000,
      sseMaxBufferedBytes: config.sseMaxBufferedBytes,
      shutdownGraceMs: 500,
    },
  });
  const { port } = await server.listen();

  const seed: HttpStack['seed'] = async (userId, patch = {}) => {
    const request = stampEvent(
      'execution_requested',
      crypto.randomUUID(),
      { execution_id: '', script: 'print(1)', lang: 'python', lang_version: '3.11', priority: 'normal' },
      { user_id: userId },
    );
    const id = request.aggregate_id;
    const record = { ...recordFromRequest({ ...request, execution_id: id }, partitionOf(id, config.partitions)), ...patch, id, execution_id: id };
    await executionStore.create(record);
    return record;
  };

  return {
    base: `http://127.0.0.1:${port}`,
    port,
    server,
    config,
    store,
    executionStore,
    events,
    eventLog,
    publisher,
    executions,
    settings,
    admission,
    log,
    logLevels,
    routes: () => router?.list() ?? [],
    acquire: (executionId, priority) => dispatch(admissionRef, { type: 'Acquire', executionId, priority, replyTo: grants }),
    granted,
    seed,
    close: async () => {
      await server.close();
      stopActor(system);
      await eventLog.close();
      await bus.close();
      await store.close();
      await dir.cleanup();
    },
  };
}
