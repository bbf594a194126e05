import { describe, expect, it } from 'vitest';
import { createInProcessBus } from './fanout-bus.js';

describe('in-process fan-out bus', () => {
  it('reports a throwing listener with its channel', async () => {
    const errors: [unknown, string][] = [];
    const bus = createInProcessBus({ onListenerError: (error, channel) => void errors.push([error, channel]) });
    await bus.subscribe('c', () => {
      throw new Error('boom');
    });
    await bus.publish('c', 'x');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.[1]).toBe('c');
  });

  it('does not hand the message being delivered to a subscription made while delivering it', async () => {
    const bus = createInProcessBus();
    const late: string[] = [];
    await bus.subscribe('c', () => void bus.subscribe('c', (payload) => late.push(payload)));
    await bus.publish('c', 'first');
    expect(late).toEqual([]);
    await bus.publish('c', 'second');
    expect(late).toEqual(['second']);
  });

  it('skips a subscription removed by an earlier listener of the same message', async () => {
    const bus = createInProcessBus();
    const got: string[] = [];
    let removeSecond = async (): Promise<void> => {};
    await bus.subscribe('c', () => void removeSecond());
    removeSecond = await bus.subscribe('c', (payload) => got.push(payload));
    await bus.publish('c', 'x');
    expect(got).toEqual([]);
  });

  it('rejects calls after close', async () => {
    const bus = createInProcessBus();
    await bus.close();
    await expect(bus.publish('c', 'x')).rejects.toThrow(/closed/);
    await expect(bus.subscribe('c', () => {})).rejects.toThrow(/closed/);
    await expect(bus.ping()).rejects.toThrow(/closed/);
  });
});
