/** The SPA's copies of server catalogues stay equal to the server's own (the SPA cannot import server modules). */
import { describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '../../system/domain/events.js';
import { DEAD_LETTER_STATUSES } from '../../system/stores/dead-letter-store.js';
import { SAGA_STATES } from '../../system/stores/saga-store.js';
import * as web from '../src/lib/api/types.js';

describe('wire catalogues', () => {
  it('lists the same event types, saga states and dead-letter statuses as the server', () => {
    expect([...web.EVENT_TYPES]).toEqual([...EVENT_TYPES]);
    expect([...web.SAGA_STATES]).toEqual([...SAGA_STATES]);
    expect([...web.DEAD_LETTER_STATUSES]).toEqual([...DEAD_LETTER_STATUSES]);
  });
});
