import type { Ref } from 'nact';
import type { ExecutionRecord } from '../../system/domain/execution.js';
import type { RunEnd } from '../../system/domain/outcome.js';
import type { SandboxHandle } from '../../system/ports/sandbox.js';

/** A change the saga asks the execution to make; the execution checks it against its state machine. */
export type ExecutionChange =
  | { kind: 'queued'; position: number }
  | { kind: 'scheduled' }
  | { kind: 'started'; handle: SandboxHandle }
  | { kind: 'finished'; end: RunEnd; timeoutSeconds: number; cancelReason: string }
  | { kind: 'cancelled'; reason: string }
  /** The saga's own deadline passed with no outcome from the sandbox (hung, or its watcher silent). */
  | { kind: 'timed_out'; timeoutSeconds: number }
  | { kind: 'system_error'; message: string };

/** The execution's answer; `retryable` means it crashed handling the change and has restarted, so asking again may work. */
export type ApplyReply =
  | { ok: true; record: ExecutionRecord }
  | { ok: false; reason: string; record: ExecutionRecord | null; retryable?: boolean };

/** Messages the execution actor handles. */
export type ExecutionMsg =
  | { type: 'Apply'; change: ExecutionChange; replyTo: Ref<ApplyReply> }
  | { type: 'Get'; replyTo: Ref<ExecutionRecord | null> };
