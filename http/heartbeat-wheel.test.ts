import { afterEach, describe, expect, it, vi } from 'vitest';
import { HeartbeatWheel } from './heartbeat-wheel.js';

afterEach(() => vi.useRealTimers());

describe('heartbeat wheel', () => {
  it('beats every item once per period from one timer, spread over the period, and stops with the last item', () => {
    vi.useFakeTimers();
    const setInterval = vi.spyOn(globalThis, 'setInterval');
    const wheel = new HeartbeatWheel<{ heartbeat(): void; beats: number[] }>(1600, 16);
    const items = Array.from({ length: 32 }, () => {
      const item = { beats: [] as number[], heartbeat: () => item.beats.push(Date.now()) };
      return item;
    });
    const slots = items.map((item) => {
      const slot = wheel.add(item);
      vi.advanceTimersByTime(100); // one tick between additions: the items land in different buckets
      return slot;
    });
    expect(setInterval).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1600 * 3);
    for (const item of items) {
      const gaps = item.beats.slice(1).map((t, i) => t - item.beats[i]!);
      expect(gaps.every((g) => g === 1600)).toBe(true);
      expect(item.beats.length).toBeGreaterThanOrEqual(3);
    }
    // Beats land in 16 different ticks of the period, not all at once.
    expect(new Set(items.map((i) => i.beats[0]! % 1600)).size).toBe(16);
    items.forEach((item, i) => wheel.remove(item, slots[i]!));
    expect(wheel.count).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});
