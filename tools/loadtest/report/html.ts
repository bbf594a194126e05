/**
 * report.html: one self-contained page (inline CSS and SVG, no script, no external resource) with the run's
 * summary, charts over time (latency percentiles, throughput and errors, open connections, target memory when
 * known, extra measurements such as SSE delivery latency), the per-endpoint table and the scenario's figures.
 * Everything that came from the target or the options is escaped.
 */
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { LatencySummary } from '../histogram.js';
import type { Report } from './json.js';
import { escapeXml as esc, formatNumber, lineChart } from './svg.js';

const COLORS = { p50: '#2b6cb0', p99: '#c53030', rps: '#2f855a', errors: '#c53030', open: '#6b46c1', memory: '#b7791f' };

function bytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(2)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(2)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

function ms(v: number): string {
  return Number.isFinite(v) ? `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : Math.round(v)} ms` : '–';
}

function latencyCells(l: LatencySummary): string {
  return [l.p50, l.p90, l.p99, l.max].map((v) => `<td class="num">${l.count > 0 ? ms(v) : '–'}</td>`).join('');
}

/** Renders any JSON value as HTML: objects as key/value tables, arrays of objects as tables. */
function renderValue(value: unknown, depth = 0): string {
  if (value === null || value === undefined) return '<span class="muted">–</span>';
  if (typeof value === 'number') return esc(Number.isInteger(value) ? String(value) : String(Math.round(value * 1000) / 1000));
  if (typeof value !== 'object') return esc(String(value));
  if (Array.isArray(value)) {
    if (value.length === 0) return '<span class="muted">none</span>';
    if (value.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v))) {
      const keys = [...new Set(value.flatMap((v) => Object.keys(v as object)))];
      const rows = value
        .map((v) => `<tr>${keys.map((k) => `<td>${renderValue((v as Record<string, unknown>)[k], depth + 1)}</td>`).join('')}</tr>`)
        .join('');
      return `<table class="data"><thead><tr>${keys.map((k) => `<th>${esc(k)}</th>`).join('')}</tr></thead><tbody>${rows}</tbody></table>`;
    }
    return value.map((v) => renderValue(v, depth + 1)).join(', ');
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return '<span class="muted">–</span>';
  return `<table class="kv${depth > 0 ? ' nested' : ''}">${entries.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${renderValue(v, depth + 1)}</td></tr>`).join('')}</table>`;
}

function card(label: string, value: string, tone = ''): string {
  return `<div class="card ${tone}"><div class="label">${esc(label)}</div><div class="value">${esc(value)}</div></div>`;
}

/** Builds the page. */
export function renderHtml(report: Report): string {
  const tl = report.timeline;
  const xs = tl.map((p) => p.t);
  const charts: string[] = [];
  charts.push(
    lineChart({
      title: 'Request latency over time',
      unit: 'ms',
      xs,
      series: [
        { name: 'p50', color: COLORS.p50, values: tl.map((p) => p.p50_ms) },
        { name: 'p99', color: COLORS.p99, values: tl.map((p) => p.p99_ms) },
      ],
    }),
  );
  charts.push(
    lineChart({
      title: 'Throughput and errors',
      unit: 'per second',
      xs,
      series: [
        { name: 'requests/s', color: COLORS.rps, values: tl.map((p) => p.rps) },
        { name: 'errors/s', color: COLORS.errors, values: tl.map((p) => p.errors), dashed: true },
      ],
    }),
  );
  charts.push(
    lineChart({ title: 'Open connections to the target', unit: 'connections', xs, series: [{ name: 'open (peak per second)', color: COLORS.open, values: tl.map((p) => p.open_connections) }] }),
  );
  if (report.target_memory) {
    charts.push(
      lineChart({
        title: `Target memory (${report.target_memory.source})`,
        unit: 'MiB',
        xs,
        series: [{ name: 'memory', color: COLORS.memory, values: tl.map((p) => (p.target_memory_bytes === undefined ? null : p.target_memory_bytes / 1024 ** 2)) }],
      }),
    );
  }
  for (const [name, metric] of Object.entries(report.metrics)) {
    charts.push(
      lineChart({
        title: metric.description.split(':')[0] ?? name,
        unit: 'ms',
        xs,
        series: [
          { name: 'p50', color: COLORS.p50, values: tl.map((p) => p.metrics?.[name]?.p50_ms ?? null) },
          { name: 'p99', color: COLORS.p99, values: tl.map((p) => p.metrics?.[name]?.p99_ms ?? null) },
        ],
      }),
    );
  }

  const s = report.summary;
  const verdict = report.verdict.ok ? card('verdict', 'OK', 'good') : card('verdict', `${report.verdict.failures} failure(s)`, 'bad');
  const cards = [
    verdict,
    card('requests', String(s.requests)),
    card('errors', `${s.errors} (${(s.error_rate * 100).toFixed(2)} %)`, s.errors > 0 ? 'warn' : ''),
    card('throughput', `${formatNumber(s.rps)} req/s`),
    card('latency p50 / p99', `${ms(s.latency_ms.p50)} / ${ms(s.latency_ms.p99)}`),
    card('peak connections', String(s.peak_open_connections)),
    card('bytes in / out', `${bytes(s.bytes_in)} / ${bytes(s.bytes_out)}`),
  ];
  if (report.target_memory) cards.push(card('target memory (peak)', bytes(report.target_memory.peak_bytes)));

  const endpointRows = report.endpoints
    .map(
      (e) =>
        `<tr><td><code>${esc(e.method)}</code></td><td><code>${esc(e.route)}</code></td><td class="num">${e.count}</td><td class="num${e.errors > 0 ? ' bad' : ''}">${e.errors}</td><td>${Object.entries(
          e.status_codes,
        )
          .map(([code, n]) => `<span class="code c${esc(code.slice(0, 1))}">${esc(code)}</span>×${n}`)
          .join(' ')}</td>${latencyCells(e.latency_ms)}<td class="num">${bytes(e.bytes_in)}</td><td class="num">${bytes(e.bytes_out)}</td></tr>`,
    )
    .join('');

  const metricRows = Object.entries(report.metrics)
    .map(([name, m]) => `<tr><td><code>${esc(name)}</code></td><td>${esc(m.description)}</td><td class="num">${m.count}</td>${latencyCells(m)}</tr>`)
    .join('');

  const reasons = report.verdict.reasons.length > 0 ? `<ul class="reasons">${report.verdict.reasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>` : '';

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Load test: ${esc(report.mode)} against ${esc(report.target)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;padding:24px 32px;color:#1a202c;background:#f7f8fa}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:32px 0 10px}
.meta{color:#555;margin-bottom:18px}.muted{color:#999}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:10px 14px;min-width:140px}
.card .label{font-size:12px;color:#666;text-transform:uppercase;letter-spacing:.03em}.card .value{font-size:18px;font-weight:600}
.card.good{border-color:#9ae6b4;background:#f0fff4}.card.bad{border-color:#feb2b2;background:#fff5f5}.card.warn .value{color:#c05621}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(600px,1fr));gap:14px}
.chart{background:#fff;border:1px solid #e2e8f0;border-radius:8px;max-width:100%;height:auto}
table{border-collapse:collapse;background:#fff}table.data,table.endpoints{width:100%}
th,td{border:1px solid #e2e8f0;padding:4px 8px;text-align:left;vertical-align:top}th{background:#edf2f7;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}td.bad{color:#c53030;font-weight:600}
table.kv th{width:1%;white-space:nowrap}table.nested{margin:0}
table.data td{max-width:28em;overflow-wrap:anywhere;font-size:12.5px}
.code{display:inline-block;padding:0 4px;border-radius:3px;background:#e2e8f0;font-family:monospace}
.code.c2{background:#c6f6d5}.code.c3{background:#bee3f8}.code.c4{background:#feebc8}.code.c5,.code.ct,.code.cn,.code.cp{background:#fed7d7}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12.5px;word-break:break-all}
.reasons{color:#c53030}
footer{margin-top:36px;color:#888;font-size:12px}
</style>
</head>
<body>
<h1>Load test: <code>${esc(report.mode)}</code></h1>
<div class="meta">Target <code>${esc(report.target)}</code> · ${esc(report.started_at)} → ${esc(report.ended_at)} · ${report.duration_s} s</div>
<div class="cards">${cards.join('')}</div>
${reasons}
<h2>Over time</h2>
<div class="charts">${charts.join('\n')}</div>
${metricRows ? `<h2>Measurements</h2><table class="data"><thead><tr><th>name</th><th>meaning</th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>max</th></tr></thead><tbody>${metricRows}</tbody></table>` : ''}
<h2>Endpoints</h2>
<table class="endpoints"><thead><tr><th>method</th><th>route</th><th>count</th><th>errors</th><th>status codes</th><th>p50</th><th>p90</th><th>p99</th><th>max</th><th>bytes in</th><th>bytes out</th></tr></thead>
<tbody>${endpointRows || '<tr><td colspan="11" class="muted">no requests</td></tr>'}</tbody></table>
<h2>Scenario: ${esc(report.mode)}</h2>
${renderValue(report.scenario)}
<h2>Options</h2>
${renderValue(report.options)}
<footer>integr8s-loadtest · report format ${report.format_version} · the same figures are in report.json</footer>
</body>
</html>
`;
}

/** Writes report.html; returns its path. */
export async function writeHtmlReport(dir: string, report: Report): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'report.html');
  await writeFile(path, renderHtml(report));
  return path;
}
