/**
 * nact's concrete actors, reached from references: for what its public API does not offer (stopping a subtree
 * deepest first, reading mailbox depths and states for the admin's live view). Pinned to nact 7.6.2's internals:
 * `lib/system-map` finds a system or actor by reference, and concrete actors keep `children`, `mailbox`, `busy`,
 * `state` and `stop()`. The tests beside this folder fail if an upgrade changes any of that.
 */
import { createRequire } from 'node:module';
import type { Ref } from 'nact';

export interface ConcreteActor {
  name?: string;
  children: Map<string, ConcreteActor>;
  mailbox?: { length: number };
  busy?: boolean;
  state?: unknown;
  stop(): void;
}

const require = createRequire(import.meta.url);
const systemMap = require('nact/lib/system-map') as { find(systemName: string, reference: unknown): ConcreteActor | undefined };

/**
 * For actors that live long and mostly idle (an SSE session lasts as long as its stream, tens of thousands per
 * node): drops what nact keeps beyond need. Its path's part list was built by spread and keeps room for about
 * seventeen names; it gets an exact copy. And nact keeps the finished `setImmediate` of the actor's last turn
 * (with links into the immediate list) until the next one; call this during a turn, when that immediate has
 * already fired, and nact's `clearImmediate` on stop finds nothing left to cancel.
 */
export function compactIdleActor(ref: Ref<unknown>): void {
  const actor = findConcrete(ref) as (ConcreteActor & { path?: { parts: string[] }; immediate?: unknown }) | undefined;
  if (!actor) return;
  if (actor.path) actor.path.parts = actor.path.parts.slice();
  actor.immediate = undefined;
}

/** The concrete actor (or system) behind `ref`, or undefined when it is gone. */
export function findConcrete(ref: Ref<unknown>): ConcreteActor | undefined {
  const system = (ref as unknown as { system?: { name?: string } }).system;
  return system?.name ? systemMap.find(system.name, ref) : undefined;
}
