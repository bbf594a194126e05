/**
 * Sending webhook and Slack copies: at once, or later for copies held by quiet hours or gathered into a digest.
 * Every copy is stored before it is sent, `pending` with the time it is due; a node sends one only while it holds
 * its lease (taken atomically in the document store), so in a cluster each goes out from exactly one node, and a
 * copy whose node died mid-delivery is sent by a sweeper once the lease runs out. The sweeper runs at start and
 * every `sweepIntervalMs` on every node.
 */
import { v5 as uuidv5 } from 'uuid';
import { NOTIFICATION_CHANNELS, type Notification, type NotificationChannel, type Subscription } from '../domain/notifications.js';
import type { RateLimitStore } from '../ports/rate-limit-store.js';
import type { NotificationStore } from '../stores/notification-store.js';
import { slackDigestPayload, slackPayload, webhookDigestPayload, webhookPayload, type Deliverer, type DeliveryRequest, type DeliveryResult } from './notification-delivery.js';

/** How many webhook/Slack copies of one user may go out on their own per channel (low/medium beyond it are throttled). */
export interface ThrottleRule {
  limit: number;
  windowMs: number;
}

export interface DispatchDeps {
  store: NotificationStore;
  deliverer: Deliverer;
  /** Cluster-wide counters (memory in embedded mode, Redis in a cluster); with `throttle`, enables throttling. */
  counters?: RateLimitStore;
  throttle?: ThrottleRule | null;
  /** How long a claim lasts; longer than the slowest delivery (attempts × timeout + backoff). Default 60 s. */
  leaseMs?: number;
  /** Default 5 s. */
  sweepIntervalMs?: number;
  clock?: () => Date;
  log?: { warn(fields: Record<string, unknown>, message: string): void };
}

/** Copies by outcome and channel, counted on this node since it started. */
export interface NotificationStats {
  sent: Record<NotificationChannel, number>;
  failed: Record<NotificationChannel, number>;
  throttled: Record<NotificationChannel, number>;
}

