import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  BPF,
  CLONE_NAMESPACE_FLAGS,
  DEFAULT_SECCOMP_POLICY,
  X86_64_SYSCALLS,
  buildSeccompFilter,
  buildSeccompProgram,
  encodeBpf,
  type BpfInstruction,
  type SyscallName,
} from './seccomp.js';

/** A tiny classic-BPF interpreter for the instructions the generator emits; runs the program like the kernel. */
function runFilter(prog: readonly BpfInstruction[], data: { nr: number; arch: number; arg0?: number }): number {
  const word = (off: number): number => {
    if (off === BPF.OFF_NR) return data.nr >>> 0;
    if (off === BPF.OFF_ARCH) return data.arch >>> 0;
    if (off === BPF.OFF_ARG0_LO) return (data.arg0 ?? 0) >>> 0;
    throw new Error(`unexpected load offset ${off}`);
  };
  let acc = 0;
  for (let pc = 0; pc < prog.length; pc++) {
    const ins = prog[pc]!;
    switch (ins.code) {
      case BPF.LD_W_ABS: acc = word(ins.k); break;
      case BPF.JMP_JEQ_K: pc += acc === ins.k >>> 0 ? ins.jt : ins.jf; break;
      case BPF.JMP_JGE_K: pc += acc >= ins.k >>> 0 ? ins.jt : ins.jf; break;
      case BPF.JMP_JSET_K: pc += (acc & ins.k) !== 0 ? ins.jt : ins.jf; break;
      case BPF.RET_K: return ins.k >>> 0;
      default: throw new Error(`unknown opcode ${ins.code}`);
    }
  }
  throw new Error('fell off the end of the program');
}

const X86 = BPF.AUDIT_ARCH_X86_64;
const ALLOW = BPF.RET_ALLOW;
const EPERM = (BPF.RET_ERRNO | BPF.EPERM) >>> 0;
const ENOSYS = (BPF.RET_ERRNO | BPF.ENOSYS) >>> 0;
const prog = buildSeccompProgram();

describe('seccomp syscall table', () => {
  it('matches the kernel headers of this machine (asm/unistd_64.h)', () => {
    const header = readFileSync('/usr/include/x86_64-linux-gnu/asm/unistd_64.h', 'utf8');
    for (const [name, nr] of Object.entries(X86_64_SYSCALLS)) {
      const m = new RegExp(`#define __NR_${name} (\\d+)\\b`).exec(header);
      expect(m, `__NR_${name} in header`).not.toBeNull();
      expect(Number(m![1]), name).toBe(nr);
    }
  });
});

