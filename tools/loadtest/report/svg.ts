/** Line charts as inline SVG strings (no library, no script): axes, grid, legend, gaps for missing values. */

export interface Series {
  name: string;
  color: string;
  /** One value per x; null leaves a gap. */
  values: (number | null)[];
  dashed?: boolean;
}

export interface ChartOptions {
  title: string;
  /** Unit shown on the y axis, e.g. `ms`, `req/s`, `MB`. */
  unit: string;
  /** x positions (seconds since the start). */
  xs: number[];
  series: Series[];
  width?: number;
  height?: number;
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** The smallest "round" number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^n) at or above v. */
export function niceCeil(v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) return 1;
  const exp = 10 ** Math.floor(Math.log10(v));
  const f = v / exp;
  const nice = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].find((n) => f <= n + 1e-9) ?? 10;
  return Number((nice * exp).toPrecision(6));
}

/** A compact number for axis labels. */
export function formatNumber(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${trim(v / 1e9)}G`;
  if (a >= 1e6) return `${trim(v / 1e6)}M`;
  if (a >= 1e4) return `${trim(v / 1e3)}k`;
  if (a >= 100 || Number.isInteger(v)) return String(Math.round(v));
  if (a >= 1) return trim(v);
  return String(Number(v.toPrecision(2)));
}

function trim(v: number): string {
  return String(Math.round(v * 10) / 10);
}

function formatSeconds(t: number): string {
  if (t < 120) return `${t}s`;
  const m = Math.floor(t / 60);
  const s = t % 60;
  return `${m}:${String(s).padStart(2, '0')}`;
}

const X_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 28_800, 86_400];

/** Renders a line chart. With no data at all it still renders the frame and says so. */
export function lineChart(opts: ChartOptions): string {
  const width = opts.width ?? 720;
  const height = opts.height ?? 230;
  const m = { left: 58, right: 16, top: 34, bottom: 30 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const xs = opts.xs;
  const xMin = xs.length > 0 ? Math.min(...xs) : 0;
  const xMax = xs.length > 0 ? Math.max(...xs, xMin + 1) : 1;
  let yMax = 0;
  for (const s of opts.series) for (const v of s.values) if (v !== null && Number.isFinite(v) && v > yMax) yMax = v;
  yMax = niceCeil(yMax * 1.05);
  const x = (t: number) => m.left + ((t - xMin) / (xMax - xMin)) * pw;
  const y = (v: number) => m.top + ph - (v / yMax) * ph;
  const parts: string[] = [];
  const label = `${opts.title} (${opts.unit})`;
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(label)}">`,
  );
  parts.push(`<text x="${m.left}" y="18" class="chart-title" font-size="14" font-weight="600">${escapeXml(opts.title)}</text>`);
  // y grid and labels
  const yTicks = 5;
  for (let i = 0; i <= yTicks; i++) {
    const v = (yMax / yTicks) * i;
    const yy = y(v).toFixed(1);
    parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${yy}" y2="${yy}" stroke="#e3e6ea" stroke-width="1"/>`);
    parts.push(`<text x="${m.left - 6}" y="${yy}" font-size="11" text-anchor="end" dominant-baseline="middle" fill="#555">${escapeXml(formatNumber(v))}</text>`);
  }
  parts.push(
    `<text transform="translate(12 ${m.top + ph / 2}) rotate(-90)" font-size="11" text-anchor="middle" fill="#555">${escapeXml(opts.unit)}</text>`,
  );
  // x ticks
  const span = xMax - xMin;
  const step = X_STEPS.find((s) => span / s <= 10) ?? Math.ceil(span / 10);
  for (let t = Math.ceil(xMin / step) * step; t <= xMax; t += step) {
    const xx = x(t).toFixed(1);
    parts.push(`<line x1="${xx}" x2="${xx}" y1="${m.top + ph}" y2="${m.top + ph + 4}" stroke="#888"/>`);
    parts.push(`<text x="${xx}" y="${m.top + ph + 16}" font-size="11" text-anchor="middle" fill="#555">${escapeXml(formatSeconds(t))}</text>`);
  }
  parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${m.top + ph}" y2="${m.top + ph}" stroke="#888"/>`);
  parts.push(`<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + ph}" stroke="#888"/>`);
  // series
  let any = false;
  for (const s of opts.series) {
    const segments: string[][] = [];
    let current: string[] = [];
    s.values.forEach((v, i) => {
      const t = xs[i];
      if (v === null || !Number.isFinite(v) || t === undefined) {
        if (current.length > 0) segments.push(current);
        current = [];
        return;
      }
      current.push(`${x(t).toFixed(1)},${y(v).toFixed(1)}`);
    });
    if (current.length > 0) segments.push(current);
    for (const seg of segments) {
      any = true;
      if (seg.length === 1) {
        const [cx, cy] = seg[0]!.split(',');
        parts.push(`<circle cx="${cx}" cy="${cy}" r="2.5" fill="${s.color}"/>`);
      } else {
        parts.push(
          `<polyline fill="none" stroke="${s.color}" stroke-width="1.8"${s.dashed ? ' stroke-dasharray="5 3"' : ''} points="${seg.join(' ')}"><title>${escapeXml(s.name)}</title></polyline>`,
        );
      }
    }
  }
  if (!any) {
    parts.push(`<text x="${m.left + pw / 2}" y="${m.top + ph / 2}" font-size="13" text-anchor="middle" fill="#888">no data</text>`);
  }
  // legend
  let lx = width - m.right;
  for (const s of [...opts.series].reverse()) {
    const w = 18 + s.name.length * 6.5;
    lx -= w + 10;
    parts.push(`<line x1="${lx.toFixed(0)}" x2="${(lx + 14).toFixed(0)}" y1="14" y2="14" stroke="${s.color}" stroke-width="3"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
    parts.push(`<text x="${(lx + 18).toFixed(0)}" y="18" font-size="11" fill="#333">${escapeXml(s.name)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}
