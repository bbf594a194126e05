/**
 * The embedded DocumentStore: one SQLite table per collection, `(id TEXT PRIMARY KEY, doc TEXT)` holding the
 * whole document as JSON, queried through `json_extract` (see sql-filter.ts) with expression indexes on the
 * fields a collection declares. better-sqlite3 is synchronous, so every call is atomic on its own.
 */
import { SqliteError } from 'better-sqlite3';
import {
  DuplicateKeyError,
  type Collection,
  type CollectionOptions,
  type Doc,
  type DocumentStore,
  type Filter,
  type FindOptions,
} from '../ports/document-store.js';
import { checkField, compileFilter, compileOptions, fieldExpr, InvalidQueryError } from './sql-filter.js';
import { quoteIdent, releaseDatabase, retainDatabase, StatementCache, type SqliteDb } from './sqlite.js';

/** Allowed collection names (they become table names). */
export const COLLECTION_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

const TABLE_PREFIX = 'doc_';

interface Row {
  doc: string;
}

/** The DocumentStore over a SQLite connection; closing it releases the connection (see sqlite.ts). */
export function createSqliteDocumentStore(db: SqliteDb): DocumentStore {
  retainDatabase(db);
  const statements = new StatementCache(db);
  const collections = new Map<string, SqliteCollection<Doc>>();
  let closed = false;

  const open = (): StatementCache => {
    if (closed) throw new Error('document store is closed');
    return statements;
  };

  return {
    collection<T extends Doc>(name: string, options: CollectionOptions = {}): Collection<T> {
      open();
      let collection = collections.get(name);
      if (!collection) {
        collection = new SqliteCollection<Doc>(db, name, open);
        collections.set(name, collection);
      }
      collection.ensureIndexes(options.indexes ?? []);
      // The table holds any Doc; the caller's T is its own promise about the shape it stored.
      return collection as unknown as Collection<T>;
    },
    async ping() {
      open().get('SELECT 1').get();
    },
    async close() {
      if (closed) return;
      closed = true;
      releaseDatabase(db);
    },
  };
}

class SqliteCollection<T extends Doc> implements Collection<T> {
  private readonly table: string;
  private readonly indexed = new Set<string>();

  constructor(
    private readonly db: SqliteDb,
    private readonly name: string,
    private readonly statements: () => StatementCache,
  ) {
    if (!COLLECTION_PATTERN.test(name)) throw new InvalidQueryError(`invalid collection name '${name}'`);
    this.table = quoteIdent(TABLE_PREFIX + name);
    db.exec(`CREATE TABLE IF NOT EXISTS ${this.table} (id TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL)`);
  }

  /** Creates an expression index for every field not indexed yet. */
  ensureIndexes(fields: string[]): void {
    for (const field of fields) {
      if (this.indexed.has(field) || checkField(field) === 'id') continue;
      const index = quoteIdent(`ix_${TABLE_PREFIX}${this.name}_${field}`);
      this.db.exec(`CREATE INDEX IF NOT EXISTS ${index} ON ${this.table} (${fieldExpr(field)})`);
      this.indexed.add(field);
    }
  }

  async insert(doc: T): Promise<void> {
    const id = checkId(doc);
    try {
      this.run(`INSERT INTO ${this.table} (id, doc) VALUES (?, ?)`, [id, encode(doc)]);
    } catch (error) {
      if (error instanceof SqliteError && error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new DuplicateKeyError(this.name, id);
      }
      throw error;
    }
  }

  async get(id: string): Promise<T | null> {
    const row = this.statements().get(`SELECT doc FROM ${this.table} WHERE id = ?`).get(id) as Row | undefined;
    return row ? decode<T>(row.doc) : null;
  }

  async put(doc: T): Promise<void> {
    const id = checkId(doc);
    this.run(`INSERT INTO ${this.table} (id, doc) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET doc = excluded.doc`, [
      id,
      encode(doc),
    ]);
  }

  async update(id: string, patch: Partial<T>): Promise<T | null> {
    const select = this.statements().get(`SELECT doc FROM ${this.table} WHERE id = ?`);
    const write = this.statements().get(`UPDATE ${this.table} SET doc = ? WHERE id = ?`);
    // Read-modify-write inside one transaction: no other writer (thread or process) can interleave.
    return this.db.transaction((): T | null => {
      const row = select.get(id) as Row | undefined;
      if (!row) return null;
      const next: Record<string, unknown> = decode<Record<string, unknown>>(row.doc);
      for (const [key, value] of Object.entries(patch)) {
        if (value !== undefined && key !== 'id') next[key] = value;
      }
      write.run(encode(next), id);
      return next as T;
    }).immediate();
  }

  async delete(id: string): Promise<boolean> {
    return this.run(`DELETE FROM ${this.table} WHERE id = ?`, [id]) > 0;
  }

  async find(filter: Filter = {}, options: FindOptions = {}): Promise<T[]> {
    const where = compileFilter(filter);
    const tail = compileOptions(options);
    const sql = `SELECT doc FROM ${this.table} WHERE ${where.sql} ${tail.sql}`;
    const rows = this.statements().get(sql).all(...where.params, ...tail.params) as Row[];
    return rows.map((row) => decode<T>(row.doc));
  }

  async count(filter: Filter = {}): Promise<number> {
    const where = compileFilter(filter);
    const sql = `SELECT count(*) AS n FROM ${this.table} WHERE ${where.sql}`;
    return (this.statements().get(sql).get(...where.params) as { n: number }).n;
  }

  private run(sql: string, params: unknown[]): number {
    return this.statements().get(sql).run(...params).changes;
  }
}

function checkId(doc: Doc): string {
  if (typeof doc?.id !== 'string' || doc.id.length === 0) throw new InvalidQueryError('a document needs a non-empty string id');
  return doc.id;
}

function encode(doc: object): string {
  return JSON.stringify(doc);
}

function decode<T>(text: string): T {
  return JSON.parse(text) as T;
}
