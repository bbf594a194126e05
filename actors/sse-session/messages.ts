import type { StreamFrame } from '../../system/events/stream-frame.js';

/** Messages an SSE session handles: frames from the bus, the replay it asked for, and the end of the stream. */
export type SseSessionMsg =
  | { type: 'Live'; frame: StreamFrame }
  | { type: 'Replayed'; frames: StreamFrame[]; terminal: boolean }
  | { type: 'ReplayFailed'; message: string }
  | { type: 'ClientGone' };
