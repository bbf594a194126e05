import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { Limits } from './domain/limits.js';

const int = (def: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(def);

/** Every setting the node reads from the environment, with its default. The README's configuration table mirrors it. */
const EnvSchema = z
  .object({
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: int(8080, 0, 65535),
    DATA_DIR: z.string().min(1).default('./data'),
    REPLAY_DIR: z.string().min(1).optional(),
    WEB_DIR: z.string().min(1).optional(),
    LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    ADMIN_USERNAME: z.string().min(3).max(64).optional(),
    ADMIN_PASSWORD: z.string().min(8, 'must be at least 8 characters').optional(),
    SECRET_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
    MAX_CONCURRENT_EXECUTIONS: int(Math.max(2, os.cpus().length * 2), 1, 10_000),
    EVENT_PARTITIONS: int(16, 1, 1024),
    SANDBOX_TIMEOUT_SECONDS: int(10, 1, 3600),
    SANDBOX_CPU_SECONDS: int(10, 1, 3600),
    SANDBOX_MEMORY_MB: int(256, 16, 65_536),
    SANDBOX_PIDS: int(64, 4, 100_000),
    SANDBOX_OUTPUT_KB: int(1024, 1, 1_048_576),
    SANDBOX_FILE_MB: int(16, 1, 65_536),
    SANDBOX_TMPFS_MB: int(64, 1, 65_536),
    SANDBOX_CPU_MILLICORES: int(1000, 10, 64_000),
    SANDBOX_MAX_ATTEMPTS: int(3, 1, 10),
    SAGA_DEADLINE_GRACE_SECONDS: int(30, 0, 3600),
    NOTIFICATION_THROTTLE_PER_MINUTE: int(30, 0, 100_000),
    NOTIFICATION_SWEEP_SECONDS: int(5, 1, 3600),
    NOTIFICATION_ALLOW_PRIVATE_TARGETS: z.enum(['true', 'false']).default('false'),
    SANDBOX_CACHE_DIR: z.string().min(1).default('/var/cache/integr8s-sandbox'),
    SANDBOX_WORKER_THREAD: z.enum(['true', 'false']).default('false'),
    SSE_HEARTBEAT_SECONDS: int(15, 1, 3600),
    SSE_MAX_BUFFER_KB: int(1024, 16, 1_048_576),
    MAX_BODY_MB: int(10, 1, 1024),
    CORS_ORIGINS: z.string().default(''),
    SHUTDOWN_GRACE_SECONDS: int(10, 0, 3600),
    KAFKA_BROKERS: z.string().regex(/^[^,\s]+(,[^,\s]+)*$/, 'a comma-separated list of host:port').optional(),
    MONGO_URL: z.string().regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb:// or mongodb+srv://').optional(),
    MONGO_DB: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, '1 to 63 letters, digits, dashes or underscores').optional(),
    CLUSTER_NAMESPACE: z.string().regex(/^[A-Za-z0-9_-]{0,40}$/, 'up to 40 letters, digits, dashes or underscores').default(''),
    REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional(),
    KAFKA_SESSION_TIMEOUT_MS: int(6_000, 6_000, 300_000),
    NODE_ID: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, '1 to 64 letters, digits, dots, dashes or underscores').optional(),
    ADVERTISED_URL: z.url().optional(),
    OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
    OTEL_METRIC_EXPORT_INTERVAL: z.coerce.number().int().min(100).max(3_600_000).default(15_000),
    OTEL_SDK_DISABLED: z.enum(['true', 'false']).default('false'),
    OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(0.1),
    TRACE_SPANS_FILE: z.string().min(1).optional(),
    SANDBOX: z.enum(['bwrap', 'kubernetes']).default('bwrap'),
    KUBECONFIG: z.string().min(1).optional(),
    KUBERNETES_SERVICE_HOST: z.string().optional(),
    K8S_NAMESPACE: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'a DNS label: lower-case letters, digits and dashes, at most 63').default('integr8s-executors'),
    K8S_RUNTIME_CLASS: z.string().regex(/^[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$/, 'a RuntimeClass name (DNS subdomain)').optional(),
    K8S_IMAGE_PREFIX: z.string().regex(/^\S*$/, 'no spaces: a registry path ending in / (e.g. registry.example.com/integr8s/), or empty').default(''),
    K8S_HARDEN_NAMESPACE: z.enum(['true', 'false']).default('true'),
  })
  .refine((e) => (e.ADMIN_USERNAME === undefined) === (e.ADMIN_PASSWORD === undefined), {
    message: 'set both ADMIN_USERNAME and ADMIN_PASSWORD, or neither',
    path: ['ADMIN_PASSWORD'],
  })
  .superRefine((e, ctx) => {
    if (e.SANDBOX === 'kubernetes' && !e.KUBECONFIG && !e.KUBERNETES_SERVICE_HOST) {
      ctx.addIssue({ code: 'custom', path: ['SANDBOX'], message: 'kubernetes needs KUBECONFIG (a kubeconfig file) or to run in a pod (in-cluster config, KUBERNETES_SERVICE_HOST)' });
    }
  })
  .superRefine((e, ctx) => {
    const cluster = { KAFKA_BROKERS: e.KAFKA_BROKERS, MONGO_URL: e.MONGO_URL, REDIS_URL: e.REDIS_URL };
    const given = Object.entries(cluster).filter(([, v]) => v !== undefined);
    if (given.length === 0) return;
    for (const [name, value] of Object.entries(cluster)) {
      if (value === undefined) ctx.addIssue({ code: 'custom', path: [name], message: `cluster mode needs it too (${given.map(([n]) => n).join(', ')} set)` });
    }
    if (e.SECRET_KEY === undefined) ctx.addIssue({ code: 'custom', path: ['SECRET_KEY'], message: 'cluster mode needs one key shared by every node' });
  });

