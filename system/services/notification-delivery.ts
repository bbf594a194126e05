/** Delivery of notifications to webhooks and Slack: an HTTP POST of JSON, short timeout, a few retries. */
import type { Notification } from '../domain/notifications.js';

/** How hard to try one delivery. */
export interface DeliveryPolicy {
  /** Per attempt. */
  timeoutMs: number;
  attempts: number;
  /** Wait before the second attempt; doubles after each. */
  backoffMs: number;
}

/** Production defaults: at most about 3 × 3 s plus 0.75 s of waiting. */
export const DEFAULT_DELIVERY_POLICY: DeliveryPolicy = { timeoutMs: 3_000, attempts: 3, backoffMs: 250 };

/** How a delivery ended. */
export type DeliveryResult = { ok: true; attempts: number; status: number } | { ok: false; attempts: number; error: string };

/** The seam in front of the outgoing socket: posts one JSON body to a URL. */
export interface Deliverer {
  deliver(url: string, body: unknown): Promise<DeliveryResult>;
}

/** A Deliverer over fetch. Retries network errors, timeouts, 429 and 5xx; other statuses (and redirects) fail at once. */
export function createHttpDeliverer(policy: DeliveryPolicy = DEFAULT_DELIVERY_POLICY, fetchImpl: typeof fetch = fetch): Deliverer {
  return {
    async deliver(url, body) {
      const payload = JSON.stringify(body);
      let error = 'not attempted';
      for (let attempt = 1; attempt <= policy.attempts; attempt++) {
        if (attempt > 1) await sleep(policy.backoffMs * 2 ** (attempt - 2));
        const outcome = await postOnce(fetchImpl, url, payload, policy.timeoutMs);
        if (outcome.kind === 'ok') return { ok: true, attempts: attempt, status: outcome.status };
        error = outcome.error;
        if (outcome.kind === 'final') return { ok: false, attempts: attempt, error };
      }
      return { ok: false, attempts: policy.attempts, error };
    },
  };
}

type Attempt = { kind: 'ok'; status: number } | { kind: 'retry' | 'final'; error: string };

async function postOnce(fetchImpl: typeof fetch, url: string, payload: string, timeoutMs: number): Promise<Attempt> {
  try {
    const res = await fetchImpl(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'integr8s-ts-notifications' },
      body: payload,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel().catch(() => undefined);
    if (res.status >= 200 && res.status < 300) return { kind: 'ok', status: res.status };
    const error = `HTTP ${res.status}`;
    return res.status === 429 || res.status >= 500 ? { kind: 'retry', error } : { kind: 'final', error };
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
    return { kind: 'retry', error: timedOut ? `timed out after ${timeoutMs} ms` : describe(err) };
  }
}

/** The JSON a generic webhook receives. */
export function webhookPayload(n: Notification): Record<string, unknown> {
  return {
    notification_id: n.notification_id,
    user_id: n.user_id,
    severity: n.severity,
    subject: n.subject,
    body: n.body,
    action_url: n.action_url,
    tags: n.tags,
    created_at: n.created_at,
  };
}

/** The JSON a Slack incoming webhook understands. */
export function slackPayload(n: Notification): Record<string, unknown> {
  const text = `*${n.subject}*\n${n.body}${n.action_url ? `\n${n.action_url}` : ''}`;
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as Error & { cause?: unknown }).cause;
  return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
