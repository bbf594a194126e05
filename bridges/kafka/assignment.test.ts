/** The co-partitioning plan, the ownership diff, and agreement of kafkajs' partitioner with partitionOf. */
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { partitionOf } from '../../system/domain/partition.js';
import { diffOwnership, ownedPartitions, planCoPartition } from './assignment.js';

const range = (n: number): number[] => Array.from({ length: n }, (_, index) => index);

describe('planCoPartition', () => {
  it('gives partition p of every topic to the same member, balanced', () => {
    const topics = ['commands', 'events', 'results'];
    const members = ['m-c', 'm-a', 'm-b'].map((memberId) => ({ memberId, topics }));
    const plan = planCoPartition(members, new Map(topics.map((topic) => [topic, range(16)])));
    const ownerOf = new Map<string, string>();
    for (const [memberId, assignment] of plan) {
      for (const [topic, partitions] of Object.entries(assignment)) {
        for (const partition of partitions) {
          expect(ownerOf.has(`${topic}/${partition}`)).toBe(false);
          ownerOf.set(`${topic}/${partition}`, memberId);
        }
      }
    }
    expect(ownerOf.size).toBe(48);
    for (const partition of range(16)) {
      const owners = new Set(topics.map((topic) => ownerOf.get(`${topic}/${partition}`)));
      expect(owners.size).toBe(1);
    }
    const counts = [...plan.values()].map((assignment) => assignment.events?.length ?? 0);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    // The same members in any order get the same plan.
    expect(planCoPartition([...members].reverse(), new Map(topics.map((topic) => [topic, range(16)])))).toEqual(plan);
  });

  it('assigns every partition of a topic to one of its subscribers only, and lists members with nothing', () => {
    const plan = planCoPartition(
      [
        { memberId: 'a', topics: ['x'] },
        { memberId: 'b', topics: ['x', 'y'] },
        { memberId: 'c', topics: ['z'] },
      ],
      new Map([
        ['x', range(4)],
        ['y', range(3)],
      ]),
    );
    expect(plan.get('a')).toEqual({ x: [0, 2] });
    expect(plan.get('b')).toEqual({ x: [1, 3], y: [0, 1, 2] });
    expect(plan.get('c')).toEqual({});
  });
});

describe('ownership', () => {
  it('owns a partition number held in any subscribed topic, ignoring other topics', () => {
    expect(ownedPartitions({ a: [3, 1], b: [1, 5], other: [7] }, ['a', 'b'])).toEqual([1, 3, 5]);
    expect(ownedPartitions({}, ['a'])).toEqual([]);
  });

  it('diffs what was gained and lost', () => {
    expect(diffOwnership([0, 1, 2, 3], [2, 3, 4])).toEqual({ gained: [4], lost: [0, 1] });
    expect(diffOwnership([], [1, 0])).toEqual({ gained: [0, 1], lost: [] });
    expect(diffOwnership([5], [5])).toEqual({ gained: [], lost: [] });
  });
});

describe('partitioning', () => {
  it("matches kafkajs' DefaultPartitioner (Kafka's murmur2) for every partition count", () => {
    const partitioner = Partitioners.DefaultPartitioner();
    for (const count of [1, 3, 16, 100]) {
      const partitionMetadata = range(count).map((partitionId) => ({
        partitionId,
        leader: 1,
        partitionErrorCode: 0,
        replicas: [1],
        isr: [1],
      }));
      for (let i = 0; i < 2_000; i++) {
        const key = i % 7 === 0 ? `exec-${i}-ünï` : `key-${i}`;
        const chosen = partitioner({ topic: 't', partitionMetadata, message: { key, value: null } });
        expect(chosen).toBe(partitionOf(key, count));
      }
    }
  });
});
