/**
 * Reads the target's memory use, when it tells. Tried in order, once at the start: a memory field in
 * `GET /api/v1/health/ready` (any numeric field named like `rss`, `rss_bytes`, `memory_rss_bytes`,
 * `resident_memory_bytes`, `heap_used_bytes`, or with `_mb`/`_kb` units), then a Prometheus `/metrics`
 * (`process_resident_memory_bytes` or `process_memory_rss_bytes`) at the node root or under /api/v1. If none answers, memory is left out of
 * the report. Probes are measurement overhead: they are not counted as requests.
 */

export interface MemoryProbe {
  /** Where the figure comes from, e.g. `GET /metrics process_resident_memory_bytes`. */
  source: string;
  /** The current value in bytes, or null if this read failed. */
  read(): Promise<number | null>;
}

const RSS_KEYS: [RegExp, number][] = [
  [/^(process_)?(memory_)?(rss|resident(_memory)?)(_bytes)?$/i, 1],
  [/^(process_)?(memory_)?(rss|resident(_memory)?)_kb$/i, 1024],
  [/^(process_)?(memory_)?(rss|resident(_memory)?)_mb$/i, 1024 * 1024],
  [/^heap_used(_bytes)?$/i, 1],
  [/^heap_used_mb$/i, 1024 * 1024],
];

/** Finds a memory figure (bytes) in a JSON document; RSS-like fields win over heap ones. */
export function memoryFromJson(doc: unknown): number | null {
  const found: { rank: number; bytes: number }[] = [];
  const visit = (value: unknown, depth: number) => {
    if (depth > 6 || value === null || typeof value !== 'object') return;
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      if (typeof v === 'number' && Number.isFinite(v) && v > 0) {
        RSS_KEYS.forEach(([re, unit], rank) => {
          if (re.test(key)) found.push({ rank, bytes: v * unit });
        });
      } else if (typeof v === 'object') {
        // `{ memory: { rss: … } }` style
        visit(v, depth + 1);
      }
    }
  };
  visit(doc, 0);
  found.sort((a, b) => a.rank - b.rank);
  return found[0]?.bytes ?? null;
}

/**
 * The process's RSS from a Prometheus text exposition (summed over series): `process_resident_memory_bytes` (the
 * usual client libraries) or `process_memory_rss_bytes` (this project's OpenTelemetry gauge).
 */
export function memoryFromPrometheus(text: string): number | null {
  let total: number | null = null;
  for (const line of text.split('\n')) {
    const m = /^process_(?:resident_memory|memory_rss)_bytes(?:\{[^}]*\})?\s+([0-9.eE+-]+)/.exec(line);
    if (m) total = (total ?? 0) + Number(m[1]);
  }
  return total !== null && Number.isFinite(total) ? total : null;
}

async function get(url: string): Promise<{ status: number; text: string } | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000), headers: { accept: 'application/json, text/plain' } });
    return { status: res.status, text: await res.text() };
  } catch {
    return null;
  }
}

/** Finds a way to read the target's memory, or null. `base` is the node's origin plus base path. */
export async function findMemoryProbe(base: string): Promise<MemoryProbe | null> {
  const ready = `${base}/api/v1/health/ready`;
  const first = await get(ready);
  if (first) {
    let doc: unknown;
    try {
      doc = JSON.parse(first.text);
    } catch {
      doc = undefined;
    }
    if (memoryFromJson(doc) !== null) {
      return {
        source: 'GET /api/v1/health/ready',
        read: async () => {
          const r = await get(ready);
          try {
            return r ? memoryFromJson(JSON.parse(r.text)) : null;
          } catch {
            return null;
          }
        },
      };
    }
  }
  for (const path of ['/metrics', '/api/v1/metrics']) {
    const r = await get(base + path);
    if (r && r.status === 200 && memoryFromPrometheus(r.text) !== null) {
      return {
        source: `GET ${path} process RSS`,
        read: async () => {
          const again = await get(base + path);
          return again && again.status === 200 ? memoryFromPrometheus(again.text) : null;
        },
      };
    }
  }
  return null;
}
