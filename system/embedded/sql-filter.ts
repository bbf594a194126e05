/**
 * Compiles the DocumentStore filter language to SQLite over `json_extract`, with MongoDB's meaning:
 * equality and ranges only match values of the same JSON type, equality with null means "missing or null",
 * `$ne`/`$nin` also match documents where the field is missing. Values are always bound parameters; field
 * names are checked against a strict pattern and inlined as JSON paths so expression indexes can be used.
 */
import { checkField, InvalidQueryError, type Condition, type Filter, type FindOptions, type Scalar } from '../ports/document-store.js';

/** A WHERE or ORDER BY fragment with its bound parameters. */
export interface SqlFragment {
  sql: string;
  params: Scalar[];
}

const RANGE_OPS = { $gt: '>', $gte: '>=', $lt: '<', $lte: '<=' } as const;
type RangeOp = keyof typeof RANGE_OPS;

/** The SQL expression reading a field of the `doc` column (the `id` column for `id`). */
export function fieldExpr(field: string): string {
  checkField(field);
  return field === 'id' ? 'id' : `json_extract(doc, '$.${field}')`;
}

function typeExpr(field: string): string {
  return field === 'id' ? `'text'` : `json_type(doc, '$.${field}')`;
}

/** JSON types of a scalar as json_type names them. */
function jsonTypes(value: Exclude<Scalar, null>): string {
  if (typeof value === 'string') return `('text')`;
  if (typeof value === 'number') return `('integer', 'real')`;
  return `('true', 'false')`;
}

function checkScalar(value: unknown, field: string): Scalar {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  throw new InvalidQueryError(`field '${field}': only strings, finite numbers, booleans and null can be compared`);
}

/** Equality that never yields SQL NULL, so it can be negated. */
function equals(field: string, raw: unknown): SqlFragment {
  const value = checkScalar(raw, field);
  const expr = fieldExpr(field);
  if (value === null) return { sql: `${expr} IS NULL`, params: [] };
  if (typeof value === 'boolean') {
    return { sql: `(${expr} IS ? AND ${typeExpr(field)} IS '${value}')`, params: [value ? 1 : 0] };
  }
  // json_extract gives text for strings and for objects and arrays (their JSON, starting with { or [): a string that
  // cannot be such JSON only equals strings, so no type check is needed and the expression index alone answers.
  if (typeof value === 'string' && value[0] !== '{' && value[0] !== '[') return { sql: `${expr} IS ?`, params: [value] };
  return { sql: `(${expr} IS ? AND ${typeExpr(field)} IN ${jsonTypes(value)})`, params: [value] };
}

function anyOf(field: string, values: unknown): SqlFragment {
  if (!Array.isArray(values)) throw new InvalidQueryError(`field '${field}': $in/$nin need an array`);
  if (values.length === 0) return { sql: '0', params: [] };
  const parts = values.map((value) => equals(field, value));
  return { sql: `(${parts.map((p) => p.sql).join(' OR ')})`, params: parts.flatMap((p) => p.params) };
}

function not(fragment: SqlFragment): SqlFragment {
  return { sql: `NOT ${fragment.sql}`, params: fragment.params };
}

function range(field: string, op: RangeOp, raw: unknown): SqlFragment {
  const value = checkScalar(raw, field);
  if (value === null) {
    // As in MongoDB: $gte/$lte null match missing or null, $gt/$lt null match nothing.
    return op === '$gte' || op === '$lte' ? equals(field, null) : { sql: '0', params: [] };
  }
  const bound = typeof value === 'boolean' ? (value ? 1 : 0) : value;
  return {
    sql: `(${fieldExpr(field)} ${RANGE_OPS[op]} ? AND ${typeExpr(field)} IN ${jsonTypes(value)})`,
    params: [bound],
  };
}

function isOperatorObject(condition: Condition): condition is Exclude<Condition, Scalar> {
  return typeof condition === 'object' && condition !== null && !Array.isArray(condition);
}

function compileCondition(field: string, condition: Condition): SqlFragment[] {
  if (!isOperatorObject(condition)) return [equals(field, condition)];
  const entries = Object.entries(condition).filter(([, value]) => value !== undefined);
  if (entries.length === 0) throw new InvalidQueryError(`field '${field}': empty condition`);
  return entries.map(([op, value]) => {
    if (op === '$in') return anyOf(field, value);
    if (op === '$nin') return not(anyOf(field, value));
    if (op === '$ne') return not(equals(field, value));
    if (op in RANGE_OPS) return range(field, op as RangeOp, value);
    throw new InvalidQueryError(`field '${field}': unknown operator '${op}'`);
  });
}

/** The WHERE clause (without the keyword) for a filter; "1" for an empty one. */
export function compileFilter(filter: Filter = {}): SqlFragment {
  const parts = Object.entries(filter).flatMap(([field, condition]) => compileCondition(checkField(field), condition));
  if (parts.length === 0) return { sql: '1', params: [] };
  return { sql: parts.map((p) => p.sql).join(' AND '), params: parts.flatMap((p) => p.params) };
}

/** ORDER BY / LIMIT / OFFSET for find options; ties are broken by id so pages are stable. */
export function compileOptions(options: FindOptions = {}): SqlFragment {
  const keys = Object.entries(options.sort ?? {}).map(([field, direction]) => {
    if (direction !== 1 && direction !== -1) throw new InvalidQueryError(`sort '${field}': direction must be 1 or -1`);
    return `${fieldExpr(field)} ${direction === 1 ? 'ASC' : 'DESC'}`;
  });
  if (!keys.includes('id ASC') && !keys.includes('id DESC')) keys.push('id ASC');
  const limit = checkCount('limit', options.limit);
  const skip = checkCount('skip', options.skip);
  // As in MongoDB, a limit of 0 means "no limit".
  return {
    sql: `ORDER BY ${keys.join(', ')} LIMIT ? OFFSET ?`,
    params: [limit === undefined || limit === 0 ? -1 : limit, skip ?? 0],
  };
}

function checkCount(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < 0) throw new InvalidQueryError(`${name} must be a non-negative integer`);
  return value;
}
