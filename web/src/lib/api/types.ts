/** Wire shapes of the /api/v1 contract (see shared/API.md), as the SPA reads them. */

export type Role = 'user' | 'admin';

/** GET /auth/me. */
export interface UserProfile {
  user_id: string;
  username: string;
  email: string;
  role: Role;
  is_active: boolean;
  is_superuser: boolean;
  created_at: string;
  updated_at: string;
}

/** POST /auth/login. */
export interface LoginResponse {
  message: string;
  username: string;
  role: Role;
  csrf_token: string;
}

export const EXECUTION_STATUSES = ['queued', 'scheduled', 'running', 'completed', 'failed', 'timeout', 'cancelled', 'error'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];
export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(['completed', 'failed', 'timeout', 'cancelled', 'error']);

export interface ResourceUsage {
  execution_time_wall_seconds: number;
  cpu_time_jiffies: number;
  clk_tck_hertz: number;
  peak_memory_kb: number;
}

/** GET /executions/{id}/result. */
export interface ExecutionResult {
  execution_id: string;
  status: ExecutionStatus;
  stdout: string;
  stderr: string;
  lang: string;
  lang_version: string;
  resource_usage: ResourceUsage | null;
  exit_code: number | null;
  error_type: string | null;
  priority?: string;
  stdout_truncated?: boolean;
  stderr_truncated?: boolean;
  created_at?: string;
  start_time?: string | null;
  end_time?: string | null;
}

/** One entry of GET /user/executions. */
export interface ExecutionSummary extends ExecutionResult {
  script: string;
  user_id: string | null;
  updated_at: string;
}

export interface ExecutionPage<T = ExecutionSummary> {
  executions: T[];
  total: number;
  limit: number;
  skip: number;
  has_more: boolean;
}

/** One stored domain event (GET /executions/{id}/events). */
export interface StoredEvent {
  event_id: string;
  event_type: string;
  timestamp: string;
  aggregate_id: string;
  [field: string]: unknown;
}

/** GET /k8s-limits. */
export interface K8sLimits {
  cpu_limit: string;
  memory_limit: string;
  execution_timeout: number;
  supported_runtimes: Record<string, { versions: string[]; file_ext: string }>;
}

/** A saved script (/scripts). */
export interface SavedScript {
  script_id: string;
  name: string;
  script: string;
  lang: string;
  lang_version: string;
  description: string | null;
  created_at: string;
  updated_at: string;
}

export type Theme = 'auto' | 'light' | 'dark';

export interface EditorSettings {
  theme: string;
  font_size: number;
  tab_size: 2 | 4 | 8;
  use_tabs: boolean;
  word_wrap: boolean;
  show_line_numbers: boolean;
}

export interface NotificationPrefs {
  execution_completed: boolean;
  execution_failed: boolean;
  system_updates: boolean;
  security_alerts: boolean;
  channels: string[];
}

/** GET /user/settings/. */
export interface UserSettings {
  theme: Theme;
  timezone: string;
  date_format: string;
  time_format: string;
  notifications: NotificationPrefs;
  editor: EditorSettings;
  custom_settings: Record<string, unknown>;
  version: number;
}

export interface SettingsHistoryEntry {
  event_id: string;
  timestamp: string;
  field: string;
  old_value: unknown;
  new_value: unknown;
  reason: string | null;
}

export type Severity = 'low' | 'medium' | 'high' | 'urgent';

/** One notification (list and SSE stream). */
export interface AppNotification {
  notification_id: string;
  channel: string;
  status: string;
  subject: string;
  body: string;
  action_url: string;
  created_at: string;
  read_at: string | null;
  severity: string;
  tags: string[];
  /** Webhook and Slack copies: when it was sent, HTTP attempts, the last error, and why and until when it is held. */
  delivered_at?: string | null;
  attempts?: number;
  error_message?: string | null;
  due_at?: string | null;
  hold_reason?: string | null;
}

export interface NotificationList {
  notifications: AppNotification[];
  total: number;
  unread_count: number;
}

export const NOTIFICATION_CHANNELS = ['in_app', 'webhook', 'slack'] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];

