/**
 * The FanoutBus contract: every adapter (in-process, Redis) must pass it unchanged. Channels get fresh names.
 * Absence is checked behind a later marker on the same channel, since a channel delivers in publish order.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FanoutBus } from '../../system/ports/fanout-bus.js';
import { waitFor } from '../support/wait.js';

/** A bus to test, optionally a second client of the same bus (another node), and disposal of both. */
export interface FanoutBusFixture {
  bus: FanoutBus;
  /** Another node's client; omit when the bus only exists inside one process. */
  peer?: FanoutBus;
  cleanup(): Promise<void>;
}

/** Registers the FanoutBus contract tests for one adapter. */
export function fanoutBusContract(name: string, make: () => Promise<FanoutBusFixture>): void {
  describe(`FanoutBus contract: ${name}`, () => {
    let fixture: FanoutBusFixture;
    let bus: FanoutBus;
    let channel: string;

    beforeEach(async () => {
      fixture = await make();
      bus = fixture.bus;
      channel = `ch-${randomUUID()}`;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    it('answers ping', async () => {
      await expect(bus.ping()).resolves.toBeUndefined();
    });

    it('delivers to every subscriber, in publish order, with the payload intact', async () => {
      const a: string[] = [];
      const b: string[] = [];
      await bus.subscribe(channel, (payload) => a.push(payload));
      await bus.subscribe(channel, (payload) => b.push(payload));
      const payloads = ['one', '{"json":true}', 'ünïcödé 🚀 你好', '', 'x'.repeat(64 * 1024)];
      for (const payload of payloads) await bus.publish(channel, payload);
      await waitFor(() => a.length === payloads.length && b.length === payloads.length, { message: 'all payloads' });
      expect(a).toEqual(payloads);
      expect(b).toEqual(payloads);
    });

    it('keeps channels apart', async () => {
      const other = `ch-${randomUUID()}`;
      const got: string[] = [];
      await bus.subscribe(channel, (payload) => got.push(`mine:${payload}`));
      await bus.publish(other, 'not for me');
      await bus.publish(channel, 'for me');
      await waitFor(() => got.length === 1, { message: 'the message' });
      expect(got).toEqual(['mine:for me']);
    });

    it('accepts publishing to a channel nobody listens to', async () => {
      await expect(bus.publish(`ch-${randomUUID()}`, 'into the void')).resolves.toBeUndefined();
    });

    it('keeps delivering to others when a listener throws', async () => {
      const got: string[] = [];
      await bus.subscribe(channel, () => {
        throw new Error('bad listener');
      });
      await bus.subscribe(channel, (payload) => got.push(payload));
      await bus.publish(channel, 'first');
      await bus.publish(channel, 'second');
      await waitFor(() => got.length === 2, { message: 'both messages' });
      expect(got).toEqual(['first', 'second']);
    });

    it('stops delivering after unsubscribe, which is idempotent', async () => {
      const gone: string[] = [];
      const kept: string[] = [];
      const unsubscribe = await bus.subscribe(channel, (payload) => gone.push(payload));
      await bus.subscribe(channel, (payload) => kept.push(payload));
      await bus.publish(channel, 'before');
      await waitFor(() => gone.length === 1 && kept.length === 1, { message: 'the first message' });
      await unsubscribe();
      await unsubscribe();
      await bus.publish(channel, 'after');
      await bus.publish(channel, 'marker');
      await waitFor(() => kept.includes('marker'), { message: 'the marker' });
      expect(gone).toEqual(['before']);
      expect(kept).toEqual(['before', 'after', 'marker']);
    });

    it('delivers a subscription added again after the channel emptied', async () => {
      const first = await bus.subscribe(channel, () => {});
      await first();
      const got: string[] = [];
      await bus.subscribe(channel, (payload) => got.push(payload));
      await bus.publish(channel, 'again');
      await waitFor(() => got.length === 1, { message: 'the message' });
    });

    it('serves a thousand subscribers on one channel and a thousand channels', async () => {
      let onOne = 0;
      const unsubscribes = await Promise.all(
        Array.from({ length: 1000 }, () => bus.subscribe(channel, () => void onOne++)),
      );
      const channels = Array.from({ length: 1000 }, (_, i) => `${channel}:${i}`);
      const perChannel = new Map<string, string>();
      await Promise.all(channels.map((name) => bus.subscribe(name, (payload) => void perChannel.set(name, payload))));
      await bus.publish(channel, 'to all');
      await Promise.all(channels.map((name) => bus.publish(name, `to ${name}`)));
      await waitFor(() => onOne === 1000 && perChannel.size === 1000, { message: 'every delivery' });
      for (const name of channels) expect(perChannel.get(name)).toBe(`to ${name}`);
      await Promise.all(unsubscribes.map((unsubscribe) => unsubscribe()));
      await bus.publish(channel, 'to nobody');
      expect(onOne).toBe(1000);
    });

    it('reaches subscribers of another client of the same bus', async () => {
      const peer = fixture.peer;
      if (!peer) return;
      const got: string[] = [];
      await peer.subscribe(channel, (payload) => got.push(payload));
      await bus.publish(channel, 'across nodes');
      await waitFor(() => got.length === 1, { message: 'the peer to receive' });
      expect(got).toEqual(['across nodes']);
    });
  });
}
