/**
 * Where the real servers of cluster mode are, for every suite that needs one. In this order:
 * 1. URLs given in the environment (`KAFKA_BROKERS`, `MONGO_URL`, `REDIS_URL`);
 * 2. testcontainers, when a Docker engine answers (a contributor's laptop);
 * 3. the project's `deploy/local/up <name>`, which installs, caches and starts the server on a free loopback
 *    port and prints `NAME=value` lines (these machines and CI).
 * A suite never skips because a server is missing: it gets one or fails with the reason.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const UP = fileURLToPath(new URL('../../deploy/local/up', import.meta.url));

export type ServerName = 'kafka' | 'mongo' | 'redis';

const ENV: Record<ServerName, string> = { kafka: 'KAFKA_BROKERS', mongo: 'MONGO_URL', redis: 'REDIS_URL' };

const pending = new Map<ServerName, Promise<string>>();

/**
 * This process's environment without the variables that switch a node to cluster mode, for spawning an
 * embedded node (CI exports the servers' URLs for the cluster suites; an embedded node must not see them).
 */
export function embeddedEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const { KAFKA_BROKERS: _k, MONGO_URL: _m, REDIS_URL: _r, ...rest } = env;
  return rest;
}

/** Comma-separated `host:port` list of a Kafka broker. */
export function kafkaBrokers(): Promise<string> {
  return endpoint('kafka');
}

/** A `mongodb://` URL of a MongoDB-wire server. */
export function mongoUrl(): Promise<string> {
  return endpoint('mongo');
}

/** A `redis://` URL. */
export function redisUrl(): Promise<string> {
  return endpoint('redis');
}

/** The endpoint of one server, started at most once per process. */
export function endpoint(name: ServerName): Promise<string> {
  const given = process.env[ENV[name]];
  if (given) return Promise.resolve(given);
  let found = pending.get(name);
  if (!found) {
    found = locate(name);
    pending.set(name, found);
  }
  return found;
}

async function locate(name: ServerName): Promise<string> {
  if (await dockerAnswers()) return startContainer(name);
  return startLocal(name);
}

async function startLocal(name: ServerName): Promise<string> {
  if (!existsSync(UP)) throw new Error(`${ENV[name]} is not set and ${UP} is missing`);
  let stdout: string;
  try {
    ({ stdout } = await run(UP, [name], { timeout: 600_000, maxBuffer: 16 * 1024 * 1024 }));
  } catch (error) {
    const detail = error as { stderr?: string; message: string };
    throw new Error(`deploy/local/up ${name} failed: ${detail.stderr?.slice(-2000) ?? detail.message}`);
  }
  const line = stdout.split('\n').find((l) => l.startsWith(`${ENV[name]}=`));
  if (!line) throw new Error(`deploy/local/up ${name} printed no ${ENV[name]}= line:\n${stdout}`);
  return line.slice(ENV[name].length + 1).trim();
}

async function dockerAnswers(): Promise<boolean> {
  if (process.env.INTEGR8S_NO_DOCKER === '1') return false;
  if (!existsSync('/var/run/docker.sock') && !process.env.DOCKER_HOST) return false;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

/** Containers live until the test process exits (testcontainers' reaper removes them). */
async function startContainer(name: ServerName): Promise<string> {
  switch (name) {
    case 'kafka': {
      const { KafkaContainer } = await import('@testcontainers/kafka');
      const kafka = await new KafkaContainer('confluentinc/cp-kafka:7.9.0').withKraft().start();
      return `${kafka.getHost()}:${kafka.getMappedPort(9093)}`;
    }
    case 'mongo': {
      const { MongoDBContainer } = await import('@testcontainers/mongodb');
      const mongo = await new MongoDBContainer('mongo:7').start();
      return `${mongo.getConnectionString()}?directConnection=true`;
    }
    case 'redis': {
      const { RedisContainer } = await import('@testcontainers/redis');
      const redis = await new RedisContainer('redis:7').start();
      return redis.getConnectionUrl();
    }
  }
}
