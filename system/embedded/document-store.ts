/**
 * The embedded DocumentStore: one SQLite table per collection, `(id TEXT PRIMARY KEY, doc TEXT)` holding the
 * whole document as JSON, queried through `json_extract` (see sql-filter.ts) with expression indexes on the
 * fields a collection declares. better-sqlite3 is synchronous, so every call is atomic on its own.
 *
 * A collection with a TTL (CollectionOptions.ttl) has one more column, `expires_at` (epoch ms, NULL = never),
 * computed from the document when it is written. Every statement skips rows whose time has come, so they are gone
 * at once; a timer of the store deletes them from the table every `ttlSweepMs`.
 */
import { SqliteError } from 'better-sqlite3';
import {
  adoptTtl,
  checkIncrement,
  compoundFields,
  indexName,
  DuplicateKeyError,
  InvalidQueryError,
  ttlExpiry,
  type Collection,
  type CollectionOptions,
  type CompoundIndex,
  type Doc,
  type DocumentStore,
  type Filter,
  type FindOptions,
  type TtlOptions,
} from '../ports/document-store.js';
import { compileFilter, compileOptions, fieldExpr } from './sql-filter.js';
import { quoteIdent, releaseDatabase, retainDatabase, StatementCache, type SqliteDb } from './sqlite.js';

/** Allowed collection names (they become table names). */
export const COLLECTION_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

const TABLE_PREFIX = 'doc_';

/** How often expired documents are deleted from their tables by default. */
export const DEFAULT_TTL_SWEEP_MS = 60_000;

interface Row {
  doc: string;
}

export interface SqliteDocumentStoreOptions {
  /** How often expired documents of TTL collections are deleted from storage; default 60 s. */
  ttlSweepMs?: number;
  /** The clock TTLs are measured against (epoch ms); default Date.now. */
  now?: () => number;
}

/** The DocumentStore over a SQLite connection; closing it releases the connection (see sqlite.ts). */
export function createSqliteDocumentStore(db: SqliteDb, options: SqliteDocumentStoreOptions = {}): DocumentStore {
  retainDatabase(db);
  const statements = new StatementCache(db);
  const collections = new Map<string, SqliteCollection<Doc>>();
  const now = options.now ?? Date.now;
  const sweepMs = Math.max(10, options.ttlSweepMs ?? DEFAULT_TTL_SWEEP_MS);
  let closed = false;
  let sweeper: NodeJS.Timeout | undefined;

  const open = (): StatementCache => {
    if (closed) throw new Error('document store is closed');
    return statements;
  };

  const sweep = (): void => {
    if (closed) return;
    for (const collection of collections.values()) {
      try {
        collection.purgeExpired();
      } catch {
        // A busy or closing database: the next sweep tries again, and readers never see expired rows anyway.
      }
    }
  };

  return {
    collection<T extends Doc>(name: string, options: CollectionOptions = {}): Collection<T> {
      open();
      let collection = collections.get(name);
      if (!collection) {
        collection = new SqliteCollection<Doc>(db, name, open, now);
        collections.set(name, collection);
      }
      if (options.ttl) collection.configureTtl(options.ttl);
      collection.ensureIndexes(options.indexes ?? []);
      if (collection.expires && !sweeper) {
        sweeper = setInterval(sweep, sweepMs);
        sweeper.unref();
      }
      // The table holds any Doc; the caller's T is its own promise about the shape it stored.
      return collection as unknown as Collection<T>;
    },
    async ping() {
      open().get('SELECT 1').get();
    },
    async close() {
      if (closed) return;
      closed = true;
      if (sweeper) clearInterval(sweeper);
      releaseDatabase(db);
    },
  };
}

class SqliteCollection<T extends Doc> implements Collection<T> {
  private readonly table: string;
  private readonly indexed = new Set<string>();
  private ttl: TtlOptions | undefined;
  /** Whether the table has the `expires_at` column (it was a TTL collection once, here or in another process). */
  expires: boolean;

