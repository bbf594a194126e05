/**
 * The DocumentStore on MongoDB (cluster mode), also served by FerretDB v1 for local runs and tests.
 *
 * - A collection of the port is a MongoDB collection of the same name in one database. The port's string `id` is
 *   the document's `_id`; the mapping happens here and nowhere else, so callers never see `_id`, ObjectIds or any
 *   other MongoDB type: filters and sorts on `id` become `_id` (inside `$in`/`$nin`/`$ne`/ranges too), and
 *   returned documents carry `id` again.
 * - Documents are stored as JSON has them (undefined dropped, NaN null, Dates as ISO strings), like the embedded
 *   store keeps them, so both modes hold the same data.
 * - Filters are checked exactly as the embedded store checks them (same field pattern, same operators, scalar
 *   values only) and then passed through, since the filter language is MongoDB's own. Results are ordered by the
 *   requested sort with `_id` as the last key, as the embedded store orders them, so pages are stable.
 * - Indexes named in CollectionOptions are created once per collection and store, lazily, before the first
 *   operation on it; an index the server refuses is reported to the logger and otherwise ignored.
 * - No transactions and no change streams (FerretDB v1 has neither). FerretDB v1 runs `findAndModify` and
 *   updates as a read followed by a write, so two concurrent updates of one document can lose one of them; writes
 *   to one id are therefore serialized within this process (MongoDB itself needs no help: its updates are atomic).
 *   Two processes updating one document at once through FerretDB can still lose an update.
 * - TTL (CollectionOptions.ttl) is done here rather than by a TTL index, because a TTL index needs BSON dates in
 *   the documents and FerretDB v1 has no TTL indexes at all: every write of a TTL collection stores the expiry in a
 *   hidden date field, reads skip documents past it, and a timer deletes them every `ttlSweepMs`. On MongoDB a
 *   TTL index on the hidden field is created as well, so the server purges them even when no node runs.
 */
import {
  MongoClient,
  MongoServerError,
  type Collection as MongoCollection,
  type Document,
  type Filter as MongoFilter,
  type MongoClientOptions,
  type Sort,
} from 'mongodb';
import {
  adoptTtl,
  checkField,
  compoundFields,
  indexName,
  checkIncrement,
  DuplicateKeyError,
  InvalidQueryError,
  ttlExpiry,
  type Collection,
  type CollectionOptions,
  type CompoundIndex,
  type Condition,
  type Doc,
  type DocumentStore,
  type Filter,
  type FindOptions,
  type Scalar,
  type TtlOptions,
} from '../../system/ports/document-store.js';

/** Where trouble that does not fail an operation is reported (a refused index, a failed TTL sweep); pino fits. */
export interface MongoStoreLogger {
  warn(details: object, message: string): void;
}

export interface MongoDocumentStoreOptions {
  /** `mongodb://…` of the server; ignored when `client` is given. */
  url?: string;
  /** A client to share (e.g. with the event store); the store then does not close it. */
  client?: MongoClient;
  /** The database holding the collections. */
  database: string;
  /** How long an operation waits for a reachable server before failing; default 5 000 ms. */
  serverSelectionTimeoutMS?: number;
  /** More options for the client the store creates from `url`. */
  clientOptions?: MongoClientOptions;
  /** How often documents past their TTL are deleted from storage; default 60 s. */
  ttlSweepMs?: number;
  /** The clock TTLs are measured against (epoch ms); default Date.now. */
  now?: () => number;
  logger?: MongoStoreLogger;
}

/** Allowed collection names, the same as the embedded store's. */
const COLLECTION_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** The hidden field holding a document's expiry (a BSON date) in TTL collections; no valid field name can reach it. */
export const EXPIRES_FIELD = '@expires';

/** Index names of the expiry field: the server's TTL index (MongoDB), or a plain one (FerretDB, no TTL indexes). */
const TTL_INDEX = 'integr8s_ttl';
const EXPIRY_INDEX = 'integr8s_expiry';

const DUPLICATE_KEY = 11000;
const DEFAULT_SWEEP_MS = 60_000;
const RANGE_OPS = new Set(['$gt', '$gte', '$lt', '$lte']);

type Stored = Document & { _id: string };

/** Runs tasks with the same key one after another, in call order; different keys run freely. */
class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<R>(key: string, task: () => Promise<R>): Promise<R> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}

/**
 * Writes to one document are serialized across all stores of this process: FerretDB v1 runs an update as a read
 * followed by a write of the whole document, so without this, concurrent updates of different fields lose some.
 */
