import { v4 as uuidv4 } from 'uuid';
import { errors } from '../../domain/errors.js';
import { newId } from '../../domain/events.js';
import {
  ADMIN_REPLAY_MAX_EVENTS,
  ADMIN_REPLAY_PREVIEW,
  isEmptyFilter,
  isReplayFinished,
  isStalled,
  type ReplayConfig,
  type ReplayFilter,
  type ReplaySession,
  type ReplayStatus,
} from '../../domain/replay.js';
import type { FanoutBus } from '../../ports/fanout-bus.js';
import type { EventStore } from '../../stores/event-store.js';
import { replayEventFilter, type ReplayStore } from '../../stores/replay-store.js';
import type { ReplayTargets } from './targets.js';
import { toReplaySessionView, toReplayStatusView, toReplaySummary, type ReplaySessionView, type ReplayStatusView, type ReplaySummary } from './views.js';

/** The answer to create, start, pause, resume and cancel. */
export interface ReplayResponse {
  session_id: string;
  status: ReplayStatus;
  message: string;
}

/** POST /admin/events/replay, validated. */
export interface AdminReplayRequest {
  event_ids?: string[] | null | undefined;
  aggregate_id?: string | null | undefined;
  correlation_id?: string | null | undefined;
  start_time?: string | null | undefined;
  end_time?: string | null | undefined;
  target_service?: string | null | undefined;
  dry_run: boolean;
}

export interface AdminReplayResponse {
  dry_run: boolean;
  total_events: number;
  replay_id: string;
  /** The same id under the name older clients read. */
  replay_correlation_id: string;
  session_id: string | null;
  status: string;
  events_preview: Array<{ event_id: string; event_type: string; timestamp: string; aggregate_id: string }> | null;
}

/** Replay sessions, readable and controllable from any node: the stored session is the truth. */
export interface ReplayService {
  create(config: ReplayConfig, by: string | null, extra?: { target_service?: string | null; replay_id?: string }): Promise<ReplayResponse>;
  start(id: string): Promise<ReplayResponse>;
  pause(id: string): Promise<ReplayResponse>;
  resume(id: string): Promise<ReplayResponse>;
  cancel(id: string): Promise<ReplayResponse>;
  list(status: ReplayStatus | null, limit: number): Promise<ReplaySummary[]>;
  get(id: string): Promise<ReplaySessionView>;
  status(id: string): Promise<ReplayStatusView>;
  /** Removes finished sessions that ended more than `olderThanHours` ago (and their files). */
  cleanup(olderThanHours: number): Promise<{ removed_sessions: number; message: string }>;
  adminReplay(req: AdminReplayRequest, by: string): Promise<AdminReplayResponse>;
  /** Handles the control channel's messages (a session id whose control changed elsewhere). */
  controlChannel: string;
}

/** Where this node runs sessions (the replay branch of its actors). */
export interface ReplayRunnerPool {
  run(sessionId: string, epoch: number): void;
  poke(sessionId: string): boolean;
}

export interface ReplayServiceDeps {
  sessions: ReplayStore;
  events: EventStore;
  targets: ReplayTargets;
  runners: ReplayRunnerPool;
  bus: FanoutBus;
  nodeId: string;
  leaseMs: number;
  /** How long pause and cancel wait for the running node to confirm; default 5 s. */
  ackTimeoutMs?: number;
  now?: () => number;
  /** Publishing a control change failed: the running node still sees it at its next poll. */
  onBusError?: (err: unknown) => void;
}

/** The fan-out channel on which control changes are announced to the node running a session. */
export const REPLAY_CONTROL_CHANNEL = 'replay-control';

const iso = (ms: number) => new Date(ms).toISOString();