  constructor(
    private readonly db: SqliteDb,
    private readonly name: string,
    private readonly statements: () => StatementCache,
    private readonly now: () => number,
  ) {
    if (!COLLECTION_PATTERN.test(name)) throw new InvalidQueryError(`invalid collection name '${name}'`);
    this.table = quoteIdent(TABLE_PREFIX + name);
    db.exec(`CREATE TABLE IF NOT EXISTS ${this.table} (id TEXT PRIMARY KEY NOT NULL, doc TEXT NOT NULL)`);
    this.expires = this.hasExpiryColumn();
  }

  /** Creates an expression index for every field and compound index not made yet (a compound one ends with id). */
  ensureIndexes(indexes: Array<string | CompoundIndex>): void {
    for (const spec of indexes) {
      const name = indexName(spec);
      if (this.indexed.has(name) || name === 'id') continue;
      const columns =
        typeof spec === 'string'
          ? fieldExpr(spec)
          : [...compoundFields(spec).map(([field, direction]) => `${fieldExpr(field)} ${direction === 1 ? 'ASC' : 'DESC'}`), 'id ASC'].join(', ');
      const index = quoteIdent(`ix_${TABLE_PREFIX}${this.name}_${name}`);
      this.db.exec(`CREATE INDEX IF NOT EXISTS ${index} ON ${this.table} (${columns})`);
      this.indexed.add(name);
    }
  }

  /** Gives the collection its TTL: adds the expiry column (and its index) when the table has none yet. */
  configureTtl(ttl: TtlOptions): void {
    const adopted = adoptTtl(this.name, this.ttl, ttl);
    if (!adopted) return;
    if (!this.expires) {
      this.db.transaction(() => {
        // Another process may have added the column since the constructor looked.
        if (!this.hasExpiryColumn()) this.db.exec(`ALTER TABLE ${this.table} ADD COLUMN expires_at INTEGER`);
      }).immediate();
      this.expires = true;
    }
    const index = quoteIdent(`ix_${TABLE_PREFIX}${this.name}__expires_at`);
    this.db.exec(`CREATE INDEX IF NOT EXISTS ${index} ON ${this.table} (expires_at) WHERE expires_at IS NOT NULL`);
    this.ttl = adopted;
    this.purgeExpired();
  }

  /** Deletes the rows whose time has come; returns how many. */
  purgeExpired(): number {
    if (!this.expires) return 0;
    return this.run(`DELETE FROM ${this.table} WHERE expires_at IS NOT NULL AND expires_at <= ?`, [this.now()]);
  }

  async insert(doc: T): Promise<void> {
    const id = checkId(doc);
    try {
      const changes = this.expires
        ? // An expired row is gone already: the new document takes its place.
          this.run(
            `INSERT INTO ${this.table} (id, doc, expires_at) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET ` +
              `doc = excluded.doc, expires_at = excluded.expires_at WHERE expires_at IS NOT NULL AND expires_at <= ?`,
            [id, encode(doc), this.expiryOf(doc), this.now()],
          )
        : this.run(`INSERT INTO ${this.table} (id, doc) VALUES (?, ?)`, [id, encode(doc)]);
      if (changes === 0) throw new DuplicateKeyError(this.name, id);
    } catch (error) {
      if (error instanceof SqliteError && error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new DuplicateKeyError(this.name, id);
      }
      throw error;
    }
  }

  async get(id: string): Promise<T | null> {
    const live = this.live();
    const doc = this.statements()
      .pluck(`SELECT doc FROM ${this.table} WHERE id = ? AND ${live.sql}`)
      .get(id, ...live.params) as string | undefined;
    return doc === undefined ? null : decode<T>(doc);
  }

  async put(doc: T): Promise<void> {
    const id = checkId(doc);
    if (this.expires) {
      this.run(
        `INSERT INTO ${this.table} (id, doc, expires_at) VALUES (?, ?, ?) ` +
          `ON CONFLICT(id) DO UPDATE SET doc = excluded.doc, expires_at = excluded.expires_at`,
        [id, encode(doc), this.expiryOf(doc)],
      );
      return;
    }
    this.run(`INSERT INTO ${this.table} (id, doc) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET doc = excluded.doc`, [
      id,
      encode(doc),
    ]);
  }

