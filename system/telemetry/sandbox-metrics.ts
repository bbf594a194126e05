/**
 * The Sandbox port with metrics, for either backend: programs started, our own faults (a start or a watch that
 * threw), and the CPU time, wall time and peak memory every finished program used, from its outcome's usage.
 */
import type { LimitReason, OutputChunk, Sandbox, SandboxHandle, SandboxOutcome } from '../ports/sandbox.js';
import { sandboxMetrics } from './instruments.js';

const LIMIT_REASONS = ['memory', 'pids', 'cpu_time', 'file_size', 'wall_time'] as const satisfies readonly LimitReason[];

/** `sandbox`, recording into sandboxMetrics; everything else passes through unchanged. */
export function instrumentSandbox(sandbox: Sandbox): Sandbox {
  sandboxMetrics.known(
    sandbox.backend,
    sandbox.runtimes.list().map((r) => r.lang),
    LIMIT_REASONS,
  );
  /** The language of each started run, by handle id, until its outcome is in (a re-attached run's is unknown). */
  const langs = new Map<string, string>();
  const instrumented: Sandbox = {
    get backend() {
      return sandbox.backend;
    },
    get reattachableElsewhere() {
      return sandbox.reattachableElsewhere;
    },
    get runtimes() {
      return sandbox.runtimes;
    },
    async start(spec) {
      let handle: SandboxHandle;
      try {
        handle = await sandbox.start(spec);
      } catch (error) {
        sandboxMetrics.failed(sandbox.backend, 'start');
        throw error;
      }
      sandboxMetrics.started(sandbox.backend, spec.lang);
      langs.set(handle.id, spec.lang);
      return handle;
    },
    async watch(handle: SandboxHandle, onOutput?: (chunk: OutputChunk) => void): Promise<SandboxOutcome> {
      const lang = langs.get(handle.id) ?? 'unknown';
      let outcome: SandboxOutcome;
      try {
        outcome = await sandbox.watch(handle, onOutput);
      } catch (error) {
        sandboxMetrics.failed(sandbox.backend, 'watch');
        throw error;
      } finally {
        langs.delete(handle.id);
      }
      const { usage } = outcome;
      sandboxMetrics.finished(
        lang,
        {
          cpuSeconds: usage.clk_tck_hertz > 0 ? usage.cpu_time_jiffies / usage.clk_tck_hertz : 0,
          wallSeconds: usage.execution_time_wall_seconds,
          peakMemoryBytes: usage.peak_memory_kb * 1024,
        },
        outcome.limit,
      );
      return outcome;
    },
    stop: (handle) => sandbox.stop(handle),
    write: (handle, data, eof) => sandbox.write(handle, data, eof),
    reattach: (handle) => sandbox.reattach(handle),
    ready: () => sandbox.ready(),
    close: () => sandbox.close(),
  };
  if (sandbox.scope) instrumented.scope = (partitions) => sandbox.scope!(partitions);
  return instrumented;
}