/** The replay use cases over the stored sessions; running sessions live in runner actors on whichever node claimed them. */
export function createReplayService(deps: ReplayServiceDeps): ReplayService {
  const now = deps.now ?? Date.now;
  const ackTimeoutMs = deps.ackTimeoutMs ?? 5_000;

  const load = async (id: string): Promise<ReplaySession> => {
    const s = await deps.sessions.get(id);
    if (!s) throw errors.notFound('Replay session');
    return s;
  };

  /** Takes the session for this node (a new epoch stops any other runner) and starts its runner here. */
  const claim = async (id: string, patch: Partial<ReplaySession>): Promise<ReplaySession> => {
    const bumped = await deps.sessions.bumpEpoch(id);
    if (!bumped) throw errors.notFound('Replay session');
    const t = now();
    const claimed = await deps.sessions.update(id, { ...patch, status: 'running', control: 'run', owner_node: deps.nodeId, lease_expires_at: iso(t + deps.leaseMs) });
    if (!claimed) throw errors.notFound('Replay session');
    deps.runners.run(id, bumped.epoch);
    return claimed;
  };

  /** Asks the running node to act on the stored control now, and waits (bounded) until the status left `running`. */
  const signal = async (id: string): Promise<ReplaySession> => {
    if (!deps.runners.poke(id)) {
      await deps.bus.publish(REPLAY_CONTROL_CHANNEL, id).catch((err: unknown) => deps.onBusError?.(err));
    }
    const until = now() + ackTimeoutMs;
    for (;;) {
      const s = await load(id);
      if (s.status !== 'running' || isStalled(s, now()) || now() >= until) return s;
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  /** Sets a status directly: only when no live runner has the session. */
  const settle = (id: string, status: ReplayStatus, control: ReplaySession['control']) =>
    deps.sessions.update(id, { status, control, owner_node: null, lease_expires_at: null, ...(isReplayFinished(status) ? { completed_at: iso(now()) } : {}) });

  const respond = (s: ReplaySession, message: string): ReplayResponse => ({ session_id: s.session_id, status: s.status, message });

  const service: ReplayService = {
    controlChannel: REPLAY_CONTROL_CHANNEL,

    async create(config, by, extra = {}) {
      const id = newId();
      const files = config.target === 'file' ? deps.targets.fileOf(id) : { file_name: null, file_path: null };
      const session: ReplaySession = {
        id,
        session_id: id,
        config,
        status: 'created',
        control: 'run',
        total_events: 0,
        replayed_events: 0,
        failed_events: 0,
        skipped_events: 0,
        created_at: iso(now()),
        started_at: null,
        completed_at: null,
        last_event_at: null,
        errors: [],
        cursor: null,
        owner_node: null,
        lease_expires_at: null,
        epoch: 0,
        created_by: by,
        target_service: extra.target_service ?? null,
        replay_id: extra.replay_id ?? `replay-${uuidv4().replace(/-/g, '')}`,
        ...files,
      };
      await deps.sessions.insert(session);
      return respond(session, 'Replay session created');
    },

    async start(id) {
      const s = await load(id);
      if (s.status !== 'created') throw errors.invalidState(`Replay session is ${s.status}; only a created session can be started`);
      const total = await deps.events.count(replayEventFilter(s.config.filter));
      const started = await claim(id, { started_at: iso(now()), total_events: s.config.max_events ? Math.min(total, s.config.max_events) : total });
      return respond(started, 'Replay session started');
    },

    async pause(id) {
      const s = await load(id);
      if (s.status !== 'running') throw errors.invalidState(`Replay session is ${s.status}; only a running session can be paused`);
      await deps.sessions.update(id, { control: 'pause' });
      if (isStalled(s, now())) return respond((await settle(id, 'paused', 'pause'))!, 'Replay session paused');
      const after = await signal(id);
      if (after.status === 'running' && isStalled(after, now())) return respond((await settle(id, 'paused', 'pause'))!, 'Replay session paused');
      return respond(after, after.status === 'paused' ? 'Replay session paused' : `Pause requested; the session is ${after.status}`);
    },

    async resume(id) {
      const s = await load(id);
      const stalled = isStalled(s, now());
      if (s.status !== 'paused' && !stalled) throw errors.invalidState(`Replay session is ${s.status}; only a paused or stalled session can be resumed`);
      const resumed = await claim(id, {});
      return respond(resumed, stalled ? 'Replay session taken over and resumed on this node' : 'Replay session resumed');
    },

    async cancel(id) {
      const s = await load(id);
      if (isReplayFinished(s.status)) throw errors.invalidState(`Replay session is already ${s.status}`);
      await deps.sessions.update(id, { control: 'cancel' });
      if (s.status !== 'running' || isStalled(s, now())) return respond((await settle(id, 'cancelled', 'cancel'))!, 'Replay session cancelled');
      const after = await signal(id);
      if (after.status === 'running' && isStalled(after, now())) return respond((await settle(id, 'cancelled', 'cancel'))!, 'Replay session cancelled');
      return respond(after, after.status === 'cancelled' ? 'Replay session cancelled' : `Cancel requested; the session is ${after.status}`);
    },

    async list(status, limit) {
      const t = now();
      return (await deps.sessions.list(status, limit)).map((s) => toReplaySummary(s, t));
    },

    async get(id) {
      return toReplaySessionView(await load(id), now());
    },

    async status(id) {
      return toReplayStatusView(await load(id), now());
    },

    async cleanup(olderThanHours) {
      const old = await deps.sessions.finishedBefore(iso(now() - olderThanHours * 3600_000));
      let removed = 0;
      for (const s of old) {
        await deps.targets.removeFile(s);
        if (await deps.sessions.delete(s.id)) removed++;
      }
      return { removed_sessions: removed, message: `Removed ${removed} finished replay session(s) older than ${olderThanHours} hour(s)` };
    },

    async adminReplay(req, by) {
      const filter: ReplayFilter = {
        ...(req.event_ids?.length ? { event_ids: req.event_ids } : {}),
        ...(req.aggregate_id ? { aggregate_id: req.aggregate_id } : {}),
        ...(req.correlation_id ? { correlation_id: req.correlation_id } : {}),
        ...(req.start_time ? { start_time: req.start_time } : {}),
        ...(req.end_time ? { end_time: req.end_time } : {}),
      };
      if (isEmptyFilter(filter)) throw errors.validation([{ field: 'body', message: 'name at least one of event_ids, aggregate_id, correlation_id, start_time, end_time' }]);
      const storeFilter = replayEventFilter(filter);
      const total = await deps.events.count(storeFilter);
      if (total === 0) throw errors.notFound('Events matching the replay filter');
      const replayId = `replay-${uuidv4().replace(/-/g, '')}`;
      if (req.dry_run) {
        const preview = await deps.events.find(storeFilter, { sort: { id: 1 }, limit: ADMIN_REPLAY_PREVIEW });
        return {
          dry_run: true,
          total_events: total,
          replay_id: replayId,
          replay_correlation_id: replayId,
          session_id: null,
          status: 'preview',
          events_preview: preview.map((e) => ({ event_id: e.event_id, event_type: e.event_type, timestamp: e.timestamp, aggregate_id: e.aggregate_id })),
        };
      }
      if (total > ADMIN_REPLAY_MAX_EVENTS) {
        throw errors.validation([{ field: 'body', message: `too many events to replay (${total}); at most ${ADMIN_REPLAY_MAX_EVENTS}, or use /replay/sessions` }]);
      }
      const config: ReplayConfig = {
        replay_type: req.event_ids?.length ? 'query' : req.aggregate_id ? 'execution' : 'time_range',
        target: 'kafka',
        filter,
        speed_multiplier: 100,
        preserve_timestamps: true,
        batch_size: 100,
        max_events: ADMIN_REPLAY_MAX_EVENTS,
        target_topics: null,
        skip_errors: true,
        retry_failed: true,
        retry_attempts: 3,
      };
      const created = await service.create(config, by, { target_service: req.target_service ?? null, replay_id: replayId });
      const started = await service.start(created.session_id);
      return {
        dry_run: false,
        total_events: total,
        replay_id: replayId,
        replay_correlation_id: replayId,
        session_id: started.session_id,
        status: started.status,
        events_preview: null,
      };
    },
  };
  return service;
}
