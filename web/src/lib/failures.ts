/** The message a user sees for a failed API call, by status (null: not worth a toast). */
import type { ApiError } from './api/client';

export function describeFailure(err: ApiError): string | null {
  switch (err.status) {
    case 0:
      return 'Network error: the server cannot be reached';
    case 401:
      return 'Your session has ended: please sign in again';
    case 403:
      return `Not allowed: ${err.detail}`;
    case 423:
      return `Account locked: ${err.detail}`;
    case 429:
      return `Too many requests${err.retryAfterSeconds !== null ? `: try again in ${err.retryAfterSeconds} s` : ''}`;
    case 422:
      return `Invalid input: ${err.detail}`;
    case 404:
      return err.detail;
    default:
      return err.status >= 500 ? `Server error (${err.status}): ${err.detail}` : err.detail;
  }
}
