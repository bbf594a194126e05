import type { Logger } from 'pino';
import type { AdmissionClient } from '../actors/admission/client.js';
import { adminDlqRoutes } from '../http/routes/admin-dlq.js';
import { adminEventRoutes } from '../http/routes/admin-events.js';
import { adminExecutionRoutes } from '../http/routes/admin-executions.js';
import { adminRateLimitRoutes } from '../http/routes/admin-rate-limits.js';
import { adminSettingsRoutes } from '../http/routes/admin-settings.js';
import { adminUserRoutes } from '../http/routes/admin-users.js';
import { authRoutes } from '../http/routes/auth.js';
import { docsRoutes } from '../http/routes/docs.js';
import { notificationRoutes } from '../http/routes/notifications.js';
import { sagaRoutes } from '../http/routes/sagas.js';
import { scriptRoutes } from '../http/routes/scripts.js';
import { userSettingsRoutes } from '../http/routes/user-settings.js';
import type { HttpServerDeps, RouteGroup } from '../http/server.js';
import type { Component } from './components.js';
import type { Config } from './config.js';
import { EXECUTION_STATUSES } from './domain/execution.js';
import { RETRY_POLICIES, TOPICS } from './events/topics.js';
import type { DocumentStore } from './ports/document-store.js';
import type { Consumer, EventLog } from './ports/event-log.js';
import type { FanoutBus } from './ports/fanout-bus.js';
import type { RateLimitStore } from './ports/rate-limit-store.js';
import { PasswordHasher } from './security/passwords.js';
import { resolveSecretKey } from './security/secret-key.js';
import { SessionTokens } from './security/sessions.js';
import { AccountService, createCallerResolver, createCsrfVerifier } from './services/accounts.js';
import { createAdminExecutionService } from './services/admin-executions.js';
import { applySettings, openAdminSettings, type AdminSettingsService } from './services/admin-settings.js';
import { AdminUserService } from './services/admin-users.js';
import { createHttpDeliverer } from './services/notification-delivery.js';
import type { NotificationStats } from './services/notification-dispatch.js';
import { createNotificationService, notificationRecordHandler } from './services/notifications.js';
import { createRateLimitService } from './services/rate-limits.js';
import { createAdminEventService } from './services/admin-events.js';
import { deadLetterIntake } from './services/dead-letter-intake.js';
import { createDeadLetterService, type DeadLetterStats } from './services/dead-letters.js';
import { createSagaService } from './services/sagas.js';
import { createScriptService } from './services/scripts.js';
import { createUserSettingsService } from './services/user-settings.js';
import type { RuntimeCatalogue } from './domain/runtimes.js';
import { AdminSettingsStore } from './stores/admin-settings-store.js';
import type { ExecutionStore } from './stores/execution-store.js';
import { NotificationStore } from './stores/notification-store.js';
import { ScriptStore } from './stores/script-store.js';
import { SettingsStore } from './stores/settings-store.js';
import { RevokedSessions, UserStore } from './stores/user-store.js';
import { EventPublisher } from './events/publisher.js';
import { EventStore } from './stores/event-store.js';
import { SagaStore } from './stores/saga-store.js';
import { DeadLetterStore } from './stores/dead-letter-store.js';

/** The bus channel on which a node that changed the admin settings tells the others. */
export const SETTINGS_CHANNEL = 'admin-settings';

/**
 * The run-time admin settings, opened before the actors so new runs use their limits. A change stored on one node
 * is announced on the bus, and every other node reads the stored settings again and puts them in force (log level,
 * concurrency cap, trace sampling). An announcement lost while the bus is down is caught up by the next change.
 */
export async function openSettings(config: Config, store: DocumentStore, log: Logger, bus: FanoutBus): Promise<AdminSettingsService> {
  const settings = await openAdminSettings({
    store: new AdminSettingsStore(store),
    config,
    log,
    announce: () => void bus.publish(SETTINGS_CHANNEL, config.nodeId).catch((err: unknown) => log.warn({ err }, 'could not tell the other nodes about a settings change')),
  });
  await bus.subscribe(SETTINGS_CHANNEL, (from) => {
    if (from !== config.nodeId) settings.refresh().catch((err: unknown) => log.warn({ err }, 'could not read the settings another node changed'));
  });
  return settings;
}

export interface PlatformDeps {
  config: Config;
  store: DocumentStore;
  bus: FanoutBus;
  eventLog: EventLog;
  /** Rate-limit counters (memory in embedded mode, Redis in a cluster); closed by the node, not here. */
  counters: RateLimitStore;
  executions: ExecutionStore;
  settings: AdminSettingsService;
  admission: AdmissionClient;
  runtimes: RuntimeCatalogue;
  log: Logger;
}