  async update(id: string, patch: Partial<T>): Promise<T | null> {
    const live = this.live();
    const select = this.statements().get(`SELECT doc FROM ${this.table} WHERE id = ? AND ${live.sql}`);
    // Without a TTL known here, a document keeps the expiry it was written with.
    const write = this.ttl
      ? this.statements().get(`UPDATE ${this.table} SET doc = ?, expires_at = ? WHERE id = ?`)
      : this.statements().get(`UPDATE ${this.table} SET doc = ? WHERE id = ?`);
    // Read-modify-write inside one transaction: no other writer (thread or process) can interleave.
    return this.db.transaction((): T | null => {
      const row = select.get(id, ...live.params) as Row | undefined;
      if (!row) return null;
      const next: Record<string, unknown> = decode<Record<string, unknown>>(row.doc);
      for (const [key, value] of Object.entries(patch)) {
        if (value !== undefined && key !== 'id') next[key] = value;
      }
      if (this.ttl) write.run(encode(next), this.expiryOf(next), id);
      else write.run(encode(next), id);
      return next as T;
    }).immediate();
  }

  async increment(id: string, field: string, by: number): Promise<T | null> {
    checkIncrement(field, by);
    if (field === this.ttl?.field.split('.')[0]) throw new InvalidQueryError(`increment: field '${field}' is not allowed here`);
    return this.db.transaction((): T | null => {
      const live = this.live();
      const row = this.statements().get(`SELECT doc FROM ${this.table} WHERE id = ? AND ${live.sql}`).get(id, ...live.params) as Row | undefined;
      if (!row) return null;
      const doc: Record<string, unknown> = decode<Record<string, unknown>>(row.doc);
      const current = doc[field];
      if (current !== undefined && current !== null && typeof current !== 'number') {
        throw new InvalidQueryError(`increment: field '${field}' holds a ${typeof current}, not a number`);
      }
      doc[field] = (current ?? 0) + by;
      this.statements().get(`UPDATE ${this.table} SET doc = ? WHERE id = ?`).run(encode(doc), id);
      return doc as T;
    }).immediate();
  }

  async delete(id: string): Promise<boolean> {
    const live = this.live();
    return this.run(`DELETE FROM ${this.table} WHERE id = ? AND ${live.sql}`, [id, ...live.params]) > 0;
  }

  async find(filter: Filter = {}, options: FindOptions = {}): Promise<T[]> {
    const where = compileFilter(filter);
    const tail = compileOptions(options);
    const live = this.live();
    const sql = `SELECT doc FROM ${this.table} WHERE ${live.sql} AND ${where.sql} ${tail.sql}`;
    const docs = this.statements().pluck(sql).all(...live.params, ...where.params, ...tail.params) as string[];
    return docs.map((doc) => decode<T>(doc));
  }

  async count(filter: Filter = {}): Promise<number> {
    const where = compileFilter(filter);
    const live = this.live();
    const sql = `SELECT count(*) FROM ${this.table} WHERE ${live.sql} AND ${where.sql}`;
    return this.statements().pluck(sql).get(...live.params, ...where.params) as number;
  }

  /** The condition that hides expired rows ("1" for a table without expiry). */
  private live(): { sql: string; params: number[] } {
    return this.expires ? { sql: '(expires_at IS NULL OR expires_at > ?)', params: [this.now()] } : { sql: '1', params: [] };
  }

  /** The expiry of a document under this collection's TTL, null without one. */
  private expiryOf(doc: object): number | null {
    return this.ttl ? ttlExpiry(doc, this.ttl) : null;
  }

  private hasExpiryColumn(): boolean {
    const columns = this.db.pragma(`table_info(${this.table})`) as { name: string }[];
    return columns.some((column) => column.name === 'expires_at');
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
