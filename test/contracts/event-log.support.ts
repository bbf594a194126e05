/** Helpers for the EventLog contract: record collectors, fresh names and keys that land in chosen partitions. */
import { randomUUID } from 'node:crypto';
import { partitionOf } from '../../system/domain/partition.js';
import type { Consumer, ConsumerOptions, EventLog, LogRecord, RecordHandler } from '../../system/ports/event-log.js';

/** A fresh name for a topic or group, so tests never see each other's records on a shared server. */
export function freshName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** `count` keys that all map to different partitions (as many as there are partitions at most). */
export function keysInDistinctPartitions(count: number, partitions: number): string[] {
  const byPartition = new Map<number, string>();
  for (let i = 0; byPartition.size < Math.min(count, partitions); i++) {
    const key = `key-${i}`;
    const partition = partitionOf(key, partitions);
    if (!byPartition.has(partition)) byPartition.set(partition, key);
  }
  return [...byPartition.values()];
}

/** A running consumer and everything it has handled so far. */
export interface Collector {
  consumer: Consumer;
  records: LogRecord[];
  assigned: number[][];
  revoked: number[][];
  /** Values handled, in handling order. */
  values(): string[];
}

/** Starts a consumer that records every record it handled, after `handler` (if any) resolved. */
export async function collect(
  log: EventLog,
  options: Pick<ConsumerOptions, 'group' | 'topics' | 'retry'>,
  handler: RecordHandler = async () => {},
): Promise<Collector> {
  const records: LogRecord[] = [];
  const assigned: number[][] = [];
  const revoked: number[][] = [];
  const consumer = await log.consume(
    {
      ...options,
      onAssigned: (partitions) => {
        assigned.push([...partitions]);
      },
      onRevoked: (partitions) => {
        revoked.push([...partitions]);
      },
    },
    async (record) => {
      await handler(record);
      records.push(record);
    },
  );
  return { consumer, records, assigned, revoked, values: () => records.map((record) => record.value) };
}

/** Appends values in order under one key, each after the previous one resolved. */
export async function appendAll(log: EventLog, topic: string, key: string, values: string[]): Promise<void> {
  for (const value of values) await log.append(topic, key, value);
}

/** Ordered values `${prefix}-0` … `${prefix}-(n-1)`. */
export function series(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
}
