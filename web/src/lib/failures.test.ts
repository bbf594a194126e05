import { describe, expect, it } from 'vitest';
import { ApiError } from './api/client';
import { describeFailure } from './failures';

const err = (status: number, detail = 'detail', retry: number | null = null) => new ApiError(status, detail, 'T', retry);

describe('describeFailure', () => {
  it('says what happened for each kind of failure', () => {
    expect(describeFailure(err(0))).toBe('Network error: the server cannot be reached');
    expect(describeFailure(err(401))).toBe('Your session has ended: please sign in again');
    expect(describeFailure(err(403, 'CSRF validation failed'))).toBe('Not allowed: CSRF validation failed');
    expect(describeFailure(err(423, 'Account locked until 12:00'))).toBe('Account locked: Account locked until 12:00');
    expect(describeFailure(err(429, 'x', 7))).toBe('Too many requests: try again in 7 s');
    expect(describeFailure(err(429))).toBe('Too many requests');
    expect(describeFailure(err(422, 'script: too long'))).toBe('Invalid input: script: too long');
    expect(describeFailure(err(503, 'store down'))).toBe('Server error (503): store down');
    expect(describeFailure(err(409, 'already exists'))).toBe('already exists');
  });
});
