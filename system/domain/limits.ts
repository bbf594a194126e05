/** Resource limits for one run, units in the names. The only place defaults live. */
export interface Limits {
  wallMs: number;
  cpuMs: number;
  memoryBytes: number;
  pids: number;
  /** Cap for each of stdout and stderr; output past it is dropped and flagged truncated. */
  outputBytes: number;
  /** Largest file a run may write (RLIMIT_FSIZE). */
  fileBytes: number;
  /** Size of the run's private writable tmpfs. */
  tmpfsBytes: number;
}

export const DEFAULT_LIMITS: Limits = {
  wallMs: 10_000,
  cpuMs: 10_000,
  memoryBytes: 256 * 1024 * 1024,
  pids: 64,
  outputBytes: 1024 * 1024,
  fileBytes: 16 * 1024 * 1024,
  tmpfsBytes: 64 * 1024 * 1024,
};

/** Limits resolved from configured defaults and admin overrides; later layers win, fields left out keep the earlier value. */
export function resolveLimits(...layers: Array<Partial<Limits> | undefined>): Limits {
  const out: Limits = { ...DEFAULT_LIMITS };
  for (const layer of layers) {
    if (!layer) continue;
    for (const [k, v] of Object.entries(layer) as Array<[keyof Limits, number | undefined]>) {
      if (v !== undefined) out[k] = v;
    }
  }
  return out;
}
