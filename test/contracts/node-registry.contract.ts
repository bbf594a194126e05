/**
 * The NodeRegistry contract: every adapter (in-memory, Redis) must pass it unchanged. Each test gets a fresh,
 * empty registry. Expiry is real time (Redis expires keys by its own clock), so the ttls are short and the
 * waits polled.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import type { NodeInfo, NodeRegistry } from '../../system/ports/node-registry.js';
import { delay, waitFor } from '../support/wait.js';

/** A fresh, empty registry, optionally a second client of it (another node), and disposal of both. */
export interface NodeRegistryFixture {
  registry: NodeRegistry;
  /** Another node's client of the same registry; omit when it only exists inside one process. */
  peer?: NodeRegistry;
  cleanup(): Promise<void>;
}

const LONG = 60_000;

function node(nodeId: string, extra: Partial<NodeInfo> = {}): NodeInfo {
  return {
    nodeId,
    address: 'http://127.0.0.1:8080',
    startedAt: '2025-01-02T03:04:05.678Z',
    partitions: [0, 3, 7],
    actors: { execution: 2, sse: 10 },
    version: '0.1.0',
    ...extra,
  };
}

/** Registers the NodeRegistry contract tests for one adapter. */
export function nodeRegistryContract(name: string, make: () => Promise<NodeRegistryFixture>): void {
  describe(`NodeRegistry contract: ${name}`, () => {
    let fixture: NodeRegistryFixture;
    let registry: NodeRegistry;
    let peer: NodeRegistry;

    beforeEach(async () => {
      fixture = await make();
      registry = fixture.registry;
      peer = fixture.peer ?? fixture.registry;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    it('answers ping, and starts empty', async () => {
      await expect(registry.ping()).resolves.toBeUndefined();
      expect(await registry.list()).toEqual([]);
    });

    it('lists what a node announced, with when it was last seen', async () => {
      const before = Date.now();
      await registry.heartbeat(node('node-a'), LONG);
      const after = Date.now();
      const listed = await peer.list();
      expect(listed).toHaveLength(1);
      const { lastSeen, ...info } = listed[0]!;
      expect(info).toEqual(node('node-a'));
      const seen = Date.parse(lastSeen);
      expect(seen).toBeGreaterThanOrEqual(before);
      expect(seen).toBeLessThanOrEqual(after);
    });

    it('a new heartbeat replaces what the node said; unknown fields are dropped; version is optional', async () => {
      await registry.heartbeat(node('node-a'), LONG);
      const first = (await registry.list())[0]!;
      await delay(5);
      const { version: _, ...noVersion } = node('node-a', { partitions: [1], actors: {} });
      await registry.heartbeat({ ...noVersion, extra: 'dropped' } as NodeInfo, LONG);
      const listed = await registry.list();
      expect(listed).toHaveLength(1);
      const { lastSeen, ...info } = listed[0]!;
      expect(info).toEqual(noVersion);
      expect(Date.parse(lastSeen)).toBeGreaterThan(Date.parse(first.lastSeen));
    });

    it('lists every node of the cluster, ordered by id, from any client', async () => {
      const ids = ['node-c', 'node-a', 'node:b', 'node-{x}', 'nöde-ü'];
      await Promise.all(ids.map((id, i) => (i % 2 ? peer : registry).heartbeat(node(id), LONG)));
      const expected = [...ids].sort();
      expect((await registry.list()).map((n) => n.nodeId)).toEqual(expected);
      expect((await peer.list()).map((n) => n.nodeId)).toEqual(expected);
    });

    it('forgets a node that stops beating, and keeps one that beats', async () => {
      await registry.heartbeat(node('short'), 300);
      await peer.heartbeat(node('long'), LONG);
      await peer.heartbeat(node('beating'), 300);
      expect((await registry.list()).map((n) => n.nodeId)).toEqual(['beating', 'long', 'short']);
      const stop = Date.now() + 900;
      while (Date.now() < stop) {
        await peer.heartbeat(node('beating'), 300);
        await delay(100);
      }
      // 'short' went 600 ms past its ttl; 'beating' beat every 100 ms.
      expect((await registry.list()).map((n) => n.nodeId)).toEqual(['beating', 'long']);
      await waitFor(async () => (await registry.list()).length === 1, { timeoutMs: 3_000, message: "'beating' to expire" });
      expect((await peer.list()).map((n) => n.nodeId)).toEqual(['long']);
      // An expired node that comes back is listed again.
      await registry.heartbeat(node('short'), LONG);
      expect((await registry.list()).map((n) => n.nodeId)).toEqual(['long', 'short']);
    });

    it('remove drops a node at once, and says whether it was listed', async () => {
      await registry.heartbeat(node('node-a'), LONG);
      await registry.heartbeat(node('node-b'), LONG);
      expect(await peer.remove('node-a')).toBe(true);
      expect(await registry.remove('node-a')).toBe(false);
      expect(await registry.remove('never-seen')).toBe(false);
      expect((await registry.list()).map((n) => n.nodeId)).toEqual(['node-b']);
    });

    it('rejects what it cannot store, and stores nothing then', async () => {
      await expect(registry.heartbeat(node('x', { address: 'not a url' }), LONG)).rejects.toThrow(ZodError);
      await expect(registry.heartbeat(node('x', { partitions: [-1] }), LONG)).rejects.toThrow(ZodError);
      await expect(registry.heartbeat(node('x', { startedAt: 'yesterday' }), LONG)).rejects.toThrow(ZodError);
      await expect(registry.heartbeat(node(''), LONG)).rejects.toThrow(ZodError);
      await expect(registry.heartbeat(node('x'), 0)).rejects.toThrow(RangeError);
      await expect(registry.heartbeat(node('x'), 1.5)).rejects.toThrow(RangeError);
      expect(await registry.list()).toEqual([]);
    });
  });
}