export interface Subscription {
  channel: NotificationChannel;
  enabled: boolean;
  severities: string[];
  include_tags: string[];
  exclude_tags: string[];
  webhook_url: string | null;
  slack_webhook: string | null;
  /** Whole only in the answer that set or generated it; afterwards masked (`••••` and its last four characters). */
  webhook_secret?: string | null;
  /** Webhook and Slack: non-urgent deliveries inside these hours (HH:MM in `timezone`) are held until they end. */
  quiet_hours_enabled?: boolean;
  quiet_hours_start?: string | null;
  quiet_hours_end?: string | null;
  timezone?: string;
  /** Webhook and Slack: 0 sends each on its own; otherwise the ones made within this many seconds go out as one digest. */
  batching_interval_seconds?: number;
}

/** PUT /notifications/subscriptions/{channel} body (fields left out keep their value). */
export interface SubscriptionUpdate {
  enabled: boolean;
  severities: string[];
  include_tags: string[];
  exclude_tags: string[];
  webhook_url?: string | null;
  slack_webhook?: string | null;
  quiet_hours_enabled?: boolean;
  quiet_hours_start?: string | null;
  quiet_hours_end?: string | null;
  timezone?: string;
  batching_interval_seconds?: number;
  webhook_secret?: string;
  rotate_webhook_secret?: boolean;
}

/** A frame of GET /events/executions/{id}. */
export interface ExecutionFrame {
  event_type: string;
  execution_id: string;
  event_id: string;
  timestamp: string;
  status?: ExecutionStatus | null;
  result?: ExecutionResult | null;
}

/** A live output chunk on the same stream (issue 10). */
export interface OutputChunkFrame {
  event_type: 'execution_output';
  execution_id: string;
  event_id: string;
  timestamp: string;
  stream: 'stdout' | 'stderr';
  seq: number;
  text: string;
}

/** An account as admins see it. */
export interface AdminUser extends UserProfile {
  failed_login_attempts: number;
  locked_until: string | null;
}

export const PRIORITIES = ['critical', 'high', 'normal', 'low', 'background'] as const;

export interface QueueSnapshot {
  queue_depth: number;
  active_count: number;
  max_concurrent: number;
  by_priority: Record<string, number>;
}

export interface AdminExecution extends ExecutionResult {
  user_id: string | null;
  script: string;
  attempts: number;
  updated_at: string;
}

export interface AdminSystemSettings {
  max_timeout_seconds: number;
  memory_limit: string;
  cpu_limit: string;
  max_concurrent_executions: number;
  password_min_length: number;
  session_timeout_minutes: number;
  max_login_attempts: number;
  lockout_duration_minutes: number;
  log_level: string;
  enable_tracing: boolean;
  sampling_rate: number;
}

export interface ClusterNode {
  nodeId: string;
  address: string;
  startedAt: string;
  partitions: number[];
  actors: Record<string, number>;
  /** Messages waiting in the mailboxes of each kind of actor. */
  mailboxes?: Record<string, number>;
  restarts?: number;
  crashes?: Array<{ path: string; error: string; at: string; decision: string }>;
  uptime_seconds: number;
  version?: string;
  lastSeen: string;
}

/** One actor of an execution, as the node that hosts it reports it. */
export interface ActorDetail {
  path: string;
  name: string;
  kind: string;
  mailbox: number;
  busy: boolean;
  state: unknown;
}

export interface ExecutionActorsView {
  execution_id: string;
  status: string;
  partition: number;
  node_id: string | null;
  hosted: boolean;
  actors: ActorDetail[];
}

export interface ClusterView {
  mode: 'embedded' | 'cluster';
  answered_by: string;
  nodes: ClusterNode[];
}

/** The domain event types the event store holds (system/domain/events.ts; a test keeps the two lists equal). */
export const EVENT_TYPES = [
  'execution_requested',
  'execution_queued',
  'execution_scheduled',
  'pod_created',
  'execution_running',
  'pod_terminated',
  'execution_completed',
  'execution_failed',
  'execution_timeout',
  'execution_cancel_requested',
  'execution_cancelled',
  'execution_stdin_requested',
  'result_stored',
  'result_failed',
  'user_settings_updated',
] as const;

/** The filters of POST /admin/events/browse (and, as query parameters, of the exports). */
export interface EventFilters {
  event_types?: string[];
  aggregate_id?: string;
  user_id?: string;
  service_name?: string;
  start_time?: string;
  end_time?: string;
  search_text?: string;
}

/** POST /admin/events/browse. */
export interface EventBrowsePage {
  events: StoredEvent[];
  total: number;
  skip: number;
  limit: number;
}

/** An event in a timeline or a list of related events. */
export interface EventSummary {
  event_id: string;
  event_type: string;
  timestamp: string;
  aggregate_id: string;
}

