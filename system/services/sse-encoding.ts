import type { SseFrame } from './types.js';

/**
 * A frame already in text/event-stream bytes. Built once per published message and handed to every stream that
 * wants it: the streams write (or queue) the same Buffer, so fan-out to N streams costs no N copies.
 */
export interface EncodedSseFrame {
  readonly bytes: Buffer;
}

/** One frame in text/event-stream format; multi-line data becomes several `data:` lines. */
export function formatFrame(frame: SseFrame): string {
  let out = '';
  if (frame.id !== undefined) out += `id: ${singleLine(frame.id)}\n`;
  if (frame.event !== undefined) out += `event: ${singleLine(frame.event)}\n`;
  for (const line of frame.data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return `${out}\n`;
}

/** Serialises a frame once, for any number of streams. */
export function encodeFrame(frame: SseFrame): EncodedSseFrame {
  return { bytes: Buffer.from(formatFrame(frame)) };
}

function singleLine(value: string): string {
  return value.replace(/[\r\n\0]/g, '');
}
