/**
 * The sandbox's seccomp filter as a classic BPF program (what `bwrap --seccomp FD` loads), generated here
 * without libseccomp. x86_64 only: other architectures are killed, x32 calls and dangerous calls get EPERM,
 * clone() with namespace flags gets EPERM, clone3() gets ENOSYS (its flags sit in memory a filter cannot
 * read, so libc falls back to clone), everything else is allowed.
 */

/** x86_64 syscall numbers of every call the policy names (from asm/unistd_64.h; a test compares them). */
export const X86_64_SYSCALLS = {
  clone: 56,
  ptrace: 101,
  syslog: 103,
  uselib: 134,
  pivot_root: 155,
  adjtimex: 159,
  chroot: 161,
  acct: 163,
  settimeofday: 164,
  mount: 165,
  umount2: 166,
  swapon: 167,
  swapoff: 168,
  reboot: 169,
  iopl: 172,
  ioperm: 173,
  create_module: 174,
  init_module: 175,
  delete_module: 176,
  get_kernel_syms: 177,
  query_module: 178,
  quotactl: 179,
  nfsservctl: 180,
  lookup_dcookie: 212,
  clock_settime: 227,
  kexec_load: 246,
  add_key: 248,
  request_key: 249,
  keyctl: 250,
  unshare: 272,
  perf_event_open: 298,
  fanotify_init: 300,
  name_to_handle_at: 303,
  open_by_handle_at: 304,
  clock_adjtime: 305,
  setns: 308,
  process_vm_readv: 310,
  process_vm_writev: 311,
  kcmp: 312,
  finit_module: 313,
  kexec_file_load: 320,
  bpf: 321,
  userfaultfd: 323,
  io_uring_setup: 425,
  io_uring_enter: 426,
  io_uring_register: 427,
  open_tree: 428,
  move_mount: 429,
  fsopen: 430,
  fsconfig: 431,
  fsmount: 432,
  fspick: 433,
  clone3: 435,
  mount_setattr: 442,
  quotactl_fd: 443,
} as const;

/** A syscall name the policy can refer to. */
export type SyscallName = keyof typeof X86_64_SYSCALLS;

/** What the filter does besides allowing: which calls fail with EPERM or ENOSYS, which clone flags are refused. */
export interface SeccompPolicy {
  eperm: readonly SyscallName[];
  enosys: readonly SyscallName[];
  /** clone() whose flags (first argument, low 32 bits) contain any of these bits fails with EPERM. */
  cloneFlagsDenied: number;
}

/** CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET | NEWTIME: any new namespace. */
export const CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x00000080;

/** The policy every run gets: kernel, namespace, tracing, keyring, clock and io_uring calls are refused. */
export const DEFAULT_SECCOMP_POLICY: SeccompPolicy = {
  eperm: [
    'ptrace', 'process_vm_readv', 'process_vm_writev', 'kcmp',
    'mount', 'umount2', 'pivot_root', 'chroot', 'open_tree', 'move_mount', 'fsopen', 'fsconfig', 'fsmount',
    'fspick', 'mount_setattr', 'unshare', 'setns',
    'kexec_load', 'kexec_file_load', 'init_module', 'finit_module', 'delete_module', 'create_module',
    'get_kernel_syms', 'query_module', 'reboot', 'swapon', 'swapoff', 'iopl', 'ioperm', 'uselib', 'nfsservctl',
    'bpf', 'perf_event_open', 'userfaultfd', 'lookup_dcookie', 'fanotify_init',
    'keyctl', 'add_key', 'request_key',
    'io_uring_setup', 'io_uring_enter', 'io_uring_register',
    'open_by_handle_at', 'name_to_handle_at',
    'acct', 'quotactl', 'quotactl_fd', 'syslog',
    'settimeofday', 'clock_settime', 'clock_adjtime', 'adjtimex',
  ],
  enosys: ['clone3'],
  cloneFlagsDenied: CLONE_NAMESPACE_FLAGS,
};

