/** Real runs: what a program inside the sandbox can see and do. */
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../system/ports/sandbox.js';
import { waitFor } from '../../test/support/wait.js';
import { runScript, startScript, testSandbox } from './bwrap.fixture.js';

let sb: Sandbox;
let server: Server;
let port = 0;
let hostConnections = 0;

beforeAll(async () => {
  sb = await testSandbox();
  server = createServer((socket) => {
    hostConnections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(async () => {
  await sb.close();
  await new Promise((resolve) => server.close(resolve));
});

describe('bwrap network isolation', () => {
  it('cannot reach a server on the host loopback, nor a public address, nor resolve names', async () => {
    const script = `
import socket
for host, port in [("127.0.0.1", ${port}), ("1.1.1.1", 80), ("8.8.8.8", 53)]:
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect((host, port))
        print(host, "connected")
    except OSError as e:
        print(host, "failed", e.errno)
try:
    socket.getaddrinfo("example.com", 80)
    print("dns ok")
except OSError:
    print("dns failed")
print(sorted(name for _, name in socket.if_nameindex()))
`;
    const o = await runScript(sb, 'python', script);
    expect(o.stderr).toBe('');
    const lines = o.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^127\.0\.0\.1 failed 111$/); // ECONNREFUSED: the sandbox has its own, empty loopback
    expect(lines[1]).toMatch(/^1\.1\.1\.1 failed 101$/); // ENETUNREACH
    expect(lines[2]).toMatch(/^8\.8\.8\.8 failed 101$/);
    expect(lines[3]).toBe('dns failed');
    expect(lines[4]).toBe("['lo']");
    expect(hostConnections).toBe(0);
  });
});

describe('bwrap file system isolation', () => {
  it('cannot write outside its tmpfs; can write in the working dir, /tmp and /dev/shm', async () => {
    const script = `
import os
for path in ["/usr/x", "/etc/x", "/x", "/bin/x", "/dev/x", "/proc/x", "/etc/passwd", "/usr/bin/python3"]:
    try:
        with open(path, "a") as f:
            f.write("x")
        print(path, "WRITTEN")
    except OSError as e:
        print(path, "denied", e.strerror)
for path in ["/sandbox/ok", "/tmp/ok2", "/dev/shm/ok3", "ok4"]:
    with open(path, "w") as f:
        f.write("x")
    print(path, "ok")
`;
    const o = await runScript(sb, 'python', script);
    expect(o.stderr).toBe('');
    expect(o.stdout).not.toContain('WRITTEN');
    expect(o.stdout).toContain('/usr/x denied Read-only file system');
    expect(o.stdout).toContain('/etc/x denied Read-only file system');
    for (const p of ['/sandbox/ok', '/tmp/ok2', '/dev/shm/ok3', 'ok4']) expect(o.stdout).toContain(`${p} ok`);
  });

  it('sees only /usr and a few /etc files of the host', async () => {
    const script = `
import os
print(sorted(os.listdir("/")))
print(sorted(os.listdir("/etc")))
for p in ["/sys", "/home", "/root", "/var", "/work", "/etc/shadow", "/run"]:
    print(p, os.path.exists(p))
print(os.listdir("/sandbox"))
print(os.getcwd())
`;
    const o = await runScript(sb, 'python', script);
    const lines = o.stdout.trim().split('\n');
    expect(lines[0]).toBe("['bin', 'dev', 'etc', 'lib', 'lib64', 'proc', 'sandbox', 'sbin', 'tmp', 'usr']");
    expect(JSON.parse(lines[1]!.replace(/'/g, '"'))).toEqual(expect.arrayContaining(['passwd', 'group', 'ld.so.cache']));
    for (const line of lines.slice(2, 9)) expect(line).toMatch(/ False$/);
    expect(lines[9]).toBe("['main.py']");
    expect(lines[10]).toBe('/sandbox');
  });

  it('cannot fill more than its tmpfs size', async () => {
    const o = await runScript(sb, 'bash', 'head -c 20000000 /dev/zero > /sandbox/big\necho "status $?"\n', {
      tmpfsBytes: 8 * 1024 * 1024,
      fileBytes: 64 * 1024 * 1024,
    });
    expect(o.stderr).toContain('No space left on device');
    expect(o.stdout).toBe('status 1\n');
  });

  it("cannot see another concurrent run's files", async () => {
    const writer = `
import time
for path in ["/sandbox/secret.txt", "/tmp/secret2.txt", "/dev/shm/secret3.txt"]:
    with open(path, "w") as f:
        f.write("top secret")
print("written", flush=True)
time.sleep(30)
`;
    const a = await startScript(sb, 'python', writer, { wallMs: 40_000 });
    let seen = '';
    const aOutcome = sb.watch(a, (c) => (seen += c.text));
    await waitFor(() => seen.includes('written'), { timeoutMs: 10_000, message: 'writer ready' });
    const reader = `
import os, glob
print(sorted(glob.glob("/sandbox/*") + glob.glob("/tmp/*") + glob.glob("/dev/shm/*")))
found = []
for root in ["/", "/proc"]:
    for dirpath, dirs, files in os.walk(root):
        if dirpath.startswith(("/proc/sys", "/usr", "/proc/self", "/proc/thread-self")):
            dirs[:] = []
            continue
        found += [f for f in files if f.startswith("secret")]
print(found)
`;
    const b = await runScript(sb, 'python', reader);
    expect(b.stderr).toBe('');
    expect(b.stdout).toBe("['/sandbox/main.py', '/tmp/main.py']\n[]\n");
    await sb.stop(a);
    expect((await aOutcome).stopped).toBe(true);
  });
});

describe('bwrap process isolation', () => {
  it('shows only its own processes in /proc', async () => {
    const script = `
import os
pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
print(pids)
for p in pids:
    with open(f"/proc/{p}/cmdline", "rb") as f:
        print(p, f.read().replace(b"\\0", b" ").decode().strip())
print(os.getpid(), os.path.exists("/proc/${process.pid}"))
`;
    const o = await runScript(sb, 'python', script);
    const lines = o.stdout.trim().split('\n');
    const pids = JSON.parse(lines[0]!) as number[];
    expect(pids.length).toBeLessThanOrEqual(2); // the sandbox's init (bwrap) and this program
    expect(o.stdout).not.toMatch(/node|vitest|systemd/);
    expect(lines.at(-1)).toMatch(/^\d+ False$/);
  });

  it('runs as uid 1000 without capabilities, with no_new_privs and a seccomp filter', async () => {
    const o = await runScript(sb, 'bash', 'id -u; id -g; grep -E "^(CapEff|CapPrm|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status; hostname\n');
    expect(o.stdout).toBe(
      '1000\n1000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\nsandbox\n',
    );
  });

  it('starts with a minimal environment', async () => {
    const o = await runScript(sb, 'python', 'import os\nprint(sorted(os.environ))\nprint(os.environ["HOME"], os.environ["PATH"])\n');
    // PYTHONUNBUFFERED: a program's prints reach the live output as they happen (docs/live-output.md).
    expect(o.stdout).toBe("['HOME', 'LANG', 'PATH', 'PWD', 'PYTHONUNBUFFERED', 'TMPDIR', 'USER']\n/sandbox /usr/local/bin:/usr/bin:/bin\n");
  });

  it('refuses dangerous syscalls through seccomp (EPERM), clone3 with ENOSYS, and x32 calls', async () => {
    const script = `
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def call(name, nr, *args):
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
    if r == 0 and name == "clone":
        os._exit(0)
    print(name, r, ctypes.get_errno())
call("ptrace", 101, 0, 0, 0, 0)
call("unshare", 272, 0x10000000)
call("clone", 56, 0x10000000 | 17, 0, 0, 0, 0)
call("keyctl", 250, 0, -3, 0)
call("bpf", 321, 0, 0, 0)
call("io_uring_setup", 425, 1, 0)
call("perf_event_open", 298, 0, 0, -1, -1, 0)
call("userfaultfd", 323, 0)
call("mount", 165, 0, 0, 0, 0, 0)
call("clone3", 435, 0, 0)
call("x32_getpid", 0x40000000 + 39)
print("getpid", os.getpid() > 0)
`;
    const o = await runScript(sb, 'python', script);
    expect(o.stderr).toBe('');
    const rows = Object.fromEntries(o.stdout.trim().split('\n').map((l) => [l.split(' ')[0], l.split(' ').slice(1).join(' ')]));
    for (const name of ['ptrace', 'unshare', 'clone', 'keyctl', 'bpf', 'io_uring_setup', 'perf_event_open', 'userfaultfd', 'mount', 'x32_getpid']) {
      expect(rows[name], name).toBe('-1 1');
    }
    expect(rows.clone3).toBe('-1 38');
    expect(rows.getpid).toBe('True');
  });

  it('inherits no descriptor but stdin (its own input channel, at end of input), stdout and stderr', async () => {
    const o = await runScript(sb, 'python', 'import os, sys\nfds = sorted(int(f) for f in os.listdir("/proc/self/fd"))\nprint([f for f in fds if os.path.exists(f"/proc/self/fd/{f}")], os.readlink("/proc/self/fd/0").split(":")[0], repr(sys.stdin.read()))\n');
    expect(o.stderr).toBe('');
    expect(o.stdout).toMatch(/^\[0, 1, 2\] (socket|pipe) ''\n$/);
  });

  it('still lets programs start threads and child processes', async () => {
    const script = `
import subprocess, threading
t = threading.Thread(target=lambda: print("thread"))
t.start(); t.join()
print(subprocess.run(["/bin/echo", "child"], capture_output=True, text=True).stdout.strip())
`;
    const o = await runScript(sb, 'python', script);
    expect(o.stderr).toBe('');
    expect(o.stdout).toBe('thread\nchild\n');
  });
});
