/**
 * Consumer lag from the broker: for each group and topic, the partitions' high watermarks (fetchTopicOffsets) less
 * the group's committed offsets (fetchOffsets). A partition the group never committed in counts from its low
 * watermark, since the group starts there (`fromBeginning`).
 */
import type { Admin } from 'kafkajs';
import type { ConsumerLag } from '../../system/ports/event-log.js';

/** A group running in this process and its topics, as named on the broker. */
export interface GroupTopics {
  group: string;
  topics: readonly string[];
}

/** The lag of every partition of every group's topics; `logical` maps broker names back to the log's names. */
export async function consumerLag(admin: Admin, groups: readonly GroupTopics[], logical: (name: string) => string): Promise<ConsumerLag[]> {
  const ends = new Map<string, Promise<Map<number, { high: number; low: number }>>>();
  const endsOf = (topic: string) => {
    let known = ends.get(topic);
    if (!known) {
      known = admin.fetchTopicOffsets(topic).then((rows) => new Map(rows.map((r) => [r.partition, { high: Number(r.high), low: Number(r.low) }])));
      ends.set(topic, known);
    }
    return known;
  };
  const lags: ConsumerLag[] = [];
  for (const { group, topics } of groups) {
    const committed = await admin.fetchOffsets({ groupId: group, topics: [...topics] });
    for (const { topic, partitions } of committed) {
      const marks = await endsOf(topic);
      for (const { partition, offset } of partitions) {
        const end = marks.get(partition);
        if (!end) continue;
        const from = Number(offset) < 0 ? end.low : Number(offset);
        lags.push({ system: 'kafka', group: logical(group), topic: logical(topic), partition, lag: Math.max(0, end.high - from) });
      }
    }
  }
  return lags;
}