const WRITE_LOCKS = new KeyedLock();

/** Per collection name and store: its indexes, its TTL, and the index creations still to run. */
interface CollectionState {
  name: string;
  mongo: MongoCollection<Stored>;
  indexed: Set<string>;
  ttl: TtlOptions | undefined;
  /** Index creations not run yet; the next operation runs them first (they need a connection). */
  pendingIndexTasks: IndexTask[];
  /** The run of `pendingIndexTasks` in progress, which concurrent operations wait for. */
  preparing: Promise<void> | undefined;
}

/** Creates one index; a refusal by the server is logged inside, any other failure rejects (and is retried). */
type IndexTask = () => Promise<void>;

/** Creates the store; it connects on first use, so a server that is down fails operations, not this call. */
export function createMongoDocumentStore(options: MongoDocumentStoreOptions): DocumentStore {
  const ownClient = !options.client;
  const client =
    options.client ??
    new MongoClient(requiredUrl(options.url), {
      serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? 5_000,
      connectTimeoutMS: options.serverSelectionTimeoutMS ?? 5_000,
      // undefined is absent, as in JSON (the embedded store's encoding), not null.
      ignoreUndefined: true,
      ...options.clientOptions,
    });
  const db = client.db(options.database);
  const now = options.now ?? Date.now;
  const logger = options.logger;
  const states = new Map<string, CollectionState>();
  let closed = false;
  let sweeper: NodeJS.Timeout | undefined;
  let sweeping = false;

  let connecting: Promise<void> | undefined;

  /**
   * Connects (once; again after a failed attempt) and throws when closed. The driver's own connect-on-first-use
   * leaves a client whose first attempt failed closed for good ("Topology is closed"); connecting explicitly
   * lets a store created while the server was down recover when it comes up. Once connected, the driver rides
   * out outages by itself: operations fail after serverSelectionTimeoutMS while the server is away.
   */
  const check = async (): Promise<void> => {
    if (closed) throw new Error('document store is closed');
    connecting ??= client.connect().then(
      () => undefined,
      (error: unknown) => {
        connecting = undefined;
        throw error;
      },
    );
    await connecting;
  };

  const sweep = async (): Promise<void> => {
    if (closed || sweeping) return;
    sweeping = true;
    try {
      await check();
      for (const state of states.values()) {
        if (!state.ttl || closed) continue;
        await state.mongo
          .deleteMany({ [EXPIRES_FIELD]: { $lte: new Date(now()) } })
          .catch((error: unknown) => logger?.warn({ collection: state.name, err: message(error) }, 'TTL sweep failed'));
      }
    } catch {
      // Not connected (or closed): the next sweep tries again, and readers never see expired documents anyway.
    } finally {
      sweeping = false;
    }
  };

  return {
    collection<T extends Doc>(name: string, collectionOptions: CollectionOptions = {}): Collection<T> {
      if (closed) throw new Error('document store is closed');
      if (!COLLECTION_PATTERN.test(name)) throw new InvalidQueryError(`invalid collection name '${name}'`);
      let state = states.get(name);
      if (!state) {
        state = { name, mongo: db.collection<Stored>(name), indexed: new Set(), ttl: undefined, pendingIndexTasks: [], preparing: undefined };
        states.set(name, state);
      }
      if (collectionOptions.ttl) configureTtl(state, collectionOptions.ttl, logger);
      ensureIndexes(state, collectionOptions.indexes ?? [], logger);
      if (state.ttl && !sweeper) {
        sweeper = setInterval(() => void sweep(), Math.max(10, options.ttlSweepMs ?? DEFAULT_SWEEP_MS));
        sweeper.unref();
      }
      return new MongoDocCollection<T>(state, `${options.database}\u0000${name}`, now, check);
    },
    async ping() {
      await check();
      await db.command({ ping: 1 });
    },
    async close() {
      if (closed) return;
      closed = true;
      if (sweeper) clearInterval(sweeper);
      if (ownClient) await client.close();
    },
  };
}

function requiredUrl(url: string | undefined): string {
  if (!url) throw new TypeError('createMongoDocumentStore needs a url or a client');
  return url;
}

