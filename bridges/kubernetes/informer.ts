/**
 * A pod informer: list, then watch from the list's resourceVersion; a watch that ends is resumed from the last
 * resourceVersion seen, and a 410 Gone (the version is too old) is recovered by listing again. Listing again
 * diffs against the cache, so handlers see each change once: no event is missed and none is doubled.
 * Its label selector can be changed at any time (the partitions a node owns), which starts a fresh list-watch.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { KubeApi, WatchEvent } from './kube-api.js';

/** What the informer tells: a pod appeared or changed, or it is gone. */
export type PodChange = { type: 'upsert'; pod: V1Pod } | { type: 'deleted'; pod: V1Pod };

export interface InformerOptions {
  /** Pause before re-listing or re-watching after an error; default 1 s. */
  retryMs?: number;
  onError?: (err: unknown, what: string) => void;
}

const nameOf = (pod: V1Pod) => pod.metadata?.name ?? '';
const versionOf = (pod: V1Pod) => pod.metadata?.resourceVersion ?? '';

/** Keeps a cache of the pods matching a selector and tells a handler about every change. */
export class PodInformer {
  private readonly cache = new Map<string, V1Pod>();
  private selector: string | null = null;
  /** Bumped on every (re)start and stop: callbacks of an older generation are ignored. */
  private generation = 0;
  private stopWatch: (() => void) | null = null;
  private timer: NodeJS.Timeout | undefined;
  private syncedOnce: Promise<void>;
  private markSynced!: () => void;
  /** Lists done (the first, and each after a 410 or a rescope), for tests and diagnostics. */
  lists = 0;

  constructor(
    private readonly api: KubeApi,
    private readonly handler: (change: PodChange) => void,
    private readonly opts: InformerOptions = {},
  ) {
    this.syncedOnce = new Promise((resolve) => (this.markSynced = resolve));
  }

  /** Resolves once the first list under the current selector has been handled. */
  synced(): Promise<void> {
    return this.syncedOnce;
  }

  /** A cached pod by name. */
  get(name: string): V1Pod | undefined {
    return this.cache.get(name);
  }

  /** Watches the pods matching `selector` (null: watch nothing); pods that no longer match are reported deleted. */
  setSelector(selector: string | null): void {
    if (selector === this.selector) return;
    this.selector = selector;
    this.restart();
  }

  stop(): void {
    this.selector = null;
    this.generation++;
    this.halt();
  }

  private halt(): void {
    clearTimeout(this.timer);
    this.stopWatch?.();
    this.stopWatch = null;
  }

  private restart(): void {
    this.generation++;
    this.halt();
    if (this.selector === null) {
      this.replace([]);
      return;
    }
    void this.list(this.generation);
  }

  private retry(gen: number, step: () => void): void {
    if (gen !== this.generation) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => gen === this.generation && step(), this.opts.retryMs ?? 1000);
    this.timer.unref();
  }

  private async list(gen: number): Promise<void> {
    const selector = this.selector;
    if (selector === null) return;
    try {
      const list = await this.api.listPods(selector);
      if (gen !== this.generation) return;
      this.lists++;
      this.replace(list.items);
      this.markSynced();
      await this.watch(gen, list.resourceVersion);
    } catch (err) {
      this.opts.onError?.(err, 'list pods');
      this.retry(gen, () => void this.list(gen));
    }
  }

  private async watch(gen: number, resourceVersion: string): Promise<void> {
    const selector = this.selector;
    if (selector === null || gen !== this.generation) return;
    let rv = resourceVersion;
    let gone = false;
    let ended = false;
    const onEvent = (e: WatchEvent): void => {
      if (gen !== this.generation || gone) return;
      switch (e.type) {
        case 'ADDED':
        case 'MODIFIED':
          rv = versionOf(e.pod) || rv;
          this.upsert(e.pod);
          return;
        case 'DELETED':
          rv = versionOf(e.pod) || rv;
          if (this.cache.delete(nameOf(e.pod))) this.handler({ type: 'deleted', pod: e.pod });
          return;
        case 'BOOKMARK':
          rv = e.resourceVersion || rv;
          return;
        case 'ERROR':
          if (e.code === 410) gone = true;
          else this.opts.onError?.(new Error(e.message), 'watch pods');
          this.stopWatch?.(); // the server ends the watch after an ERROR too; done() then lists or resumes
          return;
      }
    };
    const done = (err: unknown): void => {
      ended = true;
      if (gen !== this.generation) return;
      this.stopWatch = null;
      const status = (err as { statusCode?: number } | null)?.statusCode;
      if (gone || status === 410) return void this.list(gen);
      if (err) {
        this.opts.onError?.(err, 'watch pods');
        return this.retry(gen, () => void this.watch(gen, rv));
      }
      void this.watch(gen, rv);
    };
    try {
      const stop = await this.api.watchPods(selector, rv, onEvent, done);
      if (gen !== this.generation || ended) stop();
      else this.stopWatch = stop;
    } catch (err) {
      this.opts.onError?.(err, 'watch pods');
      this.retry(gen, () => void this.watch(gen, rv));
    }
  }

  /** Takes a full list: new or changed pods are upserts, cached pods missing from it are deletions. */
  private replace(items: V1Pod[]): void {
    const seen = new Set<string>();
    for (const pod of items) {
      seen.add(nameOf(pod));
      this.upsert(pod);
    }
    for (const [name, pod] of [...this.cache]) {
      if (seen.has(name)) continue;
      this.cache.delete(name);
      this.handler({ type: 'deleted', pod });
    }
  }

  private upsert(pod: V1Pod): void {
    const name = nameOf(pod);
    const cached = this.cache.get(name);
    if (cached && versionOf(cached) === versionOf(pod)) return;
    this.cache.set(name, pod);
    this.handler({ type: 'upsert', pod });
  }
}
