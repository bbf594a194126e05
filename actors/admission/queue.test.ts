import { describe, expect, it } from 'vitest';
import { AdmissionQueue } from './queue.js';

describe('AdmissionQueue', () => {
  it('grants up to the cap, highest priority first, FIFO within a priority', () => {
    const q = new AdmissionQueue(2);
    q.enqueue('low1', 'low');
    q.enqueue('n1', 'normal');
    q.enqueue('n2', 'normal');
    q.enqueue('crit', 'critical');
    expect(q.grant()).toEqual(['crit', 'n1']);
    expect(q.snapshot()).toMatchObject({ queue_depth: 2, active_count: 2, max_concurrent: 2 });
    expect(q.positionOf('n2')).toBe(1);
    expect(q.positionOf('low1')).toBe(2);
  });

  it('releases exactly once and hands the slot on', () => {
    const q = new AdmissionQueue(1);
    q.enqueue('a', 'normal');
    q.enqueue('b', 'normal');
    expect(q.grant()).toEqual(['a']);
    expect(q.release('a')).toBe('released');
    expect(q.release('a')).toBe('unknown');
    expect(q.grant()).toEqual(['b']);
    expect(q.snapshot().active_count).toBe(1);
  });

  it('withdraws a waiting entry without touching active slots', () => {
    const q = new AdmissionQueue(1);
    q.enqueue('a', 'normal');
    q.grant();
    q.enqueue('b', 'high');
    expect(q.release('b')).toBe('withdrawn');
    expect(q.snapshot()).toMatchObject({ queue_depth: 0, active_count: 1 });
  });

  it('ignores duplicate enqueues and raising the cap grants more', () => {
    const q = new AdmissionQueue(0);
    q.enqueue('a', 'normal');
    q.enqueue('a', 'normal');
    expect(q.snapshot().queue_depth).toBe(1);
    expect(q.grant()).toEqual([]);
    q.setMax(5);
    expect(q.grant()).toEqual(['a']);
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
    expect(q.grant()).toEqual(['h2', 'bg', 'n1', 'h1']);
  });

  it('reports active and unknown entries without changing anything', () => {
    const q = new AdmissionQueue(1);
    q.enqueue('a', 'normal');
    q.grant();
    expect(q.reprioritize('a', 'critical')).toBe('active');
    expect(q.reprioritize('zzz', 'critical')).toBe('unknown');
    expect(q.snapshot()).toMatchObject({ queue_depth: 0, active_count: 1 });
  });
});
