/**
 * An actor's message handler with metrics: how long each message took (until its promise settled, for async
 * handlers) and every message whose handler threw (a crash its supervisor decides on), by actor kind. Wrap the
 * function given to nact's spawn: `spawn(parent, instrumented('saga', handle), name, options)`.
 */
import { actorMetrics } from '../../system/telemetry/instruments.js';

/** `handle`, recording its time per message and its crashes under `kind`. */
export function instrumented<A extends unknown[], R>(kind: string, handle: (...args: A) => R): (...args: A) => R {
  return function (this: unknown, ...args: A): R {
    const started = performance.now();
    let result: R;
    try {
      result = handle.apply(this, args);
    } catch (error) {
      actorMetrics.crashed(kind);
      actorMetrics.handled(kind, (performance.now() - started) / 1000);
      throw error;
    }
    if (result instanceof Promise) {
      return result.then(
        (value: unknown) => {
          actorMetrics.handled(kind, (performance.now() - started) / 1000);
          return value;
        },
        (error: unknown) => {
          actorMetrics.crashed(kind);
          actorMetrics.handled(kind, (performance.now() - started) / 1000);
          throw error;
        },
      ) as R;
    }
    actorMetrics.handled(kind, (performance.now() - started) / 1000);
    return result;
  };
}
