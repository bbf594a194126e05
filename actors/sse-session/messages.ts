import type { StreamFrame } from '../../system/events/stream-frame.js';
import type { EncodedSseFrame } from '../../system/services/sse-encoding.js';

/** A frame from the bus as every local stream of its channel gets it: parsed once and serialised once per node. */
export interface LiveFrame {
  frame: StreamFrame;
  encoded: EncodedSseFrame;
}

/**
 * Messages an SSE session handles: the replay it asked for, and the ways the stream ends (the replay failed, the
 * client left). Live frames do not pass through the mailbox, and a live terminal frame stops the session directly
 * (see the actor).
 */
export type SseSessionMsg =
  | { type: 'Replayed'; frames: StreamFrame[]; terminal: boolean }
  | { type: 'ReplayFailed'; message: string }
  | { type: 'ClientGone' };
