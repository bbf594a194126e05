import { describe, expect, it, vi } from 'vitest';
import { createInProcessBus } from '../embedded/fanout-bus.js';
import type { FanoutBus } from '../ports/fanout-bus.js';
import { createChannelFanout, type FanoutListener } from './channel-fanout.js';

/** The in-process bus, counting subscriptions made and still active per channel. */
function countingBus(): FanoutBus & { made: Map<string, number>; active: Map<string, number> } {
  const inner = createInProcessBus();
  const made = new Map<string, number>();
  const active = new Map<string, number>();
  const bump = (m: Map<string, number>, c: string, d: number) => m.set(c, (m.get(c) ?? 0) + d);
  return {
    made,
    active,
    publish: (c, p) => inner.publish(c, p),
    async subscribe(channel, listener) {
      bump(made, channel, 1);
      bump(active, channel, 1);
      const unsubscribe = await inner.subscribe(channel, listener);
      return async () => {
        bump(active, channel, -1);
        await unsubscribe();
      };
    },
    ping: () => inner.ping(),
    close: () => inner.close(),
  };
}

const collector = () => {
  const got: unknown[] = [];
  const listener: FanoutListener<unknown> = { deliver: (m) => got.push(m) };
  return { got, listener };
};

describe('channel fan-out', () => {
  it('shares one bus subscription per channel among local listeners and decodes each message once for all of them', async () => {
    const bus = countingBus();
    const decode = vi.fn((payload: string) => ({ payload }));
    const fanout = createChannelFanout(bus, { decode });
    const listeners = Array.from({ length: 100 }, collector);
    const leaves = await Promise.all(listeners.map((l) => fanout.subscribe('a', l.listener)));
    const other = collector();
    await fanout.subscribe('b', other.listener);
    expect(bus.made.get('a')).toBe(1);
    expect(fanout.channels()).toBe(2);

    await bus.publish('a', 'one');
    expect(decode).toHaveBeenCalledTimes(1);
    const first = listeners[0]!.got[0];
    expect(listeners.every((l) => l.got.length === 1 && l.got[0] === first)).toBe(true);
    expect(other.got).toEqual([]);

    await Promise.all(leaves.slice(1).map((leave) => leave()));
    expect(bus.active.get('a')).toBe(1);
    await leaves[0]!();
    await leaves[0]!();
    expect(bus.active.get('a')).toBe(0);
    expect(fanout.channels()).toBe(1);
    await bus.publish('a', 'two');
    expect(decode).toHaveBeenCalledTimes(1);

    const again = collector();
    await fanout.subscribe('a', again.listener);
    await bus.publish('a', 'three');
    expect(again.got).toEqual([{ payload: 'three' }]);
    expect(bus.made.get('a')).toBe(2);
  });

  it('a listener that throws and a payload that cannot be decoded are reported; the others still get their messages', async () => {
    const bus = createInProcessBus();
    const errors: string[] = [];
    const fanout = createChannelFanout(bus, {
      decode: (p) => {
        if (p === 'bad') throw new Error('undecodable');
        return p;
      },
      onError: (err, channel) => errors.push(`${channel}: ${(err as Error).message}`),
    });
    const ok = collector();
    await fanout.subscribe('c', { deliver: () => { throw new Error('listener broke'); } });
    await fanout.subscribe('c', ok.listener);
    await bus.publish('c', 'bad');
    await bus.publish('c', 'good');
    expect(ok.got).toEqual(['good']);
    expect(errors).toEqual(['c: undecodable', 'c: listener broke']);
  });

  it('a refused bus subscription fails the subscribe; the next one tries again', async () => {
    let refuse = true;
    const inner = createInProcessBus();
    const bus: FanoutBus = { ...inner, subscribe: async (c, l) => (refuse ? Promise.reject(new Error('bus down')) : inner.subscribe(c, l)) };
    const fanout = createChannelFanout(bus, { decode: (p) => p });
    await expect(fanout.subscribe('d', collector().listener)).rejects.toThrow('bus down');
    expect(fanout.channels()).toBe(0);
    refuse = false;
    const ok = collector();
    await fanout.subscribe('d', ok.listener);
    await inner.publish('d', 'x');
    expect(ok.got).toEqual(['x']);
  });
});
