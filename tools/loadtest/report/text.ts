/** The short plain-text summary the CLI prints when a run ends. */
import type { Report } from './json.js';

function ms(v: number): string {
  return `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : Math.round(v)}ms`;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

export function formatSummary(report: Report, files?: { json: string; html: string }): string {
  const s = report.summary;
  const lines: string[] = [];
  lines.push(`${report.mode} against ${report.target}: ${report.duration_s.toFixed(1)} s`);
  lines.push(
    `  requests ${s.requests}  errors ${s.errors} (${(s.error_rate * 100).toFixed(2)} %)  ${s.rps} req/s  ` +
      `p50 ${ms(s.latency_ms.p50)}  p90 ${ms(s.latency_ms.p90)}  p99 ${ms(s.latency_ms.p99)}  max ${ms(s.latency_ms.max)}`,
  );
  lines.push(`  peak connections ${s.peak_open_connections}  cancelled at end ${s.cancelled}  status codes ${JSON.stringify(s.status_codes)}`);
  for (const [name, m] of Object.entries(report.metrics)) {
    lines.push(`  ${name}: n=${m.count}  p50 ${ms(m.p50)}  p90 ${ms(m.p90)}  p99 ${ms(m.p99)}  max ${ms(m.max)}`);
  }
  if (report.target_memory) lines.push(`  target memory peak ${(report.target_memory.peak_bytes / 1024 ** 2).toFixed(1)} MiB (${report.target_memory.source})`);
  const top = [...report.endpoints].sort((a, b) => b.count - a.count).slice(0, 12);
  if (top.length > 0) {
    const width = Math.min(60, Math.max(...top.map((e) => e.method.length + e.route.length + 1)));
    lines.push('  busiest endpoints:');
    for (const e of top) {
      lines.push(`    ${pad(`${e.method} ${e.route}`, width)}  ${String(e.count).padStart(6)}  err ${String(e.errors).padStart(4)}  p50 ${ms(e.latency_ms.p50)}  p99 ${ms(e.latency_ms.p99)}`);
    }
  }
  lines.push(report.verdict.ok ? '  verdict: OK' : `  verdict: ${report.verdict.failures} failure(s)`);
  for (const r of report.verdict.reasons.slice(0, 10)) lines.push(`    - ${r}`);
  if (files) lines.push(`  report: ${files.html}  (${files.json})`);
  return lines.join('\n');
}
