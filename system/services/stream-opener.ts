import type { SseSink } from './types.js';

/** Opens a live stream of one execution's frames into a sink (access already checked). */
export interface StreamOpener {
  open(executionId: string, lastEventId: string | null, sink: SseSink): void;
}
