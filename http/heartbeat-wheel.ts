/**
 * One timer for the heartbeats of every open stream. Streams are spread over `slots` buckets; the timer ticks
 * `slots` times per period and beats one bucket per tick, so each stream still hears from the server once per
 * period, the writes are spread over the period instead of landing all at once, and no stream owns a timer.
 */

/** Something that sends a heartbeat when asked. */
export interface Beating {
  heartbeat(): void;
}

export class HeartbeatWheel<T extends Beating> {
  private readonly buckets: Set<T>[];
  private cursor = 0;
  private size = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly periodMs: number,
    slots = 16,
  ) {
    this.buckets = Array.from({ length: Math.max(1, slots) }, () => new Set<T>());
  }

  /** Adds an item; its first beat comes about one period later. Returns its bucket, for remove(). */
  add(item: T): number {
    const slot = (this.cursor + this.buckets.length - 1) % this.buckets.length;
    this.buckets[slot]!.add(item);
    this.size++;
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), Math.max(1, Math.floor(this.periodMs / this.buckets.length)));
      this.timer.unref();
    }
    return slot;
  }

  /** Removes an item; the timer stops with the last one. */
  remove(item: T, slot: number): void {
    if (!this.buckets[slot]?.delete(item)) return;
    this.size--;
    if (this.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  /** Items on the wheel. */
  get count(): number {
    return this.size;
  }

  private tick(): void {
    const bucket = this.buckets[this.cursor]!;
    this.cursor = (this.cursor + 1) % this.buckets.length;
    for (const item of bucket) item.heartbeat();
  }
}
