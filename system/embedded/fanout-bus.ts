/**
 * The embedded FanoutBus: in-process pub/sub with no durability. A channel is a Set of subscriptions, so
 * subscribe, unsubscribe and publish cost O(1) per subscription and an idle channel costs nothing (its entry
 * is dropped with its last subscriber). Listeners run synchronously inside publish(), in subscription order;
 * one that throws is reported and the others still get the message.
 */
import type { FanoutBus, Unsubscribe } from '../ports/fanout-bus.js';

/** Settings of the in-process bus. */
export interface InProcessBusOptions {
  /** Receives errors thrown by listeners; defaults to a line on stderr. */
  onListenerError?: (error: unknown, channel: string) => void;
}

interface Subscription {
  listener: (payload: string) => void;
}

/** Creates an in-process FanoutBus. */
export function createInProcessBus(options: InProcessBusOptions = {}): FanoutBus {
  const channels = new Map<string, Set<Subscription>>();
  const onListenerError =
    options.onListenerError ?? ((error, channel) => console.error(`fan-out listener on '${channel}' threw:`, error));
  let closed = false;

  const ensureOpen = (): void => {
    if (closed) throw new Error('fan-out bus is closed');
  };

  return {
    async publish(channel, payload) {
      ensureOpen();
      const subscriptions = channels.get(channel);
      if (!subscriptions) return;
      // Subscriptions added while delivering wait for the next message; removed ones are skipped.
      for (const subscription of [...subscriptions]) {
        if (!subscriptions.has(subscription)) continue;
        try {
          subscription.listener(payload);
        } catch (error) {
          onListenerError(error, channel);
        }
      }
    },
    async subscribe(channel, listener) {
      ensureOpen();
      const subscription: Subscription = { listener };
      let subscriptions = channels.get(channel);
      if (!subscriptions) {
        subscriptions = new Set();
        channels.set(channel, subscriptions);
      }
      subscriptions.add(subscription);
      const unsubscribe: Unsubscribe = async () => {
        const current = channels.get(channel);
        if (!current?.delete(subscription)) return;
        if (current.size === 0) channels.delete(channel);
      };
      return unsubscribe;
    },
    async ping() {
      ensureOpen();
    },
    async close() {
      closed = true;
      channels.clear();
    },
  };
}
