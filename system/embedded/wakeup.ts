/**
 * In-process wake-up for waiting consumers: append() signals the (topic, partition) it wrote to and every
 * waiter on it resumes at once. A wait also ends after a fallback interval, which covers records appended
 * by another process sharing the same database file.
 */

/** Signals keyed by name; waiters resume on the next signal, a timeout, or an abort. */
export class Wakeup {
  private readonly waiters = new Map<string, Set<() => void>>();

  /** Wakes everyone waiting on `key`. */
  signal(key: string): void {
    const set = this.waiters.get(key);
    if (!set) return;
    this.waiters.delete(key);
    for (const wake of set) wake();
  }

  /** Resolves on the next signal for `key`, after `timeoutMs`, or when `abort` fires, whichever is first. */
  wait(key: string, timeoutMs: number, abort: AbortSignal): Promise<void> {
    if (abort.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let set = this.waiters.get(key);
      if (!set) {
        set = new Set();
        this.waiters.set(key, set);
      }
      const waiters = set;
      const done = (): void => {
        clearTimeout(timer);
        abort.removeEventListener('abort', done);
        waiters.delete(done);
        if (waiters.size === 0 && this.waiters.get(key) === waiters) this.waiters.delete(key);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      abort.addEventListener('abort', done, { once: true });
      waiters.add(done);
    });
  }
}

/** Sleeps `ms`, ending early (with false) when `abort` fires. */
export function sleep(ms: number, abort: AbortSignal): Promise<boolean> {
  if (abort.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const finish = (completed: boolean): void => {
      clearTimeout(timer);
      abort.removeEventListener('abort', onAbort);
      resolve(completed);
    };
    const onAbort = (): void => finish(false);
    const timer = setTimeout(() => finish(true), ms);
    abort.addEventListener('abort', onAbort, { once: true });
  });
}

/** The wake-up key of one partition of a topic. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
