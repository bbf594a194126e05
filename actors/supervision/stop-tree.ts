/**
 * Stopping an actor together with everything below it.
 *
 * nact 7.6.2's own stop does not reach descendants: Actor.stop() first unlinks the actor from its parent and then
 * hands each child (a concrete actor, not a reference) to the reference-based `stop`, which cannot find it, so the
 * children stay alive, detached from the tree and unreachable by any reference, and their `afterStop` hooks never
 * run (the same holds for the children of a stopped system). A partition actor stopped on a revocation would leave
 * its sagas running with their admission slots held, and their sandbox watchers running.
 *
 * stopTree stops the deepest actors first, so every actor is still linked when it stops and every afterStop runs.
 */
import type { Ref } from 'nact';
import { findConcrete, type ConcreteActor } from './concrete.js';

/** Stops `ref` and all its descendants, deepest first; a no-op for an actor that is already gone. */
export function stopTree(ref: Ref<unknown>): void {
  const actor = findConcrete(ref);
  if (actor) stopDepthFirst(actor);
}

/**
 * Stops every descendant of `ref`, deepest first, but not `ref` itself: for a supervisor about to let nact stop or
 * reset a crashed child, which would strand that child's own children.
 */
export function stopDescendants(ref: Ref<unknown>): void {
  const actor = findConcrete(ref);
  if (actor) for (const child of [...actor.children.values()]) stopDepthFirst(child);
}

function stopDepthFirst(actor: ConcreteActor): void {
  for (const child of [...actor.children.values()]) stopDepthFirst(child);
  actor.stop();
}
