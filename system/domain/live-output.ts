/** Live output of a run as it is published: batched pieces of one stream, numbered per execution. */

/** One batch of a stream's output; `truncated` marks where the stream reached the output cap (nothing follows). */
export interface OutputPiece {
  stream: 'stdout' | 'stderr';
  text: string;
  truncated: boolean;
}

/** Bytes of each stream already published (a re-attached watch skips them). */
export interface StreamBytes {
  stdout: number;
  stderr: number;
}

/** Pending output is flushed this long after its first byte arrived... */
export const OUTPUT_FLUSH_MS = 50;
/** ...or as soon as this many bytes are pending; no piece is (much) larger. */
export const OUTPUT_FLUSH_BYTES = 8 * 1024;

/** How long published pieces stay readable for clients resuming a stream. */
export const OUTPUT_RETENTION_SECONDS = 3600;
