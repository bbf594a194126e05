/** The process seam, and our own faults (not the program's) surfacing as SandboxFault. */
import type { SpawnOptions } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveLimits } from '../../system/domain/limits.js';
import { SandboxFault } from '../../system/ports/sandbox.js';
import { createTempDir, type TempDir } from '../../test/support/temp-dir.js';
import { waitFor } from '../../test/support/wait.js';
import { startScript, testSandbox } from './bwrap.fixture.js';
import { nodeSpawn, type SpawnFn } from './process.js';

let dir: TempDir;
beforeAll(async () => {
  dir = await createTempDir('integr8s-bwrap-faults-');
  chmodSync(dir.path, 0o755); // the launcher runs as nobody
});
afterAll(async () => {
  await dir.cleanup();
});

describe('bwrap process seam', () => {
  it('starts launchers through the seam: bash as nobody with six fds and only the bwrap path as argument', async () => {
    const calls: Array<{ file: string; args: readonly string[]; options: SpawnOptions }> = [];
    const recording: SpawnFn = (file, args, options) => {
      calls.push({ file, args, options });
      return nodeSpawn(file, args, options);
    };
    const sb = await testSandbox({ spawn: recording, standby: 1 });
    try {
      expect(calls).toHaveLength(1); // the standby launcher, started before any run
      const handle = await startScript(sb, 'python', 'print("seam")\n');
      expect((await sb.watch(handle)).stdout).toBe('seam\n');
      await waitFor(() => calls.length === 2, { message: 'replacement launcher' });
      for (const { file, args, options } of calls) {
        expect(file).toBe('/bin/bash');
        expect(args.slice(2)).toEqual(['sandbox-launcher', '/usr/bin/bwrap']);
        expect(options.uid).toBe(65534);
        expect(options.gid).toBe(65534);
        expect(options.stdio).toEqual(['pipe', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe']);
        expect(options.env).toEqual({ PATH: '/usr/bin:/bin' });
      }
    } finally {
      await sb.close();
    }
  });

  it('hands bwrap the isolation flags, the script fd and the seccomp fd (seen by a stub bwrap)', async () => {
    const stub = join(dir.path, 'bwrap-echo');
    writeFileSync(stub, '#!/bin/sh\necho "$*"\ntr "\\0" "\\n" <&5\n');
    chmodSync(stub, 0o755);
    for (const standby of [0, 1]) {
      const sb = await testSandbox({ bwrapPath: stub, standby });
      try {
        const o = await sb.watch(await startScript(sb, 'python', 'print(1)\n'));
        const lines = o.stdout.split('\n');
        expect(lines[0]).toBe('--args 5 -- /usr/bin/python3 main.py');
        const options = lines.slice(1, -1);
        for (const flag of ['--unshare-all', '--unshare-user', '--die-with-parent', '--new-session', '--clearenv']) expect(options).toContain(flag);
        expect(options.join(' ')).toContain('--seccomp 4');
        expect(options.join(' ')).toContain('--file 3 /sandbox/main.py');
        expect(options.at(-1)).toBe('/sandbox'); // --chdir /sandbox closes the options
      } finally {
        await sb.close();
      }
    }
  });
});

describe('bwrap faults', () => {
  it('turns a failing bwrap set-up into a SandboxFault, not a program failure', async () => {
    const stub = join(dir.path, 'bwrap-stub');
    writeFileSync(stub, '#!/bin/sh\necho "bwrap: Can\'t mount proc on /newroot/proc: Operation not permitted" >&2\nexit 1\n');
    chmodSync(stub, 0o755);
    const sb = await testSandbox({ bwrapPath: stub });
    try {
      const handle = await startScript(sb, 'python', 'print(1)\n');
      await expect(sb.watch(handle)).rejects.toThrow(SandboxFault);
      await expect(sb.watch(handle)).rejects.toThrow(/Can't mount proc/);
    } finally {
      await sb.close();
    }
  });

  it('rejects start with a SandboxFault when the launcher cannot be spawned', async () => {
    const broken: SpawnFn = (_file, args, options) => nodeSpawn('/nonexistent/sh', args, options);
    const sb = await testSandbox({ spawn: broken, standby: 0 });
    try {
      await expect(startScript(sb, 'python', 'print(1)\n')).rejects.toThrow(SandboxFault);
    } finally {
      await sb.close();
    }
  });

  it('rejects a runtime version that is not installed', async () => {
    const sb = await testSandbox();
    try {
      const spec = { executionId: 'x', lang: 'python' as const, langVersion: '2.7', script: 'print 1', limits: resolveLimits() };
      await expect(sb.start(spec)).rejects.toThrow(/python 2\.7 is not installed/);
    } finally {
      await sb.close();
    }
  });

  it('keeps sandbox-visible files in the fallback dir when the bwrap user cannot read the work dir', async () => {
    const privateDir = await createTempDir('integr8s-private-'); // mkdtemp makes it 0700, root's
    try {
      const fallbackDir = join(dir.path, 'fallback');
      const sb = await testSandbox({ workDir: join(privateDir.path, 'work'), fallbackDir });
      try {
        const o = await sb.watch(await startScript(sb, 'bash', 'whoami\n'));
        expect(o.stdout).toBe('sandbox\n');
        expect(readFileSync(join(fallbackDir, 'etc', 'passwd'), 'utf8')).toContain('sandbox:x:1000');
      } finally {
        await sb.close();
      }
      const unreachable = join(privateDir.path, 'also-private');
      await expect(testSandbox({ workDir: join(privateDir.path, 'work'), fallbackDir: unreachable })).rejects.toThrow(/readable by uid 65534/);
    } finally {
      await privateDir.cleanup();
    }
  });

  it('refuses to start without bubblewrap or cgroups', async () => {
    await expect(testSandbox({ bwrapPath: '/nonexistent/bwrap' })).rejects.toThrow(/bubblewrap not found/);
    await expect(testSandbox({ cgroupMount: '/nonexistent' })).rejects.toThrow(/not mounted/);
  });
});
