import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { parseEvent, stampEvent } from './events.js';

const event = () => stampEvent('execution_queued', 'exec-1', { execution_id: 'exec-1', priority: 'normal', queue_position: 2 }, { user_id: 'u-1' });

describe('parseEvent', () => {
  it('gives back a stamped event as it was, read back from JSON', () => {
    const stamped = event();
    expect(parseEvent(JSON.parse(JSON.stringify(stamped)))).toEqual(stamped);
  });

  it('keeps fields the catalogue does not know, except the one it is told to leave out', () => {
    const raw = { ...JSON.parse(JSON.stringify(event())), id: 'row-id', added_later: { x: 1 } };
    Object.defineProperty(raw, '__proto__', { value: 'p', enumerable: true });
    const parsed = parseEvent(raw, 'id') as unknown as Record<string, unknown>;
    expect(parsed['added_later']).toEqual({ x: 1 });
    expect(Object.hasOwn(parsed, 'id')).toBe(false);
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(parsed, '__proto__')?.value).toBe('p');
    expect(Object.hasOwn(parseEvent(raw) as object, 'id')).toBe(true);
  });

  it('rejects an unknown type, a bad envelope and a bad payload, naming the field', () => {
    const raw = JSON.parse(JSON.stringify(event())) as Record<string, unknown>;
    const fails = (changed: Record<string, unknown>, field: string) => {
      try {
        parseEvent({ ...raw, ...changed });
      } catch (error) {
        expect(error).toBeInstanceOf(ZodError);
        expect((error as ZodError).issues.map((i) => i.path.join('.'))).toContain(field);
        return;
      }
      throw new Error(`accepted ${JSON.stringify(changed)}`);
    };
    fails({ event_type: 'no_such_event' }, 'event_type');
    fails({ event_type: undefined }, 'event_type');
    fails({ timestamp: 5 }, 'timestamp');
    fails({ metadata: { service_name: 's' } }, 'metadata.service_version');
    fails({ queue_position: 'second' }, 'queue_position');
    fails({ execution_id: undefined }, 'execution_id');
    expect(() => parseEvent(null)).toThrow(ZodError);
  });
});
