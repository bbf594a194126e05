/**
 * What a node's actors look like right now, for the admin's live view: the tree with each actor's mailbox depth
 * and whether it is handling a message, totals by kind, and the state of chosen actors made safe to send
 * (references become their paths, big values are cut).
 */
import type { Ref } from 'nact';
import { findConcrete, type ConcreteActor } from './concrete.js';

export interface ActorNode {
  name: string;
  /** The name's prefix before the first `-` (`saga-<id>` → `saga`), or the whole name. */
  kind: string;
  mailbox: number;
  busy: boolean;
  children: ActorNode[];
}

export interface KindTotals {
  count: number;
  /** Messages waiting in all mailboxes of this kind, and in the fullest one. */
  mailbox: number;
  maxMailbox: number;
}

/** The tree below (and including) `ref`; null when the actor is gone. */
export function actorTree(ref: Ref<unknown>, name = 'root'): ActorNode | null {
  const actor = findConcrete(ref);
  return actor ? describe(actor, name) : null;
}

function describe(actor: ConcreteActor, fallbackName: string): ActorNode {
  const name = actor.name ?? fallbackName;
  return {
    name,
    kind: kindOf(name),
    mailbox: actor.mailbox?.length ?? 0,
    busy: actor.busy ?? false,
    children: [...actor.children.values()].map((child) => describe(child, '?')),
  };
}

export function kindOf(name: string): string {
  const dash = name.indexOf('-');
  return dash > 0 ? name.slice(0, dash) : name;
}

/** Counts and mailbox depths by kind over a tree (the root itself excluded). */
export function totalsByKind(tree: ActorNode): Record<string, KindTotals> {
  const totals: Record<string, KindTotals> = {};
  const visit = (node: ActorNode) => {
    for (const child of node.children) {
      const t = (totals[child.kind] ??= { count: 0, mailbox: 0, maxMailbox: 0 });
      t.count++;
      t.mailbox += child.mailbox;
      t.maxMailbox = Math.max(t.maxMailbox, child.mailbox);
      visit(child);
    }
  };
  visit(tree);
  return totals;
}

/** One actor's current state, JSON-safe; undefined when the actor is gone. */
export function actorState(ref: Ref<unknown>): unknown {
  const actor = findConcrete(ref);
  return actor ? plain(actor.state, 0) : undefined;
}

const MAX_STRING = 500;

/** A JSON-safe copy: references by path, functions and timers dropped, strings and depth bounded. */
function plain(value: unknown, depth: number): unknown {
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean') return value ?? null;
  if (typeof value === 'string') return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}… (${value.length} chars)` : value;
  if (typeof value !== 'object' || depth > 5) return undefined;
  const path = (value as { path?: { parts?: unknown } }).path;
  if ((value as { type?: unknown }).type === 'actor' && Array.isArray(path?.parts)) return `actor:/${(path.parts as string[]).join('/')}`;
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => plain(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    // User code and its input are not actor state an operator needs here.
    if (key === 'script' || key === 'stdin') continue;
    const copy = plain(v, depth + 1);
    if (copy !== undefined) out[key] = copy;
  }
  return out;
}
