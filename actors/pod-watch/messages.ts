import type { Ref } from 'nact';
import type { RunEnd } from '../../system/domain/outcome.js';
import type { SandboxHandle, SandboxOutcome } from '../../system/ports/sandbox.js';

/** What the pod watcher tells its saga. */
export type WatchReport =
  | { type: 'SandboxStarted'; handle: SandboxHandle }
  | { type: 'SandboxExited'; end: RunEnd }
  | { type: 'SandboxFailed'; message: string }
  /** A sandbox to re-attach to is gone (it died with its node); the watcher is idle again and can Start afresh. */
  | { type: 'SandboxLost' };

/** Messages the pod-watch actor handles; the ones marked (self) are async results it sends itself. */
export type PodWatchMsg =
  | { type: 'Start' }
  | { type: 'Reattach'; handle: SandboxHandle }
  | { type: 'Stop' }
  | { type: 'Started'; handle: SandboxHandle } // (self)
  | { type: 'StartFailed'; message: string } // (self)
  | { type: 'Lost' } // (self)
  | { type: 'DeadlineReached' } // (self)
  | { type: 'Exited'; outcome: SandboxOutcome } // (self)
  | { type: 'WatchFailed'; message: string }; // (self)

export type { Ref };
