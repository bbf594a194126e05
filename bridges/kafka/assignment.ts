/**
 * Who owns which partitions in a consumer group.
 *
 * The EventLog port speaks of partition *numbers* (`onAssigned([0, 3])`), not topic-partitions: an execution's
 * key picks partition p of every topic, and the node that owns p hosts that execution's actors. So a member must
 * own partition p of all the topics it subscribes, or none. kafkajs' round-robin assigner spreads topic-partitions
 * without regard to that; the co-partitioning assigner here gives partition p of every topic to the same member
 * (member `p mod n` of the members sorted by id), as long as the members subscribe the same topics, which is how
 * this system uses groups. Members that subscribe different topics still get every partition of their topics
 * assigned to exactly one subscriber, only not co-partitioned.
 */
import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

/** The protocol name members announce; every member of a group must offer it (all of this adapter's do). */
export const CO_PARTITION_ASSIGNER = 'integr8s-copartition';

/** One member of a group and the topics it subscribed. */
export interface MemberSubscription {
  memberId: string;
  topics: string[];
}

/** topic -> partitions, the shape kafkajs uses for a member's assignment. */
export type TopicAssignment = Record<string, number[]>;

/**
 * Partition p of each topic goes to subscriber `p mod n` of that topic's subscribers sorted by member id, so equal
 * subscriptions give co-partitioned, balanced (counts differ by at most one per topic) assignments. Every member
 * appears in the result, with an empty assignment when there is nothing for it.
 */
export function planCoPartition(
  members: MemberSubscription[],
  partitionsPerTopic: ReadonlyMap<string, readonly number[]>,
): Map<string, TopicAssignment> {
  const sorted = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
  const plan = new Map<string, TopicAssignment>(sorted.map((member) => [member.memberId, {}]));
  for (const [topic, partitions] of partitionsPerTopic) {
    const subscribers = sorted.filter((member) => member.topics.includes(topic));
    if (subscribers.length === 0) continue;
    for (const partition of [...partitions].sort((a, b) => a - b)) {
      const owner = subscribers[partition % subscribers.length]!;
      const assignment = plan.get(owner.memberId)!;
      (assignment[topic] ??= []).push(partition);
    }
  }
  return plan;
}

/** The kafkajs assigner for planCoPartition; runs on the group leader. */
export const coPartitionAssigner: PartitionAssigner = ({ cluster }) => ({
  name: CO_PARTITION_ASSIGNER,
  version: 0,
  async assign({ members, topics }) {
    const subscriptions = members.map(({ memberId, memberMetadata }) => ({
      memberId,
      topics: AssignerProtocol.MemberMetadata.decode(memberMetadata)?.topics ?? topics,
    }));
    // Like kafkajs' own assigners: the topics the leader subscribed (it has their metadata).
    const partitionsPerTopic = new Map(
      topics.map((topic) => [topic, cluster.findTopicPartitionMetadata(topic).map((meta) => meta.partitionId)]),
    );
    const plan = planCoPartition(subscriptions, partitionsPerTopic);
    return members.map(({ memberId }) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({
        version: 0,
        assignment: plan.get(memberId) ?? {},
        userData: Buffer.alloc(0),
      }),
    }));
  },
  protocol({ topics }) {
    return {
      name: CO_PARTITION_ASSIGNER,
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
    };
  },
});

/** The partition numbers a member owns: those it holds in at least one of the given topics, ascending. */
export function ownedPartitions(assignment: TopicAssignment, topics: readonly string[]): number[] {
  const owned = new Set<number>();
  for (const topic of topics) for (const partition of assignment[topic] ?? []) owned.add(partition);
  return [...owned].sort((a, b) => a - b);
}

/** What changed between two ownerships: numbers gained and numbers lost, each ascending. */
export function diffOwnership(
  before: Iterable<number>,
  after: Iterable<number>,
): { gained: number[]; lost: number[] } {
  const was = new Set(before);
  const is = new Set(after);
  return {
    gained: [...is].filter((partition) => !was.has(partition)).sort((a, b) => a - b),
    lost: [...was].filter((partition) => !is.has(partition)).sort((a, b) => a - b),
  };
}
