/**
 * What a node's actors look like right now, for the admin's live view: the tree with each actor's mailbox depth
 * and whether it is handling a message, totals by kind, and the state of chosen actors made safe to send
 * (references become their paths, big values are cut).
 */
import type { Ref } from 'nact';
import { findConcrete, type ConcreteActor } from './concrete.js';

export interface ActorNode {
  name: string;
  /** The name without its id (see kindOf). */
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

/** An actor's kind: its name without a trailing id (`pod-watch-<uuid>` → `pod-watch`, `partition-3` → `partition`). */
export function kindOf(name: string): string {
  return ID_SUFFIX.exec(name)?.[1] ?? name;
}
const ID_SUFFIX = /^(.+?)-(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d+)$/i;

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

/** An actor picked out by name, with its state. */
export interface ActorDetail {
  path: string;
  name: string;
  kind: string;
  mailbox: number;
  busy: boolean;
  state: unknown;
}

/** The actors below `ref` whose names are in `names`, wherever they sit in the tree, with their states. */
export function actorsNamed(ref: Ref<unknown>, names: ReadonlySet<string>): ActorDetail[] {
  const root = findConcrete(ref);
  const found: ActorDetail[] = [];
  const visit = (actor: ConcreteActor, path: string) => {
    for (const child of actor.children.values()) {
      const name = child.name ?? '?';
      const childPath = `${path}/${name}`;
      if (names.has(name)) {
        found.push({ path: childPath, name, kind: kindOf(name), mailbox: child.mailbox?.length ?? 0, busy: child.busy ?? false, state: plain(child.state, 0) ?? null });
      }
      visit(child, childPath);
    }
  };
  if (root) visit(root, '');
  return found;
}
