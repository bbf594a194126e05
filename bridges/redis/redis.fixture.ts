/**
 * Test helpers for the Redis adapters: unique key prefixes and their cleanup on the shared server, and a
 * private `redis-server` process that a test may stop and start again (on the same port) to show that the
 * adapters survive an outage. Only loopback, only processes this file started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { Redis } from 'ioredis';

/** A fresh key prefix (or channel prefix) for one fixture. */
export function testPrefix(): string {
  return `test:${randomUUID()}:`;
}

/** Deletes every key under `prefix` on the server at `url`; resolves with how many there were. */
export async function deleteKeys(url: string, prefix: string): Promise<number> {
  const client = new Redis(url, { maxRetriesPerRequest: 2, lazyConnect: false });
  client.on('error', () => {});
  try {
    let cursor = '0';
    let deleted = 0;
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${globEscape(prefix)}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await client.unlink(...keys);
    } while (cursor !== '0');
    return deleted;
  } finally {
    client.disconnect();
  }
}

/** The keys under `prefix`, for tests that look at what an adapter left in Redis. */
export async function listKeys(url: string, prefix: string): Promise<string[]> {
  const client = new Redis(url, { maxRetriesPerRequest: 2 });
  client.on('error', () => {});
  try {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${globEscape(prefix)}*`, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
    return found.sort();
  } finally {
    client.disconnect();
  }
}

function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** A redis-server process owned by one test file. */
export interface OwnRedis {
  readonly port: number;
  readonly url: string;
  /** Whether the process is running. */
  readonly running: boolean;
  /** SHUTDOWN NOSAVE, then wait for the process to exit. */
  stop(): Promise<void>;
  /** Starts the server again on the same port and waits until it answers PING. */
  start(): Promise<void>;
  /** stop() then start(). */
  restart(): Promise<void>;
}

/** Starts a private, non-persistent redis-server on a free loopback port. */
export async function startOwnRedis(): Promise<OwnRedis> {
  const binary = process.env.REDIS_SERVER_BIN ?? 'redis-server';
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  async function start(): Promise<void> {
    if (child) throw new Error('redis-server already running');
    const proc = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    proc.stderr?.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    child = proc;
    exited = new Promise<void>((resolve) => {
      proc.once('exit', () => {
        if (child === proc) child = undefined;
        resolve();
      });
    });
    const spawnError = new Promise<never>((_, reject) => proc.once('error', reject));
    await Promise.race([answersPing(port, 10_000, () => stderr), spawnError]);
  }

  async function stop(): Promise<void> {
    const proc = child;
    if (!proc) return;
    await sendCommand(port, 'SHUTDOWN NOSAVE').catch(() => {});
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  // A crashed test run must not leave the server behind.
  process.once('exit', () => child?.kill('SIGKILL'));
  await start();
  return {
    port,
    url,
    get running() {
      return child !== undefined;
    },
    stop,
    start,
    async restart() {
      await stop();
      await start();
    },
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Sends one inline command and resolves with the first reply line (or on close, for SHUTDOWN). */
function sendCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(2_000, () => socket.destroy(new Error('timeout')));
    socket.once('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) {
        socket.end();
        resolve(reply.split('\r\n')[0] ?? '');
      }
    });
    socket.once('close', () => resolve(reply));
    socket.once('error', reject);
  });
}

async function answersPing(port: number, timeoutMs: number, stderr: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await sendCommand(port, 'PING')) === '+PONG') return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start: ${stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
