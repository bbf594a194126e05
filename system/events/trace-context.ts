/**
 * W3C trace context (`traceparent`) carried through the platform without a tracing SDK: the HTTP request's
 * context (taken from its `traceparent` header, or started fresh) is kept in AsyncLocalStorage, every record
 * the publisher appends to the event log carries it as a `traceparent` header, and log consumers run their
 * handler inside the context of the record they handle. Observability (issue 9) hangs spans on the same ids.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';

/** The header name, on HTTP requests and on log records. */
export const TRACEPARENT = 'traceparent';

const FORMAT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
/** A context whose own id is made on first use: most requests publish nothing and never pay for the ids. */
interface Slot {
  parent: string | null;
  value?: string;
}
const storage = new AsyncLocalStorage<Slot>();

/** The traceparent if `value` is a valid version-00 one (all-zero ids are invalid), else null. */
export function parseTraceparent(value: string | undefined): string | null {
  const m = value === undefined ? null : FORMAT.exec(value.trim().toLowerCase());
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return null;
  return m[0];
}

/** A new root context, sampled. */
export function newTraceparent(): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}

/** The same trace with a new parent id: what a hop (an HTTP request handled, a record consumed) passes on. */
export function childOf(traceparent: string): string {
  return `${traceparent.slice(0, 36)}${randomBytes(8).toString('hex')}${traceparent.slice(52)}`;
}

/** The trace id part (32 hex digits). */
export function traceIdOf(traceparent: string): string {
  return traceparent.slice(3, 35);
}

/**
 * Runs `fn` as one hop of the trace `parent` names (a child of it), or of a new trace when `parent` is null or
 * not a valid traceparent.
 */
export function withTrace<T>(parent: string | undefined | null, fn: () => T): T {
  return storage.run({ parent: parseTraceparent(parent ?? undefined) }, fn);
}

/** The context of the work in progress (made on first use), or undefined outside any. */
export function currentTraceparent(): string | undefined {
  const slot = storage.getStore();
  if (!slot) return undefined;
  slot.value ??= slot.parent ? childOf(slot.parent) : newTraceparent();
  return slot.value;
}

/** The trace and span ids of the work in progress, for log lines; undefined outside any trace context. */
export function currentTraceIds(): { trace_id: string; span_id: string } | undefined {
  const traceparent = currentTraceparent();
  return traceparent ? { trace_id: traceIdOf(traceparent), span_id: traceparent.slice(36, 52) } : undefined;
}