/** Where and how the Kubernetes sandbox backend runs pods (SANDBOX=kubernetes). */
export interface KubernetesConfig {
  /** A kubeconfig file; null: the in-cluster service account. */
  kubeconfig: string | null;
  namespace: string;
  runtimeClassName: string | null;
  imagePrefix: string;
  hardenNamespace: boolean;
}

/** Where a cluster node finds the shared servers. */
export interface ClusterConfig {
  kafkaBrokers: string[];
  mongoUrl: string;
  mongoDb: string;
  redisUrl: string;
  /** How long the group waits for a silent node before its partitions move (the failover floor). */
  kafkaSessionTimeoutMs: number;
  /**
   * Keeps deployments that share servers apart: prefixes Kafka topics and consumer groups (`<ns>.`) and Redis
   * keys, and names the default MongoDB database. Empty: the plain topic names.
   */
  namespace: string;
}

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** Where replay sessions with target `file` write their JSON-lines files (REPLAY_DIR, default DATA_DIR/replays). */
  replayDir: string;
  /** The built SPA (index.html and assets/) served at `/`; default web/dist of this checkout. */
  webDir: string;
  logLevel: string;
  admin: { username: string; password: string } | null;
  /** Signs sessions and CSRF tokens; shared by a cluster's nodes. Null: embedded mode keeps a generated one in DATA_DIR. */
  secretKey: string | null;
  maxConcurrentExecutions: number;
  partitions: number;
  limits: Limits;
  cpuMillicores: number;
  maxAttempts: number;
  /** A saga's deadline is its sandbox's start + the wall limit + this; past it the saga ends the run as timeout. */
  sagaDeadlineGraceMs: number;
  /** Webhook/Slack copies of low/medium notifications one user may get per channel per minute (0: no limit). */
  notificationThrottlePerMinute: number;
  /** How often each node sends held and batched notifications that are due. */
  notificationSweepMs: number;
  /**
   * Webhook/Slack deliveries may go to loopback, private (RFC 1918), carrier-grade NAT and unique-local addresses and
   * use http: (on-premise receivers). False: public https targets only. Link-local and multicast are never allowed.
   */
  notificationAllowPrivateTargets: boolean;
  /** Host-wide cache shared by nodes and data dirs (the compiled Go standard library). */
  sandboxCacheDir: string;
  /** Set: code runs in Kubernetes pods; null: in the local bubblewrap sandbox. */
  kubernetes: KubernetesConfig | null;
  /** Run the sandbox backend in a worker thread (pays off when the main thread, not the CPU, is the limit). */
  sandboxWorkerThread: boolean;
  sseHeartbeatMs: number;
  sseMaxBufferedBytes: number;
  maxBodyBytes: number;
  corsOrigins: string[];
  shutdownGraceMs: number;
  /** Null: embedded mode (SQLite, in-process bus). Set: cluster mode on Kafka, MongoDB and Redis. */
  cluster: ClusterConfig | null;
  /** This node's name in the cluster (node registry, Kafka client id, logs). */
  nodeId: string;
  /** How other nodes and admins reach this node's HTTP server; default http://HOST:PORT. */
  advertisedUrl: string | null;
  /** OTLP/HTTP collector (`http://collector:4318`): metrics are pushed there too; null: /metrics only. */
  otlpEndpoint: string | null;
  /** How often metrics are pushed to the OTLP endpoint (OTEL_METRIC_EXPORT_INTERVAL, ms). */
  metricExportIntervalMs: number;
  /** Tracing: off entirely (OTEL_SDK_DISABLED=true: no spans, no trace ids), else the admin settings' defaults and where spans go. */
  tracing: TracingConfig | null;
}