export interface NotificationDispatch {
  /** Whether a copy that would go out on its own is over the user's rate for the channel (and counts it when not). */
  overRate(userId: string, channel: NotificationChannel): Promise<boolean>;
  /** Sends a copy this node has claimed (inserted with a lease, or claimed) and records the outcome. */
  send(n: Notification, sub: Subscription): Promise<void>;
  /** Claims a pending copy and sends it; false when another node has it or it is no longer pending. */
  claimAndSend(n: Notification, sub: Subscription): Promise<boolean>;
  /** Sends every due copy and digest this node can claim; resolves with how many copies were handled. */
  sweep(): Promise<number>;
  noteThrottled(channel: NotificationChannel): void;
  stats(): NotificationStats;
  /** Sweeps now and then every interval until stop(). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

const DIGEST_MAX = 100;
const SWEEP_PAGE = 200;
/** Namespace of digest ids (derived from the digest's key and first copy, the same on every retry). */
const DIGEST_ID_NAMESPACE = '5e0b7a4e-2c77-4d0a-9f5e-6c1c3b7b0d21';

/** Builds the dispatcher; `subscription` reads a user's current settings for a channel at send time. */
export function createNotificationDispatch(
  deps: DispatchDeps & { subscription: (userId: string, channel: NotificationChannel) => Promise<Subscription> },
): NotificationDispatch {
  const { store } = deps;
  const now = () => (deps.clock ?? (() => new Date()))();
  const leaseMs = deps.leaseMs ?? 60_000;
  const zero = () => Object.fromEntries(NOTIFICATION_CHANNELS.map((c) => [c, 0])) as Record<NotificationChannel, number>;
  const counts: NotificationStats = { sent: zero(), failed: zero(), throttled: zero() };
  let timer: NodeJS.Timeout | undefined;
  let sweeping: Promise<number> | null = null;

  const target = (sub: Subscription, channel: NotificationChannel): string | null => (channel === 'slack' ? sub.slack_webhook : sub.webhook_url);

  /** Why a subscription cannot take a delivery now, or null. */
  const unusable = (sub: Subscription, channel: NotificationChannel): string | null => {
    if (!sub.enabled) return 'channel switched off before the delivery was due';
    if (!target(sub, channel)) return 'no URL configured';
    if (channel === 'webhook' && !sub.webhook_secret) return 'no webhook signing secret: save the subscription with rotate_webhook_secret';
    return null;
  };

  const post = (channel: NotificationChannel, sub: Subscription, req: Omit<DeliveryRequest, 'url' | 'secret'>): Promise<DeliveryResult> =>
    deps.deliverer.deliver({ ...req, url: target(sub, channel)!, secret: channel === 'webhook' ? sub.webhook_secret : null });

  const record = async (items: readonly Notification[], result: DeliveryResult): Promise<void> => {
    const at = now().toISOString();
    for (const n of items) {
      const attempts = n.attempts + result.attempts;
      if (result.ok) await store.update(n.notification_id, { status: 'delivered', delivered_at: at, attempts, error_message: null, lease_until: 0 });
      else await store.update(n.notification_id, { status: 'failed', attempts, error_message: result.error, lease_until: 0 });
      counts[result.ok ? 'sent' : 'failed'][n.channel]++;
    }
    if (!result.ok) deps.log?.warn({ notifications: items.map((n) => n.notification_id), channel: items[0]?.channel, attempts: result.attempts, error: result.error }, 'notification delivery failed');
  };

  const skip = async (items: readonly Notification[], reason: string): Promise<void> => {
    for (const n of items) await store.update(n.notification_id, { status: 'skipped', error_message: reason, lease_until: 0 });
  };

  const send = async (n: Notification, sub: Subscription): Promise<void> => {
    const problem = unusable(sub, n.channel);
    if (problem) return problem === 'no URL configured' ? record([n], { ok: false, attempts: 0, error: problem }) : skip([n], problem);
    let result: DeliveryResult;
    try {
      result = await post(n.channel, sub, { body: n.channel === 'slack' ? slackPayload(n) : webhookPayload(n), deliveryId: n.notification_id, event: 'notification' });
    } catch (err) {
      // Our own fault mid-delivery: give the claim back so the next sweep (or a redelivered event) tries again.
      await store.update(n.notification_id, { lease_until: 0 }).catch(() => undefined);
      throw err;
    }
    await record([n], result);
  };

  /** Sends one digest: claims its lock, gathers its pending copies, posts them as one body. */
  const sendDigest = async (key: string, userId: string, channel: NotificationChannel): Promise<number> => {
    if (!(await store.claimBatch(key, now().getTime(), leaseMs))) return 0;
    try {
      const items = await store.batch(key, DIGEST_MAX);
      if (items.length === 0) return 0;
      const sub = await deps.subscription(userId, channel);
      const problem = unusable(sub, channel);
      if (problem) {
        await (problem === 'no URL configured' ? record(items, { ok: false, attempts: 0, error: problem }) : skip(items, problem));
        return items.length;
      }
      const digestId = uuidv5(`${key}:${items[0]!.notification_id}`, DIGEST_ID_NAMESPACE);
      const body = channel === 'slack' ? slackDigestPayload(items) : webhookDigestPayload(digestId, userId, items);
      await record(items, await post(channel, sub, { body, deliveryId: digestId, event: 'digest' }));
      return items.length;
    } finally {
      await store.releaseBatch(key);
    }
  };

  const sweepOnce = async (): Promise<number> => {
    const at = now();
    const due = await store.due(at.toISOString(), at.getTime(), SWEEP_PAGE);
    let handled = 0;
    const digests = new Map<string, Notification>();
    for (const n of due) {
      if (n.batch_key) {
        if (!digests.has(n.batch_key)) digests.set(n.batch_key, n);
        continue;
      }
      const claimed = await store.claim(n.notification_id, now().getTime(), leaseMs);
      if (!claimed) continue;
      await send(claimed, await deps.subscription(claimed.user_id, claimed.channel));
      handled++;
    }
    for (const [key, n] of digests) handled += await sendDigest(key, n.user_id, n.channel);
    return handled;
  };

  const sweep = (): Promise<number> => {
    // One sweep at a time on this node; a caller that asks during one gets its result.
    sweeping ??= sweepOnce().finally(() => {
      sweeping = null;
    });
    return sweeping;
  };

  return {
    async overRate(userId, channel) {
      if (!deps.throttle || !deps.counters || deps.throttle.limit <= 0) return false;
      const rule = { algorithm: 'sliding_window' as const, limit: deps.throttle.limit, windowMs: deps.throttle.windowMs };
      return !(await deps.counters.hit({ subject: `notifications:${userId}`, name: channel }, rule, now().getTime())).allowed;
    },
    send,
    async claimAndSend(n, sub) {
      const claimed = await store.claim(n.notification_id, now().getTime(), leaseMs);
      if (!claimed) return false;
      await send(claimed, sub);
      return true;
    },
    sweep,
    noteThrottled: (channel) => {
      counts.throttled[channel]++;
    },
    stats: () => ({ sent: { ...counts.sent }, failed: { ...counts.failed }, throttled: { ...counts.throttled } }),
    async start() {
      const tick = () =>
        void sweep()
          .catch((err: unknown) => deps.log?.warn({ err: String(err) }, 'notification sweep failed; trying again at the next'))
          .finally(() => {
            if (timer) timer.refresh();
          });
      timer = setTimeout(tick, deps.sweepIntervalMs ?? 5_000);
      timer.unref();
      await sweep().catch((err: unknown) => deps.log?.warn({ err: String(err) }, 'notification sweep at start failed'));
    },
    async stop() {
      clearTimeout(timer);
      timer = undefined;
      await sweeping?.catch(() => undefined);
    },
  };
}
