/**
 * What a PromQL expression reads, from Prometheus' own grammar (@prometheus-io/lezer-promql): the metric name of
 * every vector selector (`name{…}`, or `{__name__="name"}`), and whether the expression parsed at all.
 */
import { parser } from '@prometheus-io/lezer-promql';

/** The metric names an expression selects, and the spans of text the grammar could not parse. */
export function readPromQL(expr: string): { metrics: string[]; errors: string[] } {
  const metrics = new Set<string>();
  const errors: string[] = [];
  const cursor = parser.parse(expr).cursor();
  do {
    if (cursor.type.isError) errors.push(`at ${cursor.from}: '${expr.slice(cursor.from, cursor.to + 10)}'`);
    if (cursor.name !== 'VectorSelector') continue;
    const selector = cursor.node;
    const name = selector.getChild('Identifier');
    if (name) metrics.add(expr.slice(name.from, name.to));
    const byName = /__name__\s*=\s*"([^"]+)"/.exec(expr.slice(selector.from, selector.to));
    if (byName) metrics.add(byName[1]!);
  } while (cursor.next());
  return { metrics: [...metrics], errors };
}

/** Sample names and metric types in a Prometheus text exposition. */
export function servedMetrics(text: string): { samples: Set<string>; types: Map<string, string> } {
  const samples = new Set<string>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    else if (line && !line.startsWith('#')) samples.add(line.split(/[{ ]/)[0]!);
  }
  return { samples, types };
}