/** What the HTTP platform adds to a node: the pipeline's auth, CSRF and rate-limit steps, route groups, components. */
export interface Platform {
  pipeline: Pick<HttpServerDeps, 'resolveCaller' | 'csrf' | 'rateLimiter'>;
  routes: RouteGroup[];
  /** Background parts with a lifecycle (the notification consumer, the dead-letter intake). */
  components: Component[];
  /** Dead letters waiting for an admin and the age of the oldest, for the metrics. */
  deadLetterStats(): Promise<DeadLetterStats>;
  /** Webhook/Slack notifications sent, failed and throttled by channel on this node, for the metrics. */
  notificationStats(): NotificationStats;
}

/** Builds accounts, rate limits, scripts, settings, notifications and the admin API on the node's stores. */
export async function buildPlatform(d: PlatformDeps): Promise<Platform> {
  const { store, settings, log } = d;
  // At boot only what admins overrode is pushed; the node already runs with Config's values.
  applySettings(settings.current(), hooks(d), settings.defaults());
  settings.onChange((next, prev) => applySettings(next, hooks(d), prev));

  const tokens = new SessionTokens(await resolveSecretKey(d.config));
  const passwords = new PasswordHasher();
  const users = new UserStore(store);
  const accounts = new AccountService({ users, revoked: new RevokedSessions(store), tokens, passwords, settings: settings.current });
  if (d.config.admin) await accounts.ensureAdmin(d.config.admin.username, d.config.admin.password);

  const rateLimits = createRateLimitService({ store, counters: d.counters, onError: (err, what) => log.warn({ err, what }, 'rate limiting degraded') });
  const scripts = createScriptService({ scripts: new ScriptStore(store), runtimes: d.runtimes });
  const userSettings = createUserSettingsService({ store: new SettingsStore(store) });
  const targets = { allowPrivateTargets: d.config.notificationAllowPrivateTargets };
  const notifications = createNotificationService({
    store: new NotificationStore(store),
    bus: d.bus,
    preferences: async (userId) => (await userSettings.get(userId)).notifications,
    deliverer: createHttpDeliverer(undefined, targets),
    targets,
    executionLang: async (id) => (await d.executions.get(id))?.lang ?? null,
    counters: d.counters,
    throttle: d.config.notificationThrottlePerMinute > 0 ? { limit: d.config.notificationThrottlePerMinute, windowMs: 60_000 } : null,
    sweepIntervalMs: d.config.notificationSweepMs,
    log,
  });
  const adminUsers = new AdminUserService({
    users,
    passwords,
    settings: settings.current,
    executionStats: async (userId) => {
      const counts = await Promise.all(EXECUTION_STATUSES.map((status) => d.executions.count({ user_id: userId, status })));
      return {
        total: counts.reduce((a, b) => a + b, 0),
        by_status: Object.fromEntries(EXECUTION_STATUSES.map((s, i) => [s, counts[i]!] as const).filter(([, n]) => n > 0)),
      };
    },
    onUserDeleted: [scripts.deleteAllFor, userSettings.deleteAllFor, notifications.deleteAllFor],
  });
  const adminExecutions = createAdminExecutionService({ executions: d.executions, admission: d.admission });
  const events = new EventStore(store);
  const publisher = new EventPublisher(events, d.eventLog, d.bus, (err, event) =>
    log.warn({ err, event_type: event.event_type, execution_id: event.aggregate_id }, 'live fan-out failed; streams catch up from the event store'),
  );
  const sagas = createSagaService({ sagas: new SagaStore(store), executions: d.executions, publisher });
  const deadLetters = createDeadLetterService({ store: new DeadLetterStore(store), log: d.eventLog });

  let consumer: Consumer | undefined;
  return {
    pipeline: { resolveCaller: createCallerResolver(accounts), csrf: createCsrfVerifier(tokens), rateLimiter: rateLimits },
    routes: [
      authRoutes({ accounts }),
      scriptRoutes({ scripts }),
      userSettingsRoutes({ settings: userSettings }),
      notificationRoutes({ notifications }),
      adminUserRoutes({ adminUsers }),
      adminExecutionRoutes(adminExecutions),
      adminSettingsRoutes(settings),
      adminRateLimitRoutes({ rateLimits }),
      sagaRoutes(sagas),
      adminDlqRoutes(deadLetters),
      adminEventRoutes(createAdminEventService({ events })),
      docsRoutes(),
    ],
    components: [
      {
        name: 'notification-consumer',
        start: async () => {
          consumer = await d.eventLog.consume(
            { group: 'notifications', topics: [TOPICS.executionEvents], retry: RETRY_POLICIES[TOPICS.executionEvents] },
            notificationRecordHandler(notifications),
          );
        },
        stop: async () => {
          await consumer?.stop();
        },
      },
      { name: 'notification-sweeper', start: () => notifications.start(), stop: () => notifications.stop() },
      deadLetterIntake({ log: d.eventLog, service: deadLetters, onError: (err) => log.warn({ err }, 'dead letter not stored; trying again') }),
    ],
    deadLetterStats: () => deadLetters.stats(),
    notificationStats: () => notifications.stats(),
  };
}

function hooks(d: PlatformDeps) {
  return {
    setMaxConcurrent: (n: number) => d.admission.setMaxConcurrent(n),
    setLogLevel: (level: string) => {
      d.log.level = level;
    },
  };
}