/** What the tracing SDK starts with; the admin settings `enable_tracing` and `sampling_rate` change the sampling at run time. */
export interface TracingConfig {
  /** The default of `sampling_rate`: the share of new traces recorded (OTEL_TRACES_SAMPLER_ARG). */
  samplingRatio: number;
  /** Finished spans are appended here as JSON lines (TRACE_SPANS_FILE; for tests and debugging), null: not written. */
  spansFile: string | null;
}

/** Thrown when the environment has a bad value; the message names every offending variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads and validates the configuration; throws ConfigError listing each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || 'environment'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return {
    host: e.HOST,
    port: e.PORT,
    dataDir: path.resolve(e.DATA_DIR),
    replayDir: path.resolve(e.REPLAY_DIR ?? path.join(e.DATA_DIR, 'replays')),
    webDir: e.WEB_DIR ? path.resolve(e.WEB_DIR) : fileURLToPath(new URL('../web/dist', import.meta.url)),
    logLevel: e.LOG_LEVEL,
    admin: e.ADMIN_USERNAME && e.ADMIN_PASSWORD ? { username: e.ADMIN_USERNAME, password: e.ADMIN_PASSWORD } : null,
    secretKey: e.SECRET_KEY ?? null,
    maxConcurrentExecutions: e.MAX_CONCURRENT_EXECUTIONS,
    partitions: e.EVENT_PARTITIONS,
    limits: {
      wallMs: e.SANDBOX_TIMEOUT_SECONDS * 1000,
      cpuMs: e.SANDBOX_CPU_SECONDS * 1000,
      memoryBytes: e.SANDBOX_MEMORY_MB * 1024 * 1024,
      pids: e.SANDBOX_PIDS,
      outputBytes: e.SANDBOX_OUTPUT_KB * 1024,
      fileBytes: e.SANDBOX_FILE_MB * 1024 * 1024,
      tmpfsBytes: e.SANDBOX_TMPFS_MB * 1024 * 1024,
    },
    cpuMillicores: e.SANDBOX_CPU_MILLICORES,
    maxAttempts: e.SANDBOX_MAX_ATTEMPTS,
    sagaDeadlineGraceMs: e.SAGA_DEADLINE_GRACE_SECONDS * 1000,
    notificationThrottlePerMinute: e.NOTIFICATION_THROTTLE_PER_MINUTE,
    notificationSweepMs: e.NOTIFICATION_SWEEP_SECONDS * 1000,
    notificationAllowPrivateTargets: e.NOTIFICATION_ALLOW_PRIVATE_TARGETS === 'true',
    sandboxCacheDir: path.resolve(e.SANDBOX_CACHE_DIR),
    sandboxWorkerThread: e.SANDBOX_WORKER_THREAD === 'true',
    kubernetes:
      e.SANDBOX === 'kubernetes'
        ? {
            kubeconfig: e.KUBECONFIG ? path.resolve(e.KUBECONFIG) : null,
            namespace: e.K8S_NAMESPACE,
            runtimeClassName: e.K8S_RUNTIME_CLASS ?? null,
            imagePrefix: e.K8S_IMAGE_PREFIX,
            hardenNamespace: e.K8S_HARDEN_NAMESPACE === 'true',
          }
        : null,
    sseHeartbeatMs: e.SSE_HEARTBEAT_SECONDS * 1000,
    sseMaxBufferedBytes: e.SSE_MAX_BUFFER_KB * 1024,
    maxBodyBytes: e.MAX_BODY_MB * 1024 * 1024,
    corsOrigins: e.CORS_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean),
    shutdownGraceMs: e.SHUTDOWN_GRACE_SECONDS * 1000,
    cluster:
      e.KAFKA_BROKERS && e.MONGO_URL && e.REDIS_URL
        ? {
            kafkaBrokers: e.KAFKA_BROKERS.split(','),
            mongoUrl: e.MONGO_URL,
            mongoDb: e.MONGO_DB ?? (e.CLUSTER_NAMESPACE || 'integr8s'),
            redisUrl: e.REDIS_URL,
            kafkaSessionTimeoutMs: e.KAFKA_SESSION_TIMEOUT_MS,
            namespace: e.CLUSTER_NAMESPACE,
          }
        : null,
    nodeId: e.NODE_ID ?? `${os.hostname()}-${process.pid}`,
    advertisedUrl: e.ADVERTISED_URL ?? null,
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT ?? null,
    metricExportIntervalMs: e.OTEL_METRIC_EXPORT_INTERVAL,
    tracing:
      e.OTEL_SDK_DISABLED === 'true' ? null : { samplingRatio: e.OTEL_TRACES_SAMPLER_ARG, spansFile: e.TRACE_SPANS_FILE ? path.resolve(e.TRACE_SPANS_FILE) : null },
  };
}
