import { describe, expect, it } from 'vitest';
import { emptyFilterForm, filterFormFromQuery, isoToLocal, localToIso, toEventFilters } from './event-filter-form';

describe('event filter form', () => {
  it('turns the inputs into API filters, times as instants, empty inputs left out', () => {
    const form = { ...emptyFilterForm(), types: ['execution_failed'], aggregateId: ' ex ', from: '2026-03-01T10:30', search: 'boom' };
    expect(toEventFilters(form)).toEqual({
      event_types: ['execution_failed'],
      aggregate_id: 'ex',
      start_time: new Date('2026-03-01T10:30').toISOString(),
      search_text: 'boom',
    });
    expect(toEventFilters(emptyFilterForm())).toEqual({});
  });

  it('round-trips a local input value through an instant', () => {
    expect(isoToLocal(localToIso('2026-12-31T23:59')!)).toBe('2026-12-31T23:59');
    expect(localToIso('')).toBeUndefined();
    expect(localToIso('nonsense')).toBeUndefined();
    expect(isoToLocal('bad')).toBe('');
  });

  it('reads linked filters from the page URL', () => {
    const form = filterFormFromQuery(new URLSearchParams('aggregate_id=ex-1&event_type=a&event_type=b&q=hi'));
    expect(form).toMatchObject({ aggregateId: 'ex-1', types: ['a', 'b'], search: 'hi', userId: '' });
  });
});
