/**
 * A store of JSON documents in named collections, each keyed by a string `id`.
 * The filter language is a small subset of MongoDB's so the MongoDB adapter passes it through unchanged.
 */
export type Scalar = string | number | boolean | null;

/** One condition on a field: a plain value means equality. */
export type Condition =
  | Scalar
  | { $in: Scalar[] }
  | { $nin: Scalar[] }
  | { $ne: Scalar }
  | { $gt?: Scalar; $gte?: Scalar; $lt?: Scalar; $lte?: Scalar };

/** All conditions must hold. Keys are field names; dotted paths reach into nested objects. */
export type Filter = Record<string, Condition>;

export interface FindOptions {
  sort?: Record<string, 1 | -1>;
  limit?: number;
  skip?: number;
}

/** Thrown by insert() when a document with the same id already exists. */
export class DuplicateKeyError extends Error {
  constructor(
    readonly collection: string,
    readonly id: string,
  ) {
    super(`duplicate id '${id}' in ${collection}`);
    this.name = 'DuplicateKeyError';
  }
}

export interface Doc {
  id: string;
}

/** One collection of documents of type T. */
export interface Collection<T extends Doc> {
  /** Adds a new document; throws DuplicateKeyError when the id exists. */
  insert(doc: T): Promise<void>;
  get(id: string): Promise<T | null>;
  /** Replaces the whole document, inserting it when absent. */
  put(doc: T): Promise<void>;
  /** Sets the given top-level fields; returns the updated document, or null when absent. */
  update(id: string, patch: Partial<T>): Promise<T | null>;
  /**
   * Adds `by` to a top-level number field in one atomic step, whoever else writes the document at the same time
   * (a missing or null field counts as 0); returns the updated document, or null when absent.
   */
  increment(id: string, field: string, by: number): Promise<T | null>;
  delete(id: string): Promise<boolean>;
  find(filter?: Filter, options?: FindOptions): Promise<T[]>;
  count(filter?: Filter): Promise<number>;
}

/**
 * Documents of a collection expire `seconds` after the time held in `field` (a dotted path): epoch milliseconds
 * or a string `Date.parse` reads (ISO-8601). With `seconds: 0` the field holds the expiry time itself. A document
 * without a readable time there never expires. Expired documents are gone at once for every operation (get, find,
 * count, update and delete do not see them; insert may reuse their ids) and are purged from storage periodically.
 */
export interface TtlOptions {
  field: string;
  seconds: number;
}

/**
 * An index for a query that filters on some fields and sorts on others: the fields in order with their direction,
 * equality fields first, e.g. `{ user_id: 1, created_at: -1 }` for a user's history newest first. Adapters append
 * the id (ascending), the tie-break every find sorts by, so such a query reads its page straight from the index.
 */
export type CompoundIndex = Readonly<Record<string, 1 | -1>>;

/** A compound index's fields and directions, checked; at least two fields, none of them `id`. */
export function compoundFields(index: CompoundIndex): Array<[string, 1 | -1]> {
  const fields = Object.entries(index);
  if (fields.length < 2) throw new InvalidQueryError('a compound index needs at least two fields');
  for (const [field, direction] of fields) {
    if (checkField(field) === 'id') throw new InvalidQueryError('a compound index cannot name id (it is always its last key)');
    if (direction !== 1 && direction !== -1) throw new InvalidQueryError(`index '${field}': direction must be 1 or -1`);
  }
  return fields;
}

/** A stable name for an index: the field itself, or the fields with a leading '-' on descending ones. */
export function indexName(index: string | CompoundIndex): string {
  if (typeof index === 'string') return checkField(index);
  return compoundFields(index)
    .map(([field, direction]) => (direction === -1 ? `-${field}` : field))
    .join(',');
}

export interface CollectionOptions {
  /** Fields (dotted paths) queried often, and compound indexes for filtered, sorted queries; adapters index them. */
  indexes?: Array<string | CompoundIndex>;
  /**
   * Expiry of documents (see TtlOptions). A property of the collection: the first handle that names it sets it
   * for the store; later handles may repeat it or omit it, but not change it. Documents get their expiry when
   * written through a store that knows the collection's TTL.
   */
  ttl?: TtlOptions;
}

/** The document store: hands out collections and closes the connection. */
export interface DocumentStore {
  collection<T extends Doc>(name: string, options?: CollectionOptions): Collection<T>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Checks TTL options: a non-empty field and a finite, non-negative number of seconds. */
export function checkTtl(ttl: TtlOptions): TtlOptions {
  if (typeof ttl?.field !== 'string' || ttl.field.length === 0) throw new TypeError('ttl.field must be a field name');
  if (typeof ttl.seconds !== 'number' || !Number.isFinite(ttl.seconds) || ttl.seconds < 0) {
    throw new TypeError('ttl.seconds must be a finite number >= 0');
  }
  return ttl;
}

/** Whether two TTL settings are the same. */
export function sameTtl(a: TtlOptions | undefined, b: TtlOptions | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.field === b.field && a.seconds === b.seconds);
}

/** When a document expires under `ttl`, in epoch milliseconds; null when it never does (see TtlOptions). */
export function ttlExpiry(doc: object, ttl: TtlOptions): number | null {
  let value: unknown = doc;
  for (const key of ttl.field.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
    value = (value as Record<string, unknown>)[key];
  }
  const time = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  const expiry = time + ttl.seconds * 1000;
  // Outside the range a Date can hold (±8.64e15 ms) there is no meaningful expiry.
  return Number.isFinite(expiry) && Math.abs(expiry) <= 8.64e15 ? Math.round(expiry) : null;
}

/** Allowed field names: identifiers separated by dots. */
export const FIELD_PATTERN = /^[A-Za-z_][A-Za-z0-9_.]*$/;

/** Thrown for a filter, sort or field the store cannot compile. */
export class InvalidQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidQueryError';
  }
}

/** Checks a field name (dotted path) and returns it. */
export function checkField(field: string): string {
  if (!FIELD_PATTERN.test(field) || field.endsWith('.') || field.includes('..')) {
    throw new InvalidQueryError(`invalid field name '${field}'`);
  }
  return field;
}

/**
 * The TTL a collection takes when `requested` is named for it: a checked copy when it has none yet, null when it
 * already has the same one; a different one is an error (a collection's TTL is fixed). Shared by both stores.
 */
export function adoptTtl(collection: string, current: TtlOptions | undefined, requested: TtlOptions): TtlOptions | null {
  checkTtl(requested);
  checkField(requested.field);
  if (!current) return { field: requested.field, seconds: requested.seconds };
  if (!sameTtl(current, requested)) throw new InvalidQueryError(`collection '${collection}' already has ttl ${JSON.stringify(current)}`);
  return null;
}

/** Checks the arguments of Collection.increment: a top-level field name and a finite number. */
export function checkIncrement(field: string, by: number): void {
  checkField(field);
  if (field.includes('.') || field === 'id') throw new InvalidQueryError(`increment: field '${field}' must be a top-level field other than id`);
  if (!Number.isFinite(by)) throw new InvalidQueryError(`increment: amount must be a finite number, got ${by}`);
}
