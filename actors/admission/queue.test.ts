import { describe, expect, it } from 'vitest';
import { AdmissionQueue } from './queue.js';

/** Admits while the queue names someone, as the actor does when every semaphore acquire succeeds. */
function admitAll(q: AdmissionQueue): string[] {
  const admitted: string[] = [];
  for (let next = q.peekNext(); next !== undefined; next = q.peekNext()) {
    expect(q.activate(next)).toBe(true);
    admitted.push(next);
  }
  return admitted;
}

describe('AdmissionQueue', () => {
  it('grants up to the cap, highest priority first, FIFO within a priority', () => {
    const q = new AdmissionQueue(2);
    q.enqueue('low1', 'low');
    q.enqueue('n1', 'normal');
    q.enqueue('n2', 'normal');
    q.enqueue('crit', 'critical');
    expect(admitAll(q)).toEqual(['crit', 'n1']);
    expect(q.snapshot()).toMatchObject({ queue_depth: 2, active_count: 2, max_concurrent: 2 });
    expect(q.positionOf('n2')).toBe(1);
    expect(q.positionOf('low1')).toBe(2);
  });

  it('releases exactly once and hands the slot on', () => {
    const q = new AdmissionQueue(1);
    q.enqueue('a', 'normal');
    q.enqueue('b', 'normal');
    expect(admitAll(q)).toEqual(['a']);
    expect(q.release('a')).toBe('released');
    expect(q.release('a')).toBe('unknown');
    expect(admitAll(q)).toEqual(['b']);
    expect(q.snapshot().active_count).toBe(1);
  });

  it('withdraws a waiting entry without touching active slots', () => {
    const q = new AdmissionQueue(1);
    q.enqueue('a', 'normal');
    admitAll(q);
    q.enqueue('b', 'high');
    expect(q.release('b')).toBe('withdrawn');
    expect(q.snapshot()).toMatchObject({ queue_depth: 0, active_count: 1 });
  });

  it('ignores duplicate enqueues and raising the cap grants more', () => {
    const q = new AdmissionQueue(0);
    q.enqueue('a', 'normal');
    q.enqueue('a', 'normal');
    expect(q.snapshot().queue_depth).toBe(1);
    expect(admitAll(q)).toEqual([]);
    q.setMax(5);
    expect(admitAll(q)).toEqual(['a']);
  });
});

describe('AdmissionQueue.peekNext/activate', () => {
  it('names the next without changing anything, and nobody once the cap is reached', () => {
    const q = new AdmissionQueue(1);
    expect(q.peekNext()).toBeUndefined();
    q.enqueue('n1', 'normal');
    q.enqueue('h1', 'high');
    expect(q.peekNext()).toBe('h1');
    expect(q.peekNext()).toBe('h1');
    expect(q.snapshot()).toMatchObject({ queue_depth: 2, active_count: 0 });
    expect(q.activate('h1')).toBe(true);
    expect(q.peekNext()).toBeUndefined();
    expect(q.isActive('h1')).toBe(true);
    expect(q.isWaiting('n1')).toBe(true);
    expect(q.activeIds()).toEqual(['h1']);
  });

  it('activates an entry anywhere in the line, and refuses ids that are not waiting', () => {
    const q = new AdmissionQueue(5);
    q.enqueue('a', 'high');
    q.enqueue('b', 'low');
    expect(q.activate('b')).toBe(true);
    expect(q.activate('b')).toBe(false);
    expect(q.activate('nobody')).toBe(false);
    expect(q.positionOf('a')).toBe(1);
    expect(q.release('b')).toBe('released');
    expect(q.release('a')).toBe('withdrawn');
    expect(q.activate('a')).toBe(false);
    expect(q.snapshot()).toMatchObject({ queue_depth: 0, active_count: 0 });
  });

  it('holds back at a lowered cap until enough slots are released', () => {
    const q = new AdmissionQueue(3);
    ['a', 'b', 'c', 'd'].forEach((id) => q.enqueue(id, 'normal'));
    expect(admitAll(q)).toEqual(['a', 'b', 'c']);
    q.setMax(1);
    expect(q.maxConcurrent).toBe(1);
    q.release('a');
    expect(q.peekNext()).toBeUndefined();
    q.release('b');
    expect(q.peekNext()).toBeUndefined();
    q.release('c');
    expect(admitAll(q)).toEqual(['d']);
  });
});

describe('AdmissionQueue.reprioritize', () => {
  it('moves a waiting entry behind those already waiting at its new priority', () => {
    const q = new AdmissionQueue(0);
    q.enqueue('h1', 'high');
    q.enqueue('n1', 'normal');
    q.enqueue('bg', 'background');
    q.enqueue('h2', 'high');
    expect(q.reprioritize('bg', 'high')).toBe('moved');
    expect(q.positionOf('bg')).toBe(3);
    expect(q.snapshot().by_priority).toMatchObject({ high: 3, normal: 1, background: 0 });
    expect(q.reprioritize('h1', 'low')).toBe('moved');
    q.setMax(10);
    expect(admitAll(q)).toEqual(['h2', 'bg', 'n1', 'h1']);
  });

  it('reports active and unknown entries without changing anything', () => {
    const q = new AdmissionQueue(1);
    q.enqueue('a', 'normal');
    admitAll(q);
    expect(q.reprioritize('a', 'critical')).toBe('active');
    expect(q.reprioritize('zzz', 'critical')).toBe('unknown');
    expect(q.snapshot()).toMatchObject({ queue_depth: 0, active_count: 1 });
  });
});