/** Constants of the classic BPF instruction set and the seccomp ABI used by the generator. */
export const BPF = {
  LD_W_ABS: 0x20,
  JMP_JEQ_K: 0x15,
  JMP_JGE_K: 0x35,
  JMP_JSET_K: 0x45,
  RET_K: 0x06,
  RET_KILL_PROCESS: 0x80000000,
  RET_ERRNO: 0x00050000,
  RET_ALLOW: 0x7fff0000,
  AUDIT_ARCH_X86_64: 0xc000003e,
  X32_SYSCALL_BIT: 0x40000000,
  EPERM: 1,
  ENOSYS: 38,
  /** Offsets into struct seccomp_data. */
  OFF_NR: 0,
  OFF_ARCH: 4,
  OFF_ARG0_LO: 16,
} as const;

/** One classic BPF instruction (struct sock_filter). */
export interface BpfInstruction {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** The filter program for a policy, as instructions (pure; see encodeBpf for the bytes bwrap reads). */
export function buildSeccompProgram(policy: SeccompPolicy = DEFAULT_SECCOMP_POLICY): BpfInstruction[] {
  const denied = [...new Set(policy.eperm.map((name) => X86_64_SYSCALLS[name]))];
  const enosys = [...new Set(policy.enosys.map((name) => X86_64_SYSCALLS[name]))];
  // Layout: header (5) | one jeq per denied call | one jeq per ENOSYS call | clone check (3) | ALLOW | EPERM | ENOSYS.
  const checksStart = 5;
  const enosysStart = checksStart + denied.length;
  const cloneAt = enosysStart + enosys.length;
  const allowAt = cloneAt + 3;
  const epermAt = allowAt + 1;
  const enosysAt = epermAt + 1;
  const to = (from: number, target: number): number => {
    const offset = target - from - 1;
    if (offset < 0 || offset > 255) throw new Error(`seccomp jump out of range: ${offset}`);
    return offset;
  };
  const prog: BpfInstruction[] = [
    { code: BPF.LD_W_ABS, jt: 0, jf: 0, k: BPF.OFF_ARCH },
    { code: BPF.JMP_JEQ_K, jt: 1, jf: 0, k: BPF.AUDIT_ARCH_X86_64 },
    { code: BPF.RET_K, jt: 0, jf: 0, k: BPF.RET_KILL_PROCESS },
    { code: BPF.LD_W_ABS, jt: 0, jf: 0, k: BPF.OFF_NR },
    { code: BPF.JMP_JGE_K, jt: to(4, epermAt), jf: 0, k: BPF.X32_SYSCALL_BIT },
  ];
  denied.forEach((nr, i) => prog.push({ code: BPF.JMP_JEQ_K, jt: to(checksStart + i, epermAt), jf: 0, k: nr }));
  enosys.forEach((nr, i) => prog.push({ code: BPF.JMP_JEQ_K, jt: to(enosysStart + i, enosysAt), jf: 0, k: nr }));
  prog.push(
    { code: BPF.JMP_JEQ_K, jt: 0, jf: to(cloneAt, allowAt), k: X86_64_SYSCALLS.clone },
    { code: BPF.LD_W_ABS, jt: 0, jf: 0, k: BPF.OFF_ARG0_LO },
    { code: BPF.JMP_JSET_K, jt: to(cloneAt + 2, epermAt), jf: 0, k: policy.cloneFlagsDenied >>> 0 },
    { code: BPF.RET_K, jt: 0, jf: 0, k: BPF.RET_ALLOW },
    { code: BPF.RET_K, jt: 0, jf: 0, k: BPF.RET_ERRNO | BPF.EPERM },
    { code: BPF.RET_K, jt: 0, jf: 0, k: BPF.RET_ERRNO | BPF.ENOSYS },
  );
  return prog;
}

/** Instructions as the native-endian (little-endian on x86_64) bytes of struct sock_filter[]. */
export function encodeBpf(program: readonly BpfInstruction[]): Buffer {
  const out = Buffer.alloc(program.length * 8);
  program.forEach((ins, i) => {
    out.writeUInt16LE(ins.code, i * 8);
    out.writeUInt8(ins.jt, i * 8 + 2);
    out.writeUInt8(ins.jf, i * 8 + 3);
    out.writeUInt32LE(ins.k >>> 0, i * 8 + 4);
  });
  return out;
}

/** The bytes of the default filter, as bwrap --seccomp reads them. */
export function buildSeccompFilter(policy: SeccompPolicy = DEFAULT_SECCOMP_POLICY): Buffer {
  return encodeBpf(buildSeccompProgram(policy));
}
