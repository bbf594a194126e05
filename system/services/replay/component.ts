import type { Meter } from '@opentelemetry/api';
import type { Ref } from 'nact';
import type { ReplayCounters } from '../../../actors/replay/replay.actor.js';
import { ReplayRunners } from '../../../actors/replay/runners.js';
import type { CrashLedger, SupervisionPolicy } from '../../../actors/supervision/policy.js';
import type { Component } from '../../components.js';
import type { DocumentStore } from '../../ports/document-store.js';
import type { EventLog } from '../../ports/event-log.js';
import type { FanoutBus, Unsubscribe } from '../../ports/fanout-bus.js';
import { EventStore } from '../../stores/event-store.js';
import { ReplayStore } from '../../stores/replay-store.js';
import { registerReplayMetrics } from './metrics.js';
import { createReplayService, REPLAY_CONTROL_CHANNEL, type ReplayService } from './service.js';
import { createReplayTargets } from './targets.js';

/** How long a running session's claim holds without renewal, and how often its runner reads the stored session. */
export const REPLAY_LEASE_MS = 15_000;
export const REPLAY_POLL_MS = 250;

export interface ReplayDeps {
  root: Ref<unknown>;
  store: DocumentStore;
  eventLog: EventLog;
  bus: FanoutBus;
  nodeId: string;
  replayDir: string;
  policy: SupervisionPolicy;
  crashes: CrashLedger;
  meter?: Meter;
  log: { warn(obj: object, msg: string): void };
}

/** Event replay on this node: the service the routes use, its runners, and a component that listens for control changes. */
export interface Replay {
  service: ReplayService;
  runners: ReplayRunners;
  counters: ReplayCounters;
  component: Component;
}

export function createReplay(d: ReplayDeps): Replay {
  const sessions = new ReplayStore(d.store);
  const events = new EventStore(d.store);
  const targets = createReplayTargets({ eventLog: d.eventLog, replayDir: d.replayDir });
  const counters: ReplayCounters = { replayed: 0, failed: 0 };
  const runners = new ReplayRunners(d.root, {
    sessions,
    events,
    targets,
    nodeId: d.nodeId,
    leaseMs: REPLAY_LEASE_MS,
    pollMs: REPLAY_POLL_MS,
    counters,
    policy: d.policy,
    crashes: d.crashes,
    log: d.log,
  });
  const service = createReplayService({
    sessions,
    events,
    targets,
    runners,
    bus: d.bus,
    nodeId: d.nodeId,
    leaseMs: REPLAY_LEASE_MS,
    onBusError: (err) => d.log.warn({ err }, 'replay control not announced; the running node sees it at its next poll'),
  });
  let unsubscribe: Unsubscribe | undefined;
  return {
    service,
    runners,
    counters,
    component: {
      name: 'replay',
      start: async () => {
        // A pause or cancel taken by another node reaches this node's runner at once (else at its next poll).
        unsubscribe = await d.bus.subscribe(REPLAY_CONTROL_CHANNEL, (sessionId) => void runners.poke(sessionId));
        if (d.meter) registerReplayMetrics(d.meter, { countByStatus: (s) => sessions.countByStatus(s), runningHere: () => runners.running().length, counters });
      },
      stop: async () => {
        runners.stopAll();
        await unsubscribe?.();
      },
    },
  };
}
