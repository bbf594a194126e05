/** Broadcast of small messages to every subscriber of a channel, on any node (Redis pub/sub in cluster mode). */
export type Unsubscribe = () => Promise<void>;

export interface FanoutBus {
  publish(channel: string, payload: string): Promise<void>;
  /** Resolves once the subscription is active, so nothing published after it is missed. */
  subscribe(channel: string, listener: (payload: string) => void): Promise<Unsubscribe>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
