import type { ExecutionRecord } from '../../system/domain/execution.js';
import type { AdmissionReply } from '../admission/messages.js';
import type { WatchReport } from '../pod-watch/messages.js';

/** Messages the saga handles: its own commands, admission's replies and the watcher's reports. */
export type SagaMsg =
  | { type: 'Begin'; record: ExecutionRecord }
  | { type: 'Cancel'; reason: string }
  /** Standard input for the running program (POST /executions/{id}/stdin); `commandId` is its event id. */
  | { type: 'Stdin'; commandId: string; data: string; eof: boolean }
  | AdmissionReply
  | WatchReport;

/** What a saga tells its partition when it has nothing left to do. */
export type SagaDone = { type: 'SagaDone'; executionId: string };

/** The saga's steps, in order; compensations undo the ones that hold resources. */
export const SAGA_STEPS = ['admit', 'start_sandbox', 'await_outcome', 'store_result'] as const;
export type SagaStep = (typeof SAGA_STEPS)[number];
