/**
 * Delivery of notifications to webhooks and Slack: an HTTP POST of JSON, short timeout, a few retries. Webhook
 * bodies are signed: `X-Integr8s-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>` with the
 * Unix time in `X-Integr8s-Timestamp`, so a receiver can check both the sender and the age (against replays).
 */
import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { Notification } from '../domain/notifications.js';
import {
  addressRefusal,
  guardedLookup,
  hostOf,
  refusedKind,
  STRICT_TARGETS,
  TargetRefusedError,
  type OutboundTargetPolicy,
  type Resolver,
} from '../security/outbound-targets.js';

/** Header names of a webhook delivery. */
export const WEBHOOK_HEADERS = {
  signature: 'x-integr8s-signature',
  timestamp: 'x-integr8s-timestamp',
  /** The notification's id, or the digest's: the same on every retry, so receivers can drop repeats. */
  delivery: 'x-integr8s-delivery',
  /** `notification` or `digest`. */
  event: 'x-integr8s-event',
} as const;

/** `sha256=<hex>` of HMAC-SHA256 over `<timestamp>.<body>`. */
export function signWebhook(secret: string, timestampSeconds: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex')}`;
}

/** A new webhook signing secret: `whsec_` and 32 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/** A secret as the API shows it after it was first returned: only its last four characters. */
export function maskSecret(secret: string): string {
  return `••••${secret.slice(-4)}`;
}

/** One POST to make: the body is serialised once; with a secret every attempt is signed afresh. */
export interface DeliveryRequest {
  url: string;
  body: unknown;
  deliveryId: string;
  event: 'notification' | 'digest';
  secret?: string | null;
}

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
  deliver(request: DeliveryRequest): Promise<DeliveryResult>;
}

/** Where a delivery may go, and (for tests only) the resolver its connections use; production uses the system one. */
export interface DeliveryTargets extends OutboundTargetPolicy {
  resolver?: Resolver;
}

/**
 * A Deliverer over node:http/https. Retries network errors, timeouts, 429 and 5xx; other statuses (and redirects)
 * fail at once. The target is checked in the connection itself: an IP literal before connecting, a host name in the
 * socket's `lookup`, which refuses it when any address it resolves to is refused and connects only to the addresses
 * it checked. A refused target (or an `http:` URL the policy does not allow) fails at once, without retries.
 */
export function createHttpDeliverer(policy: DeliveryPolicy = DEFAULT_DELIVERY_POLICY, targets: DeliveryTargets = STRICT_TARGETS): Deliverer {
  const lookup = guardedLookup({ allowPrivateTargets: targets.allowPrivateTargets }, targets.resolver);
  // Agents of this deliverer alone, without keep-alive: every attempt connects afresh, through the lookup above.
  const agents = { 'http:': new http.Agent({ keepAlive: false }), 'https:': new https.Agent({ keepAlive: false }) };
  return {
    async deliver(request) {
      const payload = JSON.stringify(request.body);
      const refusal = refusedTarget(request.url, targets);
      if (refusal) return { ok: false, attempts: 0, error: refusal };
      let error = 'not attempted';
      for (let attempt = 1; attempt <= policy.attempts; attempt++) {
        if (attempt > 1) await sleep(policy.backoffMs * 2 ** (attempt - 2));
        const url = new URL(request.url);
        const agent = agents[url.protocol as keyof typeof agents];
        const outcome = await postOnce(url, { agent, lookup }, payload, headersFor(request, payload), policy.timeoutMs);
        if (outcome.kind === 'ok') return { ok: true, attempts: attempt, status: outcome.status };
        error = outcome.error;
        if (outcome.kind === 'final') return { ok: false, attempts: attempt, error };
      }
      return { ok: false, attempts: policy.attempts, error };
    },
  };
}

/** Why a URL is refused before any connection (scheme, IP literal in a refused range), or null. */
function refusedTarget(value: string, policy: OutboundTargetPolicy): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `not a URL: ${value}`;
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowPrivateTargets)) return `${url.protocol} targets are not allowed`;
  const host = hostOf(url);
  if (isIP(host) === 0) return null;
  const kind = refusedKind(host, policy);
  return kind ? addressRefusal(host, kind).message : null;
}

type Attempt = { kind: 'ok'; status: number } | { kind: 'retry' | 'final'; error: string };

/** The headers of one attempt: a fresh timestamp and signature each time. */
function headersFor(request: DeliveryRequest, payload: string): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(payload)),
    'user-agent': 'integr8s-ts-notifications',
    [WEBHOOK_HEADERS.delivery]: request.deliveryId,
    [WEBHOOK_HEADERS.event]: request.event,
  };
  if (request.secret) {
    const timestamp = Math.floor(Date.now() / 1000);
    headers[WEBHOOK_HEADERS.timestamp] = String(timestamp);
    headers[WEBHOOK_HEADERS.signature] = signWebhook(request.secret, timestamp, payload);
  }
  return headers;
}

/** One POST; resolves when the status is known (the response body is read and dropped). Redirects are not followed. */
function postOnce(url: URL, via: { agent: http.Agent; lookup: LookupFunction }, payload: string, headers: Record<string, string>, timeoutMs: number): Promise<Attempt> {
  return new Promise((resolve) => {
    const send = url.protocol === 'https:' ? https.request : http.request;
    const req = send(url, { method: 'POST', headers, agent: via.agent, lookup: via.lookup, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      res.resume();
      res.on('error', () => undefined);
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) return resolve({ kind: 'ok', status });
      const error = `HTTP ${status}`;
      resolve(status === 429 || status >= 500 ? { kind: 'retry', error } : { kind: 'final', error });
    });
    req.on('error', (err) => {
      if (err instanceof TargetRefusedError) return resolve({ kind: 'final', error: err.message });
      const timedOut = err.name === 'TimeoutError' || err.name === 'AbortError';
      resolve({ kind: 'retry', error: timedOut ? `timed out after ${timeoutMs} ms` : describe(err) });
    });
    req.end(payload);
  });
}

/** The JSON a generic webhook receives for one notification. */
export function webhookPayload(n: Notification): Record<string, unknown> {
  return { type: 'notification', ...webhookItem(n) };
}

/** The JSON a generic webhook receives for a digest: the notifications of one window, oldest first. */
export function webhookDigestPayload(digestId: string, userId: string, items: readonly Notification[]): Record<string, unknown> {
  return { type: 'digest', digest_id: digestId, user_id: userId, count: items.length, notifications: items.map(webhookItem) };
}

function webhookItem(n: Notification): Record<string, unknown> {
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

/** A Slack message listing the notifications of one digest. */
export function slackDigestPayload(items: readonly Notification[]): Record<string, unknown> {
  const lines = items.map((n) => `• *${n.subject}*: ${n.body}${n.action_url ? ` (${n.action_url})` : ''}`);
  const text = `*${items.length} notification${items.length === 1 ? '' : 's'}*\n${lines.join('\n')}`.slice(0, 39_000);
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: text.slice(0, 3000) } }] };
}

function describe(err: Error): string {
  // Several addresses tried in turn (happy eyeballs) fail as one AggregateError with an empty message.
  if (err instanceof AggregateError && !err.message) return err.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))).join('; ');
  return err.message;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