/** Queues index creation for the fields the collection has not indexed yet. */
function ensureIndexes(state: CollectionState, indexes: Array<string | CompoundIndex>, logger: MongoStoreLogger | undefined): void {
  for (const spec of indexes) {
    const name = indexName(spec);
    if (name === 'id' || state.indexed.has(name)) continue;
    state.indexed.add(name);
    // A compound index ends with _id, the tie-break of every find (see translateSort).
    const keys: Record<string, 1 | -1> = typeof spec === 'string' ? { [spec]: 1 } : Object.fromEntries([...compoundFields(spec), ['_id', 1]]);
    state.pendingIndexTasks.push(async () => {
      await state.mongo.createIndex(keys).catch((error: unknown) => {
        if (!(error instanceof MongoServerError)) throw error;
        logger?.warn({ collection: state.name, index: name, err: error.message }, 'could not create an index; going on without it');
      });
    });
  }
}

/** Gives the collection its TTL (once; a different one is an error) and queues the expiry index. */
function configureTtl(state: CollectionState, ttl: TtlOptions, logger: MongoStoreLogger | undefined): void {
  const adopted = adoptTtl(state.name, state.ttl, ttl);
  if (!adopted) return;
  state.ttl = adopted;
  state.pendingIndexTasks.push(async () => {
    try {
      await state.mongo.createIndex({ [EXPIRES_FIELD]: 1 }, { name: TTL_INDEX, expireAfterSeconds: 0 });
    } catch (error) {
      if (!(error instanceof MongoServerError)) throw error;
      // FerretDB v1: "Index option expireAfterSeconds is not implemented yet". Reads and the sweep still want an index.
      await state.mongo.createIndex({ [EXPIRES_FIELD]: 1 }, { name: EXPIRY_INDEX }).catch((again: unknown) => {
        if (!(again instanceof MongoServerError)) throw again;
        logger?.warn({ collection: state.name, err: again.message }, 'could not create the expiry index');
      });
    }
  });
}

/** Runs the collection's pending index creations; one that failed for want of a server is kept for next time. */
async function prepare(state: CollectionState): Promise<void> {
  if (state.pendingIndexTasks.length === 0) return;
  state.preparing ??= (async () => {
    try {
      while (state.pendingIndexTasks.length > 0) {
        const task = state.pendingIndexTasks[0]!;
        await task();
        state.pendingIndexTasks.shift();
      }
    } finally {
      state.preparing = undefined;
    }
  })();
  await state.preparing;
}

class MongoDocCollection<T extends Doc> implements Collection<T> {
  constructor(
    private readonly state: CollectionState,
    /** Where this collection's ids live, for WRITE_LOCKS. */
    private readonly scope: string,
    private readonly now: () => number,
    private readonly check: () => Promise<void>,
  ) {}

  async insert(doc: T): Promise<void> {
    const id = checkId(doc);
    const stored = this.toStored(doc);
    const mongo = await this.ready();
    await WRITE_LOCKS.run(this.key(id), async () => {
      try {
        await mongo.insertOne(stored);
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
        // An expired document is gone already: the new one takes its place.
        if (this.state.ttl && (await mongo.deleteOne({ _id: id, ...this.expired() })).deletedCount === 1) {
          try {
            await mongo.insertOne(stored);
            return;
          } catch (again) {
            if (!isDuplicateKey(again)) throw again;
          }
        }
        throw new DuplicateKeyError(this.state.name, id);
      }
    });
  }

  async get(id: string): Promise<T | null> {
    const mongo = await this.ready();
    const found = await mongo.findOne(this.live({ _id: checkIdType(id) }));
    return found ? fromStored<T>(found) : null;
  }

  async put(doc: T): Promise<void> {
    const id = checkId(doc);
    const stored = this.toStored(doc);
    const mongo = await this.ready();
    await WRITE_LOCKS.run(this.key(id), async () => {
      // Two upserts of a new id can race to the insert (here: other nodes); the loser retries as an update.
      for (let attempt = 0; ; attempt++) {
        try {
          await mongo.replaceOne({ _id: id }, stored, { upsert: true });
          return;
        } catch (error) {
          if (!isDuplicateKey(error) || attempt >= 3) throw error;
        }
      }
    });
  }

