/** The seam in front of process creation: the sandbox spawns through SpawnFn, host probes through runHost. */
import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/** Starts a process (child_process.spawn's shape); tests may pass a recording fake. */
export type SpawnFn = (file: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

/** The real spawn. */
export const nodeSpawn: SpawnFn = (file, args, options) => spawn(file, [...args], options);

/** What a finished host command printed and how it ended. */
export interface HostResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a trusted host command (version probes, the Go cache warm-up) to completion; never throws for exit codes. */
export function runHost(
  file: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; uid?: number; gid?: number } = {},
): Promise<HostResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      [...args],
      {
        env: options.env,
        cwd: options.cwd,
        uid: options.uid,
        gid: options.gid,
        timeout: options.timeoutMs ?? 10_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) || (error && code === null ? error.message : '') });
      },
    );
  });
}
