import { describe, expect, it } from 'vitest';
import { checkField, InvalidQueryError } from '../ports/document-store.js';
import { compileFilter, compileOptions } from './sql-filter.js';

describe('filter compiler', () => {
  it('never puts a value into the SQL text', () => {
    const fragment = compileFilter({ status: `a'b`, n: { $gt: 5, $lte: 9 }, tag: { $in: ['x', 'y'] }, ok: true });
    expect(fragment.sql).not.toMatch(/a'b|'x'|'y'|\b5\b|\b9\b/);
    expect(fragment.params).toEqual([`a'b`, 5, 9, 'x', 'y', 1]);
  });

  it('compiles an empty filter to a tautology', () => {
    expect(compileFilter({})).toEqual({ sql: '1', params: [] });
  });

  it('reads id from its column and other fields through json_extract', () => {
    expect(compileFilter({ id: 'x' }).sql).toContain('id IS ?');
    expect(compileFilter({ 'a.b': 1 }).sql).toContain(`json_extract(doc, '$.a.b') IS ?`);
  });

  it('accepts dotted identifiers and rejects everything else', () => {
    expect(checkField('meta.owner_2')).toBe('meta.owner_2');
    for (const field of ['$where', 'a..b', 'a.', '.a', 'a[0]', "a'", 'a b', '1a', '']) {
      expect(() => checkField(field)).toThrow(InvalidQueryError);
    }
  });

  it('rejects unknown operators, empty conditions and non-finite numbers', () => {
    expect(() => compileFilter({ a: { $regex: 'x' } as never })).toThrow(/unknown operator/);
    expect(() => compileFilter({ a: {} as never })).toThrow(/empty condition/);
    expect(() => compileFilter({ a: Number.NaN })).toThrow(InvalidQueryError);
    expect(() => compileFilter({ a: { $in: 'x' } as never })).toThrow(/array/);
  });

  it('turns an empty $in into "never" and $gt null into "never"', () => {
    expect(compileFilter({ a: { $in: [] } }).sql).toBe('0');
    expect(compileFilter({ a: { $gt: null } }).sql).toBe('0');
  });

  it('orders by the requested keys, then id, with limit 0 meaning no limit', () => {
    expect(compileOptions({ sort: { n: -1 }, limit: 0, skip: 2 })).toEqual({
      sql: `ORDER BY json_extract(doc, '$.n') DESC, id ASC LIMIT ? OFFSET ?`,
      params: [-1, 2],
    });
    expect(() => compileOptions({ limit: -1 })).toThrow(InvalidQueryError);
    expect(() => compileOptions({ skip: 1.5 })).toThrow(InvalidQueryError);
  });
});