  async update(id: string, patch: Partial<T>): Promise<T | null> {
    checkIdType(id);
    const set: Document = {};
    for (const [key, value] of Object.entries(asJson(patch))) {
      if (value === undefined || key === 'id') continue;
      // $set reads a dot as a path and refuses a leading $: top-level fields only, as the port says.
      if (key.includes('.') || key.startsWith('$') || key === '_id' || key === EXPIRES_FIELD) {
        throw new InvalidQueryError(`update: field name '${key}' is not allowed here`);
      }
      set[key] = value;
    }
    const update: Document = {};
    const ttl = this.state.ttl;
    if (ttl && Object.hasOwn(set, ttl.field.split('.')[0]!)) {
      // The time the TTL counts from changed: so does the expiry.
      const expiry = ttlExpiry(set, ttl);
      if (expiry === null) update.$unset = { [EXPIRES_FIELD]: '' };
      else set[EXPIRES_FIELD] = new Date(expiry);
    }
    if (Object.keys(set).length > 0) update.$set = set;
    const mongo = await this.ready();
    if (Object.keys(update).length === 0) return this.get(id);
    return WRITE_LOCKS.run(this.key(id), async () => {
      const after = await mongo.findOneAndUpdate(this.live({ _id: id }), update, { returnDocument: 'after' });
      return after ? fromStored<T>(after) : null;
    });
  }

  async increment(id: string, field: string, by: number): Promise<T | null> {
    checkIdType(id);
    checkIncrement(field, by);
    if (field === EXPIRES_FIELD || field === this.state.ttl?.field.split('.')[0]) {
      throw new InvalidQueryError(`increment: field '${field}' is not allowed here`);
    }
    const mongo = await this.ready();
    return WRITE_LOCKS.run(this.key(id), async () => {
      // $inc on a null field fails in MongoDB; a missing or null field counts as 0 here, so null is cleared first.
      await mongo.updateOne(this.live({ _id: id, [field]: null }), { $unset: { [field]: '' } });
      try {
        const after = await mongo.findOneAndUpdate(this.live({ _id: id }), { $inc: { [field]: by } }, { returnDocument: 'after' });
        return after ? fromStored<T>(after) : null;
      } catch (err) {
        if (err instanceof MongoServerError && err.code === 14) {
          throw new InvalidQueryError(`increment: field '${field}' does not hold a number`);
        }
        throw err;
      }
    });
  }

  async delete(id: string): Promise<boolean> {
    checkIdType(id);
    const mongo = await this.ready();
    return WRITE_LOCKS.run(this.key(id), async () => (await mongo.deleteOne(this.live({ _id: id }))).deletedCount === 1);
  }

  async find(filter: Filter = {}, options: FindOptions = {}): Promise<T[]> {
    const query = this.live(translateFilter(filter));
    const sort = translateSort(options.sort);
    const limit = checkCount('limit', options.limit) ?? 0;
    const skip = checkCount('skip', options.skip) ?? 0;
    const mongo = await this.ready();
    const docs = await mongo.find(query, { sort, limit, skip }).toArray();
    return docs.map((doc) => fromStored<T>(doc));
  }

  async count(filter: Filter = {}): Promise<number> {
    const query = this.live(translateFilter(filter));
    const mongo = await this.ready();
    return mongo.countDocuments(query);
  }

  /** The collection, connected, once its indexes exist (or were refused). */
  private async ready(): Promise<MongoCollection<Stored>> {
    await this.check();
    await prepare(this.state);
    return this.state.mongo;
  }

  private key(id: string): string {
    return `${this.scope}\u0000${id}`;
  }

  /** The stored form: the document as JSON has it, `_id` for `id`, and the expiry in TTL collections. */
  private toStored(doc: T): Stored {
    const { id, ...rest } = asJson(doc) as Doc & Record<string, unknown>;
    if (Object.hasOwn(rest, '_id') || Object.hasOwn(rest, EXPIRES_FIELD)) {
      throw new InvalidQueryError(`a document may not have a field named '_id' or '${EXPIRES_FIELD}'`);
    }
    const stored: Stored = { _id: id, ...rest };
    if (this.state.ttl) {
      const expiry = ttlExpiry(doc, this.state.ttl);
      if (expiry !== null) stored[EXPIRES_FIELD] = new Date(expiry);
    }
    return stored;
  }

  /** `query` restricted to documents that have not expired (unchanged for a collection without TTL). */
  private live(query: MongoFilter<Stored>): MongoFilter<Stored> {
    if (!this.state.ttl) return query;
    // `null` matches a missing field: documents without an expiry never expire.
    const live = [{ [EXPIRES_FIELD]: null }, { [EXPIRES_FIELD]: { $gt: new Date(this.now()) } }];
    // Kept beside the other keys rather than under $and, so FerretDB still pushes `_id` and plain fields down to SQL.
    return '$or' in query ? { $and: [query, { $or: live }] } : { ...query, $or: live };
  }

