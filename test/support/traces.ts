/**
 * Reads the spans nodes wrote to TRACE_SPANS_FILE (system/telemetry/span-file-exporter.ts) and checks that a
 * trace is one tree: a single root, and every other span's parent among the trace's spans.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { SpanLine } from '../../system/telemetry/span-file-exporter.js';

export type { SpanLine };

/** Every span written to `file` so far (none when it does not exist yet). */
export function readSpans(file: string): SpanLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as SpanLine);
}

/** One trace as a tree. */
export interface TraceTree {
  root: SpanLine;
  spans: SpanLine[];
  /** The chain of names from the root down to `span`. */
  pathOf(span: SpanLine): string[];
}

/** The spans of `traceId` as a tree; throws, naming the orphans, when they are not one connected tree. */
export function traceTree(spans: SpanLine[], traceId: string): TraceTree {
  const mine = spans.filter((s) => s.trace_id === traceId);
  const byId = new Map(mine.map((s) => [s.span_id, s]));
  const roots = mine.filter((s) => s.parent_span_id === null);
  const orphans = mine.filter((s) => s.parent_span_id !== null && !byId.has(s.parent_span_id));
  if (roots.length !== 1 || orphans.length > 0) {
    const describe = (s: SpanLine) => `${s.name} (${s.span_id} ← ${s.parent_span_id ?? 'root'} on ${s.node})`;
    throw new Error(`trace ${traceId} is not one tree: roots [${roots.map(describe).join(', ')}], orphans [${orphans.map(describe).join(', ')}]`);
  }
  const pathOf = (span: SpanLine): string[] => {
    const names: string[] = [];
    for (let s: SpanLine | undefined = span; s; s = s.parent_span_id ? byId.get(s.parent_span_id) : undefined) names.unshift(s.name);
    return names;
  };
  return { root: roots[0]!, spans: mine, pathOf };
}
