/**
 * The runtime commands of the catalogue, run by the process kubelet with this machine's interpreters in place of
 * the images', the project's esbuild for the typescript image's, and the go image's /opt/go-std built by its
 * own script (deploy/runtimes/go-1.23/build-std.sh) with this machine's Go.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveLimits } from '../../system/domain/limits.js';
import { startTestCluster, type TestCluster } from './kube.fixture.js';
import type { KubernetesSandbox } from './pod-sandbox.js';

const HELLO = {
  python: ['3.11', 'import sys\nprint("hello", sys.argv[0])\n', 'hello /code/main.py\n'],
  node: ['22', 'console.log("hello", require("path").basename(__filename));\n', 'hello main.js\n'],
  ruby: ['3.3', 'puts "hello #{__FILE__}"\n', 'hello /code/main.rb\n'],
  bash: ['5.2', 'echo "hello $0 $HOME $(pwd)"\n', 'hello /code/main.sh /tmp /tmp\n'],
  go: ['1.23', 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello go") }\n', 'hello go\n'],
  typescript: ['5', 'const who: string = "typescript";\nconsole.log(`hello ${who}`);\n', 'hello typescript\n'],
} as const;

describe('runtime commands in pods (process kubelet)', () => {
  let cluster: TestCluster;
  let sb: KubernetesSandbox;
  beforeAll(async () => {
    cluster = await startTestCluster('process', { goStd: true });
    sb = await cluster.sandbox();
  }, 900_000);
  afterAll(async () => cluster.close());

  it.each(Object.entries(HELLO))('%s runs its script from the ConfigMap, as uid 65532, in /tmp', async (lang, [version, script, expected]) => {
    const h = await sb.start({ executionId: `lang-${lang}`, lang: lang as keyof typeof HELLO, langVersion: version, script, limits: resolveLimits({ wallMs: 20_000, cpuMs: 20_000 }) });
    expect(await sb.watch(h)).toMatchObject({ exitCode: 0, stdout: expected, stderr: '', limit: null });
  });

  it('a TypeScript syntax error is reported with file and line, and the program does not run', async () => {
    const h = await sb.start({ executionId: 'lang-ts-error', lang: 'typescript', langVersion: '5', script: 'console.log("ran");\nconst x: = 1;\n', limits: resolveLimits() });
    const o = await sb.watch(h);
    expect(o.exitCode).toBe(1);
    expect(o.stdout).toBe('');
    expect(o.stderr).toMatch(/main\.ts:2:\d+/);
  });

  it('the program cannot write outside /tmp, and sees no network', async () => {
    const h = await sb.start({
      executionId: 'lang-ro',
      lang: 'bash',
      langVersion: '5.2',
      script: 'id -u; touch /code/x 2>/dev/null || echo ro-code; touch /opt/x 2>/dev/null || echo ro-root; touch /tmp/x && echo tmp-ok; cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " "\n',
      limits: resolveLimits(),
    });
    expect((await sb.watch(h)).stdout).toBe('65532\nro-code\nro-root\ntmp-ok\nlo\n');
  });
});
