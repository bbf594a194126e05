import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { Limits } from './domain/limits.js';

const int = (def: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(def);

/** Every setting the node reads from the environment, with its default. The README's configuration table mirrors it. */
const EnvSchema = z
  .object({
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: int(8080, 0, 65535),
    DATA_DIR: z.string().min(1).default('./data'),
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
    SANDBOX_CACHE_DIR: z.string().min(1).default('/var/cache/integr8s-sandbox'),
    SANDBOX_WORKER_THREAD: z.enum(['true', 'false']).default('false'),
    SSE_HEARTBEAT_SECONDS: int(15, 1, 3600),
    SSE_MAX_BUFFER_KB: int(1024, 16, 1_048_576),
    MAX_BODY_MB: int(10, 1, 1024),
    CORS_ORIGINS: z.string().default(''),
    SHUTDOWN_GRACE_SECONDS: int(10, 0, 3600),
  })
  .refine((e) => (e.ADMIN_USERNAME === undefined) === (e.ADMIN_PASSWORD === undefined), {
    message: 'set both ADMIN_USERNAME and ADMIN_PASSWORD, or neither',
    path: ['ADMIN_PASSWORD'],
  });

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  logLevel: string;
  admin: { username: string; password: string } | null;
  /** Signs sessions and CSRF tokens; shared by a cluster's nodes. Null: embedded mode keeps a generated one in DATA_DIR. */
  secretKey: string | null;
  maxConcurrentExecutions: number;
  partitions: number;
  limits: Limits;
  cpuMillicores: number;
  maxAttempts: number;
  /** Host-wide cache shared by nodes and data dirs (the compiled Go standard library). */
  sandboxCacheDir: string;
  /** Run the sandbox backend in a worker thread (pays off when the main thread, not the CPU, is the limit). */
  sandboxWorkerThread: boolean;
  sseHeartbeatMs: number;
  sseMaxBufferedBytes: number;
  maxBodyBytes: number;
  corsOrigins: string[];
  shutdownGraceMs: number;
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
    sandboxCacheDir: path.resolve(e.SANDBOX_CACHE_DIR),
    sandboxWorkerThread: e.SANDBOX_WORKER_THREAD === 'true',
    sseHeartbeatMs: e.SSE_HEARTBEAT_SECONDS * 1000,
    sseMaxBufferedBytes: e.SSE_MAX_BUFFER_KB * 1024,
    maxBodyBytes: e.MAX_BODY_MB * 1024 * 1024,
    corsOrigins: e.CORS_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean),
    shutdownGraceMs: e.SHUTDOWN_GRACE_SECONDS * 1000,
  };
}
