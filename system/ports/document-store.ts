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
  delete(id: string): Promise<boolean>;
  find(filter?: Filter, options?: FindOptions): Promise<T[]>;
  count(filter?: Filter): Promise<number>;
}

export interface CollectionOptions {
  /** Fields (dotted paths) queried often; adapters index them. */
  indexes?: string[];
}

/** The document store: hands out collections and closes the connection. */
export interface DocumentStore {
  collection<T extends Doc>(name: string, options?: CollectionOptions): Collection<T>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
