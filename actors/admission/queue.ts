import { PRIORITIES, priorityRank, type Priority } from '../../system/domain/execution.js';

/**
 * A priority queue with a cap on active slots. Pure: the admission actor wraps it. The queue decides who is
 * next (`peekNext`); the actor makes it active (`activate`) once it also holds a slot of the global semaphore.
 */
export class AdmissionQueue {
  private readonly waiting: string[][] = PRIORITIES.map(() => []);
  private readonly priorities = new Map<string, Priority>();
  private readonly active = new Set<string>();

  constructor(private max: number) {}

  /** Adds a waiting execution (no-op when already waiting or active); returns its 1-based position. */
  enqueue(id: string, priority: Priority): number {
    if (this.active.has(id)) return 0;
    if (!this.priorities.has(id)) {
      this.waiting[priorityRank(priority)]!.push(id);
      this.priorities.set(id, priority);
    }
    return this.positionOf(id);
  }

  /**
   * The waiting execution to admit next (highest priority, FIFO within a priority), or undefined when none
   * waits or every local slot (the cap) is taken. Does not change anything: the caller takes whatever else
   * admission needs (a slot of the global semaphore) and then calls `activate`.
   */
  peekNext(): string | undefined {
    if (this.active.size >= this.max) return undefined;
    return this.waiting.find((q) => q.length > 0)?.[0];
  }

  /**
   * Moves a waiting execution to the active set, wherever it is in the line; false when it is not waiting
   * (withdrawn meanwhile, or already active). Does not check the cap: `peekNext` does.
   */
  activate(id: string): boolean {
    const p = this.priorities.get(id);
    if (p === undefined) return false;
    const q = this.waiting[priorityRank(p)]!;
    q.splice(q.indexOf(id), 1);
    this.priorities.delete(id);
    this.active.add(id);
    return true;
  }

  /** The priority of a waiting execution; undefined when it does not wait. */
  priorityOf(id: string): Priority | undefined {
    return this.priorities.get(id);
  }

  /** Whether `id` holds a local slot. */
  isActive(id: string): boolean {
    return this.active.has(id);
  }

  /** Whether `id` is in the waiting line. */
  isWaiting(id: string): boolean {
    return this.priorities.has(id);
  }

  /** The executions holding a local slot, in activation order. */
  activeIds(): string[] {
    return [...this.active];
  }

  /** The cap on local active slots (and the capacity asked of the global semaphore). */
  get maxConcurrent(): number {
    return this.max;
  }

  /** Frees a slot or drops a waiting entry; returns what it did (nothing for an unknown id). */
  release(id: string): 'released' | 'withdrawn' | 'unknown' {
    if (this.active.delete(id)) return 'released';
    const p = this.priorities.get(id);
    if (p === undefined) return 'unknown';
    const q = this.waiting[priorityRank(p)]!;
    q.splice(q.indexOf(id), 1);
    this.priorities.delete(id);
    return 'withdrawn';
  }

  /**
   * Moves a waiting execution to another priority, behind those already waiting there (as if it had just
   * arrived with it). Says `active` when it already holds a slot and `unknown` when it is not here.
   */
  reprioritize(id: string, priority: Priority): 'moved' | 'active' | 'unknown' {
    if (this.active.has(id)) return 'active';
    const current = this.priorities.get(id);
    if (current === undefined) return 'unknown';
    const q = this.waiting[priorityRank(current)]!;
    q.splice(q.indexOf(id), 1);
    this.waiting[priorityRank(priority)]!.push(id);
    this.priorities.set(id, priority);
    return 'moved';
  }

  /** Changes the cap; slots above a lowered cap drain as their holders release them. */
  setMax(max: number): void {
    this.max = max;
  }

  /** 1-based place in the waiting line, 0 when not waiting. */
  positionOf(id: string): number {
    let pos = 0;
    for (const q of this.waiting) {
      const i = q.indexOf(id);
      if (i >= 0) return pos + i + 1;
      pos += q.length;
    }
    return 0;
  }

  /** Depth, active slots, cap and waiting count per priority (GET /admin/executions/queue). */
  snapshot() {
    const by_priority = Object.fromEntries(PRIORITIES.map((p, i) => [p, this.waiting[i]!.length])) as Record<Priority, number>;
    return {
      queue_depth: this.waiting.reduce((n, q) => n + q.length, 0),
      active_count: this.active.size,
      max_concurrent: this.max,
      by_priority,
    };
  }
}
