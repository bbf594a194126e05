/**
 * The node's side of the fan-out bus for streams: one bus subscription per channel per node, however many local
 * streams follow that channel, counted by reference (the first listener subscribes, the last one to leave
 * unsubscribes). A message is decoded once per node (parsed and serialised into SSE bytes) and the same decoded
 * value is handed to every local listener, so a message fanned out to N streams costs one parse and one
 * serialisation, not N.
 *
 * Listeners run synchronously in subscription order; one that throws is reported and the others still get the
 * message; a listener added while a message is being delivered waits for the next one. A payload that cannot be
 * decoded is reported and skipped.
 */
import type { FanoutBus, Unsubscribe } from '../ports/fanout-bus.js';

/** Settings of a channel fan-out. */
export interface ChannelFanoutOptions<T> {
  /** Turns a bus payload into what listeners get; runs once per message per node. */
  decode: (payload: string) => T;
  /** Receives decode and listener errors; defaults to a line on stderr. */
  onError?: (error: unknown, channel: string) => void;
}

/**
 * A local listener. An object rather than a function: a stream's session object can be its own listener, with
 * no closure per stream.
 */
export interface FanoutListener<T> {
  deliver(message: T): void;
}

/** Local listeners of bus channels, sharing one bus subscription per channel. */
export interface ChannelFanout<T> {
  /** Resolves once the channel's bus subscription is active, so nothing published after it is missed. */
  subscribe(channel: string, listener: FanoutListener<T>): Promise<Unsubscribe>;
  /** Channels with at least one local listener. */
  channels(): number;
}

interface Channel<T> {
  listeners: Set<FanoutListener<T>>;
  /** The bus subscription, once made; rejects if the bus refused it. */
  active: Promise<Unsubscribe>;
}

/** Creates the fan-out of one kind of message over a bus. */
export function createChannelFanout<T>(bus: FanoutBus, options: ChannelFanoutOptions<T>): ChannelFanout<T> {
  const channels = new Map<string, Channel<T>>();
  const onError = options.onError ?? ((error, channel) => console.error(`channel fan-out on '${channel}':`, error));

  const deliver = (channel: string, entry: Channel<T>, payload: string): void => {
    if (entry.listeners.size === 0) return;
    let message: T;
    try {
      message = options.decode(payload);
    } catch (error) {
      onError(error, channel);
      return;
    }
    const listeners = entry.listeners;
    for (const listener of [...listeners]) {
      if (!listeners.has(listener)) continue;
      try {
        listener.deliver(message);
      } catch (error) {
        onError(error, channel);
      }
    }
  };

  /** Leaves the channel: the bus subscription goes when the last local listener does. */
  const leave = async (channel: string, entry: Channel<T>, listener: FanoutListener<T>): Promise<void> => {
    if (!entry.listeners.delete(listener) || entry.listeners.size > 0) return;
    // A newer entry for the channel (subscribed after this one emptied) has its own bus subscription.
    if (channels.get(channel) === entry) channels.delete(channel);
    const unsubscribe = await entry.active.catch(() => null);
    await unsubscribe?.();
  };

  return {
    async subscribe(channel, listener) {
      let entry = channels.get(channel);
      if (!entry) {
        const created: Channel<T> = { listeners: new Set(), active: Promise.resolve(async () => undefined) };
        created.active = bus.subscribe(channel, (payload) => deliver(channel, created, payload));
        // A refused subscription is for this entry's first callers to see; later ones get a fresh try.
        created.active.catch(() => {
          if (channels.get(channel) === created) channels.delete(channel);
        });
        channels.set(channel, created);
        entry = created;
      }
      if (entry.listeners.has(listener)) throw new Error(`already listening on '${channel}'`);
      entry.listeners.add(listener);
      const joined = entry;
      try {
        await joined.active;
      } catch (error) {
        joined.listeners.delete(listener);
        throw error;
      }
      return () => leave(channel, joined, listener);
    },
    channels: () => channels.size,
  };
}