  private expired(): Document {
    return { [EXPIRES_FIELD]: { $lte: new Date(this.now()) } };
  }
}

/**
 * A value as JSON has it, which is what the embedded store keeps: undefined fields dropped, NaN and Infinity null,
 * Dates ISO strings, toJSON() honoured. Both modes thus store the same thing, and FerretDB never sees a NaN (it
 * drops the connection on one).
 */
function asJson<V extends object>(value: V): V {
  return JSON.parse(JSON.stringify(value)) as V;
}

/** The port's document from a stored one: `id` first, no `_id`, no expiry. */
function fromStored<T extends Doc>(stored: Stored): T {
  const { _id, [EXPIRES_FIELD]: _expires, ...rest } = stored;
  return { id: _id, ...rest } as unknown as T;
}

/**
 * Checks a filter the way the embedded store does and turns it into a MongoDB query: `id` becomes `_id`, and a
 * range with null gets the meaning the embedded store gives it ($gte/$lte null = "missing or null",
 * $gt/$lt null = nothing) spelled out, so no server's reading of null bounds matters.
 */
export function translateFilter(filter: Filter): MongoFilter<Stored> {
  const clauses: Document[] = [];
  for (const [field, condition] of Object.entries(filter)) {
    const key = mongoField(field);
    if (!isOperatorObject(condition)) {
      clauses.push({ [key]: checkScalar(condition, field) });
      continue;
    }
    const entries = Object.entries(condition).filter(([, value]) => value !== undefined);
    if (entries.length === 0) throw new InvalidQueryError(`field '${field}': empty condition`);
    const ops: Document = {};
    for (const [op, value] of entries) {
      if (op === '$in' || op === '$nin') {
        if (!Array.isArray(value)) throw new InvalidQueryError(`field '${field}': $in/$nin need an array`);
        ops[op] = value.map((item: unknown) => checkScalar(item, field));
      } else if (op === '$ne') {
        ops.$ne = checkScalar(value, field);
      } else if (RANGE_OPS.has(op)) {
        const bound = checkScalar(value, field);
        if (bound !== null) ops[op] = bound;
        else clauses.push(op === '$gte' || op === '$lte' ? { [key]: null } : { [key]: { $in: [] } });
      } else {
        throw new InvalidQueryError(`field '${field}': unknown operator '${op}'`);
      }
    }
    if (Object.keys(ops).length > 0) clauses.push({ [key]: ops });
  }
  if (clauses.length === 0) return {};
  const keys = clauses.map((clause) => Object.keys(clause)[0]);
  // One clause per field merges into a plain query; the same field twice (a null range) needs $and.
  return new Set(keys).size === keys.length ? Object.assign({}, ...clauses) : { $and: clauses };
}

/** The sort with `id` as `_id` and `_id` appended as the last key, so ties come out in id order. */
export function translateSort(sort: Record<string, 1 | -1> = {}): Sort {
  const out: Record<string, 1 | -1> = {};
  for (const [field, direction] of Object.entries(sort)) {
    if (direction !== 1 && direction !== -1) throw new InvalidQueryError(`sort '${field}': direction must be 1 or -1`);
    out[mongoField(field)] = direction;
  }
  if (!('_id' in out)) out._id = 1;
  return out;
}

/** A checked field name as MongoDB knows it. */
function mongoField(field: string): string {
  checkField(field);
  if (field === '_id' || field.startsWith('_id.')) throw new InvalidQueryError(`invalid field name '${field}' (use 'id')`);
  return field === 'id' ? '_id' : field;
}

function isOperatorObject(condition: Condition): condition is Exclude<Condition, Scalar> {
  return typeof condition === 'object' && condition !== null && !Array.isArray(condition);
}

function checkScalar(value: unknown, field: string): Scalar {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  throw new InvalidQueryError(`field '${field}': only strings, finite numbers, booleans and null can be compared`);
}

function checkCount(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < 0) throw new InvalidQueryError(`${name} must be a non-negative integer`);
  return value;
}

function checkId(doc: Doc): string {
  const id = doc?.id;
  if (typeof id !== 'string' || id.length === 0) throw new InvalidQueryError('a document needs a non-empty string id');
  return id;
}

/** An id to look up: a string (anything else could be a query operator object). */
function checkIdType(id: unknown): string {
  if (typeof id !== 'string') throw new InvalidQueryError('an id must be a string');
  return id;
}

function isDuplicateKey(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === DUPLICATE_KEY;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
