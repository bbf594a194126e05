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

/** The concrete actor (or system) behind `ref`, or undefined when it is gone. */
export function findConcrete(ref: Ref<unknown>): ConcreteActor | undefined {
  const system = (ref as unknown as { system?: { name?: string } }).system;
  return system?.name ? systemMap.find(system.name, ref) : undefined;
}
