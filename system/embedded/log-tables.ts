/**
 * The event log's tables and the few statements over them: records `(topic, partition, offset, key, value,
 * headers, appended_at)` with offsets increasing per (topic, partition), and each group's committed offset
 * (the next offset to handle) per (topic, partition).
 */
import { z } from 'zod';
import type { LogRecord } from '../ports/event-log.js';
import type { SqliteDb } from './sqlite.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS log_records (
  topic TEXT NOT NULL,
  "partition" INTEGER NOT NULL,
  "offset" INTEGER NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  headers TEXT NOT NULL,
  appended_at INTEGER NOT NULL,
  PRIMARY KEY (topic, "partition", "offset")
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_offsets (
  grp TEXT NOT NULL,
  topic TEXT NOT NULL,
  "partition" INTEGER NOT NULL,
  next_offset INTEGER NOT NULL,
  PRIMARY KEY (grp, topic, "partition")
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_meta (name TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;
`;

const recordRow = z.object({ offset: z.number().int(), key: z.string(), value: z.string(), headers: z.string() });
const appendedRow = z.object({ offset: z.number().int() });
const headersJson = z.record(z.string(), z.string());

/** A record to append, before the log gave it an offset. */
export interface NewRecord {
  topic: string;
  partition: number;
  key: string;
  value: string;
  headers: Record<string, string>;
}

/** Typed access to the event log's tables. */
export class LogTables {
  private readonly insert;
  private readonly nextOffset;
  private readonly insertAt;
  private readonly select;
  private readonly committedStmt;
  private readonly commitStmt;
  private readonly lagStmt;

  constructor(
    private readonly db: SqliteDb,
    private readonly partitions: number,
  ) {
    db.exec(SCHEMA);
    checkPartitionCount(db, partitions);
    this.insert = db.prepare(`
      INSERT INTO log_records (topic, "partition", "offset", key, value, headers, appended_at)
      VALUES (
        @topic, @partition,
        (SELECT coalesce(max("offset") + 1, 0) FROM log_records WHERE topic = @topic AND "partition" = @partition),
        @key, @value, @headers, @appendedAt)
      RETURNING "offset" AS offset`);
    this.nextOffset = db.prepare(
      `SELECT coalesce(max("offset") + 1, 0) AS offset FROM log_records WHERE topic = ? AND "partition" = ?`,
    );
    this.insertAt = db.prepare(`
      INSERT INTO log_records (topic, "partition", "offset", key, value, headers, appended_at)
      VALUES (?, ?, ?, ?, ?, ?, ?)`);
    this.select = db.prepare(`
      SELECT "offset" AS offset, key, value, headers FROM log_records
      WHERE topic = ? AND "partition" = ? AND "offset" >= ? ORDER BY "offset" LIMIT ?`);
    this.committedStmt = db.prepare(
      `SELECT next_offset FROM log_offsets WHERE grp = ? AND topic = ? AND "partition" = ?`,
    );
    this.commitStmt = db.prepare(`
      INSERT INTO log_offsets (grp, topic, "partition", next_offset) VALUES (?, ?, ?, ?)
      ON CONFLICT (grp, topic, "partition") DO UPDATE SET next_offset = max(next_offset, excluded.next_offset)`);
    this.lagStmt = db.prepare(`
      SELECT r."partition" AS partition, max(r."offset") + 1 - coalesce(o.next_offset, 0) AS lag
      FROM log_records r LEFT JOIN log_offsets o ON o.grp = ? AND o.topic = r.topic AND o."partition" = r."partition"
      WHERE r.topic = ? GROUP BY r."partition"`);
  }

  /** Records of `topic` the group has not handled yet, per partition (0 for a partition with none). */
  lag(group: string, topic: string): number[] {
    const lags = new Array<number>(this.partitions).fill(0);
    for (const row of this.lagStmt.all(group, topic) as Array<{ partition: number; lag: number }>) {
      if (row.partition < lags.length) lags[row.partition] = Math.max(0, row.lag);
    }
    return lags;
  }

  /**
   * Appends records in call order; the caller holds a write transaction (nobody else appends in between). Each
   * partition's next offset is looked up once, not per record.
   */
  appendMany(records: NewRecord[]): void {
    const next = new Map<string, number>();
    const appendedAt = Date.now();
    for (const r of records) {
      const slot = `${r.partition}\u0000${r.topic}`;
      const offset = next.get(slot) ?? appendedRow.parse(this.nextOffset.get(r.topic, r.partition)).offset;
      this.insertAt.run(r.topic, r.partition, offset, r.key, r.value, JSON.stringify(r.headers), appendedAt);
      next.set(slot, offset + 1);
    }
  }

  /** Appends one record in its own transaction and returns its offset. */
  append(record: NewRecord): number {
    const row = this.insert.get({ ...record, headers: JSON.stringify(record.headers), appendedAt: Date.now() });
    return appendedRow.parse(row).offset;
  }

  /** Up to `limit` records of one partition from `offset` on, in offset order. */
  read(topic: string, partition: number, offset: number, limit: number): LogRecord[] {
    return this.select.all(topic, partition, offset, limit).map((raw) => {
      const row = recordRow.parse(raw);
      return { topic, partition, offset: row.offset, key: row.key, value: row.value, headers: headersJson.parse(JSON.parse(row.headers)) };
    });
  }

  /** The group's next offset to handle in a partition (0 when it never committed). */
  committed(group: string, topic: string, partition: number): number {
    const row = this.committedStmt.get(group, topic, partition) as { next_offset: number } | undefined;
    return row?.next_offset ?? 0;
  }

  /** Moves the group's committed offset forward (never backward). */
  commit(group: string, topic: string, partition: number, nextOffset: number): void {
    this.commitStmt.run(group, topic, partition, nextOffset);
  }

  /** Appends a dead letter and commits past the failed record in one transaction. */
  deadLetter(letter: NewRecord, group: string, failed: LogRecord): number {
    return this.db.transaction(() => {
      const offset = this.append(letter);
      this.commit(group, failed.topic, failed.partition, failed.offset + 1);
      return offset;
    }).immediate();
  }
}

/** The partition count is fixed when the log is created: keys would move to other partitions otherwise. */
function checkPartitionCount(db: SqliteDb, partitions: number): void {
  db.prepare(`INSERT INTO log_meta (name, value) VALUES ('partitions', ?) ON CONFLICT (name) DO NOTHING`).run(String(partitions));
  const stored = (db.prepare(`SELECT value FROM log_meta WHERE name = 'partitions'`).get() as { value: string }).value;
  if (Number(stored) !== partitions) {
    throw new Error(`the event log in ${db.name} was created with ${stored} partitions, not ${partitions}`);
  }
}
