import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, nestingDepth } from './body.js';

describe('nestingDepth', () => {
  it('counts arrays and objects, not brackets inside strings or after escapes', () => {
    expect(nestingDepth('1')).toBe(0);
    expect(nestingDepth('{"a":[1,{"b":2}]}')).toBe(3);
    expect(nestingDepth('{"a":"[[[{{{"}')).toBe(1);
    expect(nestingDepth('["\\"[[[", []]')).toBe(2);
  });

  it('stops just past the limit however deep the text goes', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(nestingDepth(deep)).toBe(MAX_JSON_DEPTH + 1);
    expect(nestingDepth(`${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`)).toBe(MAX_JSON_DEPTH);
  });
});
