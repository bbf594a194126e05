/**
 * Questions one node asks another over the fan-out bus (Redis pub/sub in a cluster, in-process when embedded):
 * each node listens on `node-query:<its id>` and answers on the asker's `node-reply:<id>` channel, matched by a
 * request id. Good for small admin questions (an actor tree, one execution's actors), not for traffic.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../domain/errors.js';
import type { FanoutBus, Unsubscribe } from '../ports/fanout-bus.js';

const Request = z.object({ id: z.string(), from: z.string(), query: z.unknown() });
const Reply = z.object({ id: z.string(), ok: z.boolean(), body: z.unknown().optional(), error: z.string().optional() });

export const DEFAULT_ASK_TIMEOUT_MS = 3_000;

export interface NodeRpc {
  /** Starts listening for questions and answers. */
  start(): Promise<void>;
  /** Asks node `nodeId`; rejects with 504 when no answer comes within the timeout. */
  ask(nodeId: string, query: unknown): Promise<unknown>;
  stop(): Promise<void>;
}

export function createNodeRpc(options: {
  bus: FanoutBus;
  nodeId: string;
  /** Answers a question; its rejection goes back to the asker as an error message. */
  answer(query: unknown): Promise<unknown>;
  timeoutMs?: number;
  onError?: (err: unknown) => void;
}): NodeRpc {
  const { bus, nodeId } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_ASK_TIMEOUT_MS;
  const waiting = new Map<string, { resolve(v: unknown): void; reject(e: unknown): void; timer: NodeJS.Timeout }>();
  const unsubscribes: Unsubscribe[] = [];

  const onQuery = (payload: string) => {
    const parsed = Request.safeParse(safeJson(payload));
    if (!parsed.success) return;
    const { id, from, query } = parsed.data;
    const reply = (body: z.infer<typeof Reply>) => bus.publish(`node-reply:${from}`, JSON.stringify(body)).catch(options.onError);
    options.answer(query).then(
      (body) => reply({ id, ok: true, body }),
      (err: unknown) => reply({ id, ok: false, error: err instanceof Error ? err.message : String(err) }),
    );
  };
  const onReply = (payload: string) => {
    const parsed = Reply.safeParse(safeJson(payload));
    if (!parsed.success) return;
    const pending = waiting.get(parsed.data.id);
    if (!pending) return;
    waiting.delete(parsed.data.id);
    clearTimeout(pending.timer);
    if (parsed.data.ok) pending.resolve(parsed.data.body);
    else pending.reject(new AppError('BadGateway', `the node asked could not answer: ${parsed.data.error ?? 'unknown error'}`));
  };

  return {
    async start() {
      unsubscribes.push(await bus.subscribe(`node-query:${nodeId}`, onQuery), await bus.subscribe(`node-reply:${nodeId}`, onReply));
    },
    ask(target, query) {
      const id = randomUUID();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new AppError('GatewayTimeout', `node ${target} did not answer within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.set(id, { resolve, reject, timer });
        bus.publish(`node-query:${target}`, JSON.stringify({ id, from: nodeId, query })).catch((err: unknown) => {
          waiting.delete(id);
          clearTimeout(timer);
          reject(err);
        });
      });
    },
    async stop() {
      for (const [id, pending] of waiting) {
        clearTimeout(pending.timer);
        pending.reject(new AppError('ServiceUnavailable', 'node is stopping'));
        waiting.delete(id);
      }
      await Promise.all(unsubscribes.splice(0).map((u) => u()));
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
