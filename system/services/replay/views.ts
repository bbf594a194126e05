import { isStalled, type ReplayError, type ReplaySession } from '../../domain/replay.js';

/** Replay sessions as the API shows them (stored session → wire; the stored names are the API's). */
export interface ReplayProgressFields {
  session_id: string;
  status: ReplaySession['status'];
  total_events: number;
  replayed_events: number;
  failed_events: number;
  skipped_events: number;
  /** Replayed of total, in percent with two decimals (as Integr8sCode computes it). */
  progress_percentage: number;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  /** The node running it now (null when none does). */
  owner_node: string | null;
  /** Running, but its node stopped renewing the lease: POST /resume on any node takes it over. */
  stalled: boolean;
}

/** An entry of GET /replay/sessions. */
export type ReplaySummary = ReplayProgressFields & {
  config: Pick<ReplaySession['config'], 'replay_type' | 'target'>;
  duration_seconds: number | null;
};

/** GET /replay/sessions/{id}: everything stored about the session. */
export type ReplaySessionView = ReplaySummary & {
  config: ReplaySession['config'];
  control: ReplaySession['control'];
  last_event_at: string | null;
  errors: ReplayError[];
  cursor: string | null;
  lease_expires_at: string | null;
  created_by: string | null;
  target_service: string | null;
  replay_id: string;
  file_name: string | null;
  file_path: string | null;
};

/** A snapshot of GET /admin/events/replay/{id}/status (one SSE frame). */
export type ReplayStatusView = ReplayProgressFields & {
  correlation_id: string;
  errors: ReplayError[];
  /** When the session should end at its rate so far (running sessions only). */
  estimated_completion: string | null;
};

function progress(s: ReplaySession, now: number): ReplayProgressFields {
  return {
    session_id: s.session_id,
    status: s.status,
    total_events: s.total_events,
    replayed_events: s.replayed_events,
    failed_events: s.failed_events,
    skipped_events: s.skipped_events,
    progress_percentage: Math.round((s.replayed_events / Math.max(s.total_events, 1)) * 10_000) / 100,
    created_at: s.created_at,
    started_at: s.started_at,
    completed_at: s.completed_at,
    owner_node: s.owner_node,
    stalled: isStalled(s, now),
  };
}

const duration = (s: ReplaySession) => (s.started_at && s.completed_at ? (Date.parse(s.completed_at) - Date.parse(s.started_at)) / 1000 : null);

export function toReplaySummary(s: ReplaySession, now: number): ReplaySummary {
  return { ...progress(s, now), config: { replay_type: s.config.replay_type, target: s.config.target }, duration_seconds: duration(s) };
}

export function toReplaySessionView(s: ReplaySession, now: number): ReplaySessionView {
  return {
    ...progress(s, now),
    config: s.config,
    duration_seconds: duration(s),
    control: s.control,
    last_event_at: s.last_event_at,
    errors: s.errors,
    cursor: s.cursor,
    lease_expires_at: s.lease_expires_at,
    created_by: s.created_by,
    target_service: s.target_service,
    replay_id: s.replay_id,
    file_name: s.file_name,
    file_path: s.file_path,
  };
}

export function toReplayStatusView(s: ReplaySession, now: number): ReplayStatusView {
  const handled = s.replayed_events + s.failed_events;
  const elapsed = s.started_at ? now - Date.parse(s.started_at) : 0;
  const estimate = s.status === 'running' && handled > 0 && elapsed > 0 ? now + ((s.total_events - handled) * elapsed) / handled : null;
  return { ...progress(s, now), correlation_id: s.replay_id, errors: s.errors, estimated_completion: estimate === null ? null : new Date(estimate).toISOString() };
}
