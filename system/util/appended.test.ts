import { describe, expect, it } from 'vitest';
import { appended } from './appended.js';

describe('appended', () => {
  it('returns a new array with the item last and leaves the original alone', () => {
    const empty: readonly number[] = Object.freeze([]);
    const one = appended(empty, 1);
    const two = appended(one, 2);
    expect(empty).toEqual([]);
    expect(one).toEqual([1]);
    expect(two).toEqual([1, 2]);
    expect(two).not.toBe(one);
    let many: readonly number[] = empty;
    for (let i = 0; i < 6; i++) many = appended(many, i);
    expect(many).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
