/**
 * The embedded database: one SQLite file `DATA_DIR/integr8s.db` shared by the document store and the event log.
 * One connection per file per process; every port built on it holds a reference and the connection closes when
 * the last holder releases it. WAL with synchronous=NORMAL: a committed transaction survives a killed process
 * (not necessarily a power cut), and readers never block the single writer.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/** A better-sqlite3 connection. */
export type SqliteDb = Database.Database;

/** The file name of the embedded database inside DATA_DIR. */
export const DATABASE_FILE = 'integr8s.db';

/** How long a writer waits for another process's write lock before failing with SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5_000;

const holders = new WeakMap<SqliteDb, number>();

/** The path of the embedded database for a data directory. */
export function databasePath(dataDir: string): string {
  return join(dataDir, DATABASE_FILE);
}

/** Opens and configures the database file (creating its directory); ":memory:" gives a throwaway database. */
export function openDatabase(file: string): SqliteDb {
  if (file !== ':memory:') mkdirSync(join(file, '..'), { recursive: true });
  const db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
  configure(db);
  return db;
}

/** Opens `DATA_DIR/integr8s.db`. */
export function openDataDir(dataDir: string): SqliteDb {
  return openDatabase(databasePath(dataDir));
}

function configure(db: SqliteDb): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('temp_store = MEMORY');
  db.pragma('cache_size = -16000');
  db.pragma('wal_autocheckpoint = 1000');
}

/** Registers one more user of the connection (a port built on it). */
export function retainDatabase(db: SqliteDb): void {
  holders.set(db, (holders.get(db) ?? 0) + 1);
}

/** Drops one user of the connection; the last one closes it. Safe on an already closed connection. */
export function releaseDatabase(db: SqliteDb): void {
  const left = (holders.get(db) ?? 1) - 1;
  if (left > 0) {
    holders.set(db, left);
    return;
  }
  holders.delete(db);
  if (db.open) db.close();
}

/** Quotes an SQL identifier that has already been checked against a strict pattern. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A small cache of prepared statements keyed by their SQL text, evicting the oldest past `max`. */
export class StatementCache {
  private readonly statements = new Map<string, Database.Statement>();

  constructor(
    private readonly db: SqliteDb,
    private readonly max = 500,
  ) {}

  /** The prepared statement for `sql`, preparing it on first use. */
  get(sql: string): Database.Statement {
    return this.prepared(sql, false);
  }

  /** The prepared statement for `sql` answering each row's only column, not an object per row (see better-sqlite3's pluck). */
  pluck(sql: string): Database.Statement {
    return this.prepared(sql, true);
  }

  private prepared(sql: string, pluck: boolean): Database.Statement {
    const key = pluck ? `pluck:${sql}` : sql;
    const cached = this.statements.get(key);
    if (cached) return cached;
    const statement = this.db.prepare(sql);
    if (pluck) statement.pluck();
    if (this.statements.size >= this.max) {
      const oldest = this.statements.keys().next();
      if (!oldest.done) this.statements.delete(oldest.value);
    }
    this.statements.set(key, statement);
    return statement;
  }
}