/** GET /admin/events/{event_id}. */
export interface EventDetail {
  event: StoredEvent;
  related_events: EventSummary[];
  timeline: EventSummary[];
}

/** GET /admin/events/stats?hours=. */
export interface EventStats {
  total_events: number;
  events_by_type: Array<{ event_type: string; count: number }>;
  events_by_hour: Array<{ hour: string; count: number }>;
  top_users: Array<{ user_id: string; event_count: number }>;
  error_rate: number;
  avg_processing_time: number;
}

/** POST /admin/events/replay body: which events to send again, where, and whether only to preview. */
export interface EventReplayRequest {
  event_ids?: string[];
  aggregate_id?: string;
  /** Events whose metadata carries this correlation id (one request's events). */
  correlation_id?: string;
  start_time?: string;
  end_time?: string;
  target_service?: string;
  dry_run: boolean;
}

/** POST /admin/events/replay: a preview (dry run) or the replay session started. */
export interface EventReplayResponse {
  dry_run: boolean;
  total_events: number;
  replay_correlation_id?: string;
  session_id?: string | null;
  status: string;
  events_preview?: EventSummary[] | null;
}

export const REPLAY_TERMINAL_STATUSES: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled']);

/** A replay session's progress: a frame of GET /admin/events/replay/{id}/status and an entry of /replay/sessions. */
export interface ReplaySession {
  session_id: string;
  status: string;
  total_events: number;
  replayed_events: number;
  failed_events: number;
  skipped_events: number;
  progress_percentage?: number;
  created_at?: string;
  started_at?: string | null;
  completed_at?: string | null;
  /** The latest errors (the counters keep counting past them). */
  errors?: Array<{ timestamp?: string; error: string; error_type?: string | null; event_id?: string | null }>;
  /** The node running it, and whether its lease ran out without another node taking over yet. */
  owner_node?: string | null;
  stalled?: boolean;
  /** In the sessions list: what kind of replay and where it sends the events; how long it ran. */
  config?: { replay_type: string; target: string };
  duration_seconds?: number | null;
}

export const SAGA_STATES = ['created', 'running', 'compensating', 'completed', 'failed', 'timeout', 'cancelled'] as const;
export const SAGA_ACTIVE_STATES: ReadonlySet<string> = new Set(['created', 'running', 'compensating']);

/** One saga (/sagas/...). */
export interface Saga {
  saga_id: string;
  saga_name: string;
  execution_id: string;
  state: (typeof SAGA_STATES)[number];
  current_step: string | null;
  completed_steps: string[];
  compensated_steps: string[];
  error_message: string | null;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
  /** When the saga stops waiting for the sandbox's outcome (start + wall limit + grace); null before a start. */
  deadline_at?: string | null;
  retry_count: number;
}

/** GET /sagas/. */
export interface SagaPage {
  sagas: Saga[];
  total: number;
  skip: number;
  limit: number;
  has_more: boolean;
}

/** POST /sagas/{id}/cancel. */
export interface SagaCancelResponse {
  success: boolean;
  message: string;
  saga_id: string;
}

export const DEAD_LETTER_STATUSES = ['pending', 'retried'] as const;

/** One dead letter (/admin/dlq/messages). */
export interface DeadLetter {
  message_id: string;
  status: (typeof DEAD_LETTER_STATUSES)[number];
  original_topic: string | null;
  original_partition: number | null;
  original_offset: number | null;
  consumer_group: string | null;
  key: string;
  payload: string;
  /** The payload parsed, or null when it is not JSON. */
  event: unknown;
  headers: Record<string, string>;
  event_id: string | null;
  event_type: string | null;
  error: string;
  attempts: number;
  failed_at: string;
  age_seconds: number;
  retry_count: number;
  retried_at: string | null;
  retried_by: string | null;
}

/** GET /admin/dlq/messages. */
export interface DeadLetterPage {
  messages: DeadLetter[];
  total: number;
  offset: number;
  limit: number;
}

/** POST /admin/dlq/retry. */
export interface DeadLetterBatchResult {
  total: number;
  successful: number;
  failed: number;
  details: Array<{ message_id: string; status: 'retried' | 'failed'; error?: string }>;
}

/** GET /admin/dlq/stats. */
export interface DeadLetterStats {
  depth: number;
  oldest_age_seconds: number;
  by_status: Record<string, number>;
}
