import type { Ref } from 'nact';
import type { OutputPiece, StreamBytes } from '../../system/domain/live-output.js';
import type { RunEnd } from '../../system/domain/outcome.js';
import type { SandboxHandle, SandboxOutcome } from '../../system/ports/sandbox.js';

/** What the pod watcher tells its saga. */
export type WatchReport =
  | { type: 'SandboxStarted'; handle: SandboxHandle }
  /** Live output, batched; all of a run's output is reported before it is reported exited. */
  | { type: 'SandboxOutput'; pieces: OutputPiece[] }
  | { type: 'SandboxExited'; end: RunEnd }
  | { type: 'SandboxFailed'; message: string }
  /** A sandbox to re-attach to is gone (it died with its node); the watcher is idle again and can Start afresh. */
  | { type: 'SandboxLost' };

/** Messages the pod-watch actor handles; the ones marked (self) are async results it sends itself. */
export type PodWatchMsg =
  | { type: 'Start' }
  /** `skip`: output of the run published before (by the watcher this one replaces), not to be sent again. */
  | { type: 'Reattach'; handle: SandboxHandle; skip: StreamBytes }
  | { type: 'Stop' }
  /** Standard input for the program; `commandId` makes a redelivered command a no-op. */
  | { type: 'Write'; commandId: string; data: string; eof: boolean }
  | { type: 'Started'; handle: SandboxHandle } // (self)
  | { type: 'StartFailed'; message: string } // (self)
  | { type: 'Lost' } // (self)
  | { type: 'DeadlineReached' } // (self)
  | { type: 'Exited'; outcome: SandboxOutcome } // (self)
  | { type: 'WatchFailed'; message: string }; // (self)

export type { Ref };