describe('buildSeccompProgram', () => {
  it('kills a process calling with another architecture (i386, x32 ABI tag differs only in nr)', () => {
    expect(runFilter(prog, { nr: 1, arch: 0x40000003 /* AUDIT_ARCH_I386 */ })).toBe(BPF.RET_KILL_PROCESS);
    expect(runFilter(prog, { nr: 1, arch: 0xc00000b7 /* AUDIT_ARCH_AARCH64 */ })).toBe(BPF.RET_KILL_PROCESS);
  });

  it('refuses every x32 syscall with EPERM', () => {
    for (const nr of [0x40000000, 0x40000000 + 39, 0x40000000 + 56, 0x7fffffff, 0xffffffff]) {
      expect(runFilter(prog, { nr, arch: X86 }), `nr ${nr}`).toBe(EPERM);
    }
  });

  it('refuses every call of the default policy with EPERM', () => {
    expect(DEFAULT_SECCOMP_POLICY.eperm.length).toBeGreaterThan(40);
    for (const name of DEFAULT_SECCOMP_POLICY.eperm) {
      expect(runFilter(prog, { nr: X86_64_SYSCALLS[name], arch: X86 }), name).toBe(EPERM);
    }
  });

  it('names the calls the platform requires to be refused', () => {
    const required: SyscallName[] = [
      'ptrace', 'mount', 'umount2', 'pivot_root', 'kexec_load', 'kexec_file_load', 'init_module', 'finit_module',
      'delete_module', 'reboot', 'swapon', 'swapoff', 'bpf', 'perf_event_open', 'keyctl', 'add_key', 'request_key',
      'unshare', 'setns', 'userfaultfd', 'io_uring_setup', 'io_uring_enter', 'io_uring_register',
      'open_by_handle_at', 'name_to_handle_at', 'acct', 'quotactl', 'syslog', 'settimeofday', 'clock_settime',
      'adjtimex', 'clock_adjtime',
    ];
    for (const name of required) expect(DEFAULT_SECCOMP_POLICY.eperm, name).toContain(name);
  });

  it('answers clone3 with ENOSYS so libc falls back to clone', () => {
    expect(runFilter(prog, { nr: X86_64_SYSCALLS.clone3, arch: X86 })).toBe(ENOSYS);
  });

  it('allows clone for threads and fork, refuses it with any namespace flag', () => {
    const CLONE_THREAD_FLAGS = 0x3d0f00; // what glibc passes for pthread_create
    const SIGCHLD = 17;
    expect(runFilter(prog, { nr: X86_64_SYSCALLS.clone, arch: X86, arg0: CLONE_THREAD_FLAGS })).toBe(ALLOW);
    expect(runFilter(prog, { nr: X86_64_SYSCALLS.clone, arch: X86, arg0: SIGCHLD })).toBe(ALLOW);
    for (let bit = 0; bit < 32; bit++) {
      const flag = (1 << bit) >>> 0;
      if ((CLONE_NAMESPACE_FLAGS & flag) === 0) continue;
      expect(runFilter(prog, { nr: X86_64_SYSCALLS.clone, arch: X86, arg0: flag | SIGCHLD }), `bit ${bit}`).toBe(EPERM);
    }
    // CLONE_NEWUSER, CLONE_NEWNET and CLONE_NEWNS are among them
    for (const flag of [0x10000000, 0x40000000, 0x00020000]) expect(CLONE_NAMESPACE_FLAGS & flag).toBe(flag);
  });

  it('allows every other x86_64 syscall number', () => {
    const special = new Set<number>([
      ...DEFAULT_SECCOMP_POLICY.eperm.map((n) => X86_64_SYSCALLS[n]),
      X86_64_SYSCALLS.clone3,
    ]);
    let allowed = 0;
    for (let nr = 0; nr < 512; nr++) {
      if (special.has(nr)) continue;
      expect(runFilter(prog, { nr, arch: X86, arg0: 0 }), `nr ${nr}`).toBe(ALLOW);
      allowed++;
    }
    expect(allowed).toBeGreaterThan(400);
  });

  it('keeps every jump forward and inside the program', () => {
    prog.forEach((ins, pc) => {
      if (ins.code === BPF.RET_K || ins.code === BPF.LD_W_ABS) return;
      expect(pc + 1 + ins.jt).toBeLessThan(prog.length);
      expect(pc + 1 + ins.jf).toBeLessThan(prog.length);
    });
    expect(prog[prog.length - 1]!.code).toBe(BPF.RET_K);
  });

  it('honours a custom policy', () => {
    const custom = buildSeccompProgram({ eperm: ['bpf'], enosys: ['io_uring_setup'], cloneFlagsDenied: 0x10000000 });
    expect(runFilter(custom, { nr: X86_64_SYSCALLS.bpf, arch: X86 })).toBe(EPERM);
    expect(runFilter(custom, { nr: X86_64_SYSCALLS.io_uring_setup, arch: X86 })).toBe(ENOSYS);
    expect(runFilter(custom, { nr: X86_64_SYSCALLS.ptrace, arch: X86 })).toBe(ALLOW);
    expect(runFilter(custom, { nr: X86_64_SYSCALLS.clone, arch: X86, arg0: 0x40000000 })).toBe(ALLOW);
    expect(runFilter(custom, { nr: X86_64_SYSCALLS.clone, arch: X86, arg0: 0x10000000 })).toBe(EPERM);
  });
});

describe('encodeBpf', () => {
  it('writes struct sock_filter little-endian, 8 bytes each', () => {
    const bytes = encodeBpf([{ code: 0x15, jt: 2, jf: 7, k: 0xc000003e }]);
    expect([...bytes]).toEqual([0x15, 0x00, 0x02, 0x07, 0x3e, 0x00, 0x00, 0xc0]);
  });

  it('encodes the whole default program', () => {
    const bytes = buildSeccompFilter();
    expect(bytes.length).toBe(prog.length * 8);
    expect(bytes.readUInt32LE(4)).toBe(BPF.OFF_ARCH);
    expect(bytes.readUInt32LE(bytes.length - 4)).toBe(ENOSYS);
  });
});
