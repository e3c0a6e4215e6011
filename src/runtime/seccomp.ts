/**
 * Docker's default seccomp policy, kept as Berth's own compact rule table, and the
 * generator that resolves it into the OCI `linux.seccomp` object for one container
 * (its architecture, kernel and capability set), the way dockerd does.
 *
 * Resolution rules (as dockerd applies them to its profile):
 *  - a rule with `exceptCaps` is dropped when the container holds any of those caps;
 *  - a rule with `onlyCaps` is kept only when the container holds all of them;
 *  - a rule with `onlyArches` is kept only on those (Go-named) architectures,
 *    `exceptArches` drops it there;
 *  - a rule with `minKernel` is kept only on kernels at least that new.
 * Kept rules are emitted in table order with just names, action, errnoRet and args.
 */
import { release } from 'node:os';
import { invalid } from '../lib/errors.js';

/** Comparison operators of libseccomp, as the OCI spec names them. */
export type SeccompOperator = 'SCMP_CMP_NE' | 'SCMP_CMP_LT' | 'SCMP_CMP_LE' | 'SCMP_CMP_EQ' | 'SCMP_CMP_GE' | 'SCMP_CMP_GT' | 'SCMP_CMP_MASKED_EQ';

/** Actions of a seccomp rule, as the OCI spec names them. */
export type SeccompAction =
  | 'SCMP_ACT_KILL'
  | 'SCMP_ACT_KILL_PROCESS'
  | 'SCMP_ACT_KILL_THREAD'
  | 'SCMP_ACT_TRAP'
  | 'SCMP_ACT_ERRNO'
  | 'SCMP_ACT_TRACE'
  | 'SCMP_ACT_ALLOW'
  | 'SCMP_ACT_LOG'
  | 'SCMP_ACT_NOTIFY';

/** One argument comparison of an OCI seccomp rule. */
export interface OciSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: SeccompOperator;
}

/** One OCI seccomp syscall rule (`linux.seccomp.syscalls[]`). */
export interface OciSeccompSyscall {
  names: string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: OciSeccompArg[];
}

/** The OCI `linux.seccomp` object. */
export interface OciSeccomp {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  syscalls?: OciSeccompSyscall[];
}

/** A rule of a Berth seccomp policy, with the conditions deciding whether it applies. */
export interface SeccompRule {
  names: readonly string[];
  action?: SeccompAction; // default SCMP_ACT_ALLOW
  errnoRet?: number;
  args?: readonly OciSeccompArg[];
  /** Kept only if the container holds every one of these capabilities. */
  onlyCaps?: readonly string[];
  /** Dropped if the container holds any of these capabilities. */
  exceptCaps?: readonly string[];
  /** Kept only on these architectures (Go names: amd64, 386, arm64, …). */
  onlyArches?: readonly string[];
  /** Dropped on these architectures. */
  exceptArches?: readonly string[];
  /** Kept only on kernels at least this version ("4.8"). */
  minKernel?: string;
  /** Dropped on kernels at least this version. */
  maxKernelBelow?: string;
}

/** A whole policy: default action, per-architecture family, rules. */
export interface SeccompPolicy {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  /** Native libseccomp architecture → the sub-architectures allowed beside it. */
  archFamilies: Readonly<Record<string, readonly string[]>>;
  rules: readonly SeccompRule[];
  flags?: readonly string[];
}

const words = (s: string): string[] => s.split(/\s+/).filter((w) => w !== '');

const EPERM = 1;
const ENOSYS = 38;

/** clone(2) flags that create namespaces: CLONE_NEWNS|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWCGROUP. */
const CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x02000000;

/** personality(2) values containers may set: PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, query. */
const PERSONALITY_VALUES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

const AF_VSOCK = 40;

/**
 * System calls any container may make, grouped by what they are for. Together these are
 * the unconditional allow-list of Docker's default profile.
 */
const ALWAYS_ALLOWED: Readonly<Record<string, string>> = {
  files: `access creat faccessat faccessat2 fadvise64 fadvise64_64 fallocate fchdir fchmod fchmodat fchmodat2
    fchown fchown32 fchownat fcntl fcntl64 fdatasync flock fstat fstat64 fstatat64 fstatfs fstatfs64 fsync
    ftruncate ftruncate64 futimesat getcwd getdents getdents64 lchown lchown32 link linkat _llseek lseek lstat
    lstat64 mkdir mkdirat mknod mknodat name_to_handle_at newfstatat open openat openat2 readahead readlink
    readlinkat rename renameat renameat2 rmdir stat stat64 statfs statfs64 statx symlink symlinkat sync
    sync_file_range syncfs truncate truncate64 umask unlink unlinkat utime utimensat utimensat_time64 utimes
    chdir chmod chown chown32 close close_range copy_file_range dup dup2 dup3 statmount listmount`,
  xattrs: `fgetxattr flistxattr fremovexattr fsetxattr getxattr getxattrat lgetxattr listxattr listxattrat
    llistxattr lremovexattr lsetxattr removexattr removexattrat setxattr setxattrat`,
  io: `read readv write writev pread64 preadv preadv2 pwrite64 pwritev pwritev2 sendfile sendfile64 splice tee
    vmsplice io_cancel io_destroy io_getevents io_pgetevents io_pgetevents_time64 io_setup io_submit
    ioctl ioprio_get ioprio_set`,
  polling: `epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old
    eventfd eventfd2 poll ppoll ppoll_time64 pselect6 pselect6_time64 select _newselect inotify_add_watch
    inotify_init inotify_init1 inotify_rm_watch fanotify_mark signalfd signalfd4 timerfd_create
    timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 pipe pipe2`,
  sockets: `accept accept4 bind connect getpeername getsockname getsockopt listen recv recvfrom recvmmsg
    recvmmsg_time64 recvmsg send sendmmsg sendmsg sendto setsockopt shutdown socketcall socketpair`,
  memory: `brk madvise map_shadow_stack membarrier memfd_create memfd_secret mincore mlock mlock2 mlockall mmap
    mmap2 mprotect mremap mseal msync munlock munlockall munmap pkey_alloc pkey_free pkey_mprotect
    remap_file_pages cachestat`,
  processes: `execve execveat exit exit_group fork vfork wait4 waitid waitpid kill tgkill tkill pidfd_open
    pidfd_send_signal process_mrelease getpid getppid gettid getpgid getpgrp getsid setpgid setsid
    set_tid_address prctl capget capset restart_syscall rseq seccomp
    get_thread_area set_thread_area set_robust_list get_robust_list getcpu getrandom uname sysinfo
    getrlimit setrlimit ugetrlimit prlimit64 getrusage getpriority setpriority times
    landlock_add_rule landlock_create_ruleset landlock_restrict_self riscv_hwprobe uretprobe`,
  identity: `getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 getresgid getresgid32
    getresuid getresuid32 getuid getuid32 setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups
    setgroups32 setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32 setuid
    setuid32`,
  signals: `pause rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend
    rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sigaltstack sigprocmask sigreturn`,
  scheduling: `sched_getaffinity sched_getattr sched_getparam sched_get_priority_max sched_get_priority_min
    sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity sched_setattr
    sched_setparam sched_setscheduler sched_yield`,
  sync: `futex futex_requeue futex_time64 futex_wait futex_waitv futex_wake`,
  time: `adjtimex alarm clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime
    clock_gettime64 clock_nanosleep clock_nanosleep_time64 getitimer gettimeofday nanosleep setitimer time
    timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64`,
  sysvIpc: `ipc msgctl msgget msgrcv msgsnd semctl semget semop semtimedop semtimedop_time64 shmat shmctl shmdt
    shmget mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend
    mq_timedsend_time64 mq_unlink`,
};

const baseAllowList = (): string[] => Object.values(ALWAYS_ALLOWED).flatMap(words).sort();

/** Docker's default policy, as Berth's own rule table. */
export const DEFAULT_POLICY: SeccompPolicy = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: EPERM,
  archFamilies: {
    SCMP_ARCH_X86_64: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    SCMP_ARCH_AARCH64: ['SCMP_ARCH_ARM'],
    SCMP_ARCH_MIPS64: ['SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64N32'],
    SCMP_ARCH_MIPS64N32: ['SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64'],
    SCMP_ARCH_MIPSEL64: ['SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64N32'],
    SCMP_ARCH_MIPSEL64N32: ['SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64'],
    SCMP_ARCH_S390X: ['SCMP_ARCH_S390'],
    SCMP_ARCH_RISCV64: [],
  },
  rules: [
    { names: baseAllowList() },
    // ptrace became safe to allow once the kernel stopped letting it bypass seccomp (4.8).
    { names: ['process_vm_readv', 'process_vm_writev', 'ptrace'], minKernel: '4.8' },
    // Any socket family but AF_VSOCK.
    { names: ['socket'], args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_NE' }] },
    ...PERSONALITY_VALUES.map((value): SeccompRule => ({ names: ['personality'], args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }] })),
    // Architecture-specific calls.
    { names: ['sync_file_range2', 'swapcontext'], onlyArches: ['ppc64le'] },
    {
      names: ['arm_fadvise64_64', 'arm_sync_file_range', 'sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls'],
      onlyArches: ['arm', 'arm64'],
    },
    { names: ['arch_prctl'], onlyArches: ['amd64', 'x32'] },
    { names: ['modify_ldt'], onlyArches: ['amd64', 'x32', 'x86'] },
    { names: ['s390_pci_mmio_read', 's390_pci_mmio_write', 's390_runtime_instr'], onlyArches: ['s390', 's390x'] },
    { names: ['riscv_flush_icache'], onlyArches: ['riscv64'] },
    // Calls a capability makes safe.
    { names: ['open_by_handle_at'], onlyCaps: ['CAP_DAC_READ_SEARCH'] },
    {
      names: words(`bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie lsm_get_self_attr
        lsm_list_modules lsm_set_self_attr mount mount_setattr move_mount open_tree perf_event_open quotactl
        quotactl_fd setdomainname sethostname setns syslog umount umount2 unshare`),
      onlyCaps: ['CAP_SYS_ADMIN'],
    },
    // Without CAP_SYS_ADMIN: clone only without namespace flags (flags are argument 1 on s390).
    {
      names: ['clone'],
      args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, op: 'SCMP_CMP_MASKED_EQ' }],
      exceptCaps: ['CAP_SYS_ADMIN'],
      exceptArches: ['s390', 's390x'],
    },
    {
      names: ['clone'],
      args: [{ index: 1, value: CLONE_NAMESPACE_FLAGS, op: 'SCMP_CMP_MASKED_EQ' }],
      onlyArches: ['s390', 's390x'],
      exceptCaps: ['CAP_SYS_ADMIN'],
    },
    // clone3 flags live in memory seccomp cannot read: make it ENOSYS so libc falls back to clone.
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS, exceptCaps: ['CAP_SYS_ADMIN'] },
    { names: ['reboot'], onlyCaps: ['CAP_SYS_BOOT'] },
    { names: ['chroot'], onlyCaps: ['CAP_SYS_CHROOT'] },
    { names: ['delete_module', 'init_module', 'finit_module'], onlyCaps: ['CAP_SYS_MODULE'] },
    { names: ['acct'], onlyCaps: ['CAP_SYS_PACCT'] },
    {
      names: ['kcmp', 'pidfd_getfd', 'process_madvise', 'process_vm_readv', 'process_vm_writev', 'ptrace'],
      onlyCaps: ['CAP_SYS_PTRACE'],
    },
    { names: ['iopl', 'ioperm'], onlyCaps: ['CAP_SYS_RAWIO'] },
    { names: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64'], onlyCaps: ['CAP_SYS_TIME'] },
    { names: ['vhangup'], onlyCaps: ['CAP_SYS_TTY_CONFIG'] },
    { names: ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node'], onlyCaps: ['CAP_SYS_NICE'] },
    { names: ['syslog'], onlyCaps: ['CAP_SYSLOG'] },
    { names: ['bpf'], onlyCaps: ['CAP_BPF'] },
    { names: ['perf_event_open'], onlyCaps: ['CAP_PERFMON'] },
  ],
};

/** Node's process.arch → Go's GOARCH (the names policies use). */
const NODE_TO_GO_ARCH: Readonly<Record<string, string>> = {
  x64: 'amd64',
  ia32: '386',
  arm64: 'arm64',
  arm: 'arm',
  s390x: 's390x',
  ppc64: 'ppc64le',
  riscv64: 'riscv64',
  mips: 'mips',
  mipsel: 'mipsle',
  loong64: 'loong64',
};

/** GOARCH → native libseccomp architecture. */
const GO_TO_SECCOMP_ARCH: Readonly<Record<string, string>> = {
  amd64: 'SCMP_ARCH_X86_64',
  '386': 'SCMP_ARCH_X86',
  arm64: 'SCMP_ARCH_AARCH64',
  arm: 'SCMP_ARCH_ARM',
  s390x: 'SCMP_ARCH_S390X',
  ppc64le: 'SCMP_ARCH_PPC64LE',
  riscv64: 'SCMP_ARCH_RISCV64',
  mips64: 'SCMP_ARCH_MIPS64',
  mips64le: 'SCMP_ARCH_MIPSEL64',
  mips: 'SCMP_ARCH_MIPS',
  mipsle: 'SCMP_ARCH_MIPSEL',
};

/** The Go architecture name of this machine. */
export function hostGoArch(): string {
  return NODE_TO_GO_ARCH[process.arch] ?? process.arch;
}

/** Options of {@link resolveSeccomp}. */
export interface ResolveSeccompOptions {
  /** Capabilities the container holds (bounding set), `CAP_`-prefixed. */
  capabilities: readonly string[];
  /** Go architecture name; defaults to this machine's. */
  arch?: string;
  /** Kernel release ("6.1.0-13-amd64"); defaults to this machine's. */
  kernel?: string;
  /** The policy; defaults to {@link DEFAULT_POLICY}. */
  policy?: SeccompPolicy;
}

/** Compare kernel releases by their leading numeric major.minor.patch; returns a >= b. */
export function kernelAtLeast(a: string, b: string): boolean {
  const parse = (v: string): number[] => {
    const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(v);
    return m ? [Number(m[1] ?? 0), Number(m[2] ?? 0), Number(m[3] ?? 0)] : [0, 0, 0];
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}

/** Resolve a policy into the OCI `linux.seccomp` object for one container. */
export function resolveSeccomp(opts: ResolveSeccompOptions): OciSeccomp {
  const policy = opts.policy ?? DEFAULT_POLICY;
  const arch = opts.arch ?? hostGoArch();
  const kernel = opts.kernel ?? release();
  const caps = new Set(opts.capabilities);
  const out: OciSeccomp = { defaultAction: policy.defaultAction };
  if (policy.defaultErrnoRet !== undefined) out.defaultErrnoRet = policy.defaultErrnoRet;
  const native = GO_TO_SECCOMP_ARCH[arch];
  if (native !== undefined) {
    const subs = policy.archFamilies[native];
    if (subs !== undefined) out.architectures = [native, ...subs];
  }
  if (policy.flags && policy.flags.length > 0) out.flags = [...policy.flags];
  const syscalls: OciSeccompSyscall[] = [];
  for (const rule of policy.rules) {
    if (rule.exceptArches?.includes(arch)) continue;
    if (rule.exceptCaps?.some((c) => caps.has(c))) continue;
    if (rule.maxKernelBelow !== undefined && kernelAtLeast(kernel, rule.maxKernelBelow)) continue;
    if (rule.onlyArches && rule.onlyArches.length > 0 && !rule.onlyArches.includes(arch)) continue;
    if (rule.onlyCaps && !rule.onlyCaps.every((c) => caps.has(c))) continue;
    if (rule.minKernel !== undefined && !kernelAtLeast(kernel, rule.minKernel)) continue;
    const call: OciSeccompSyscall = { names: [...rule.names], action: rule.action ?? 'SCMP_ACT_ALLOW' };
    if (rule.errnoRet !== undefined) call.errnoRet = rule.errnoRet;
    if (rule.args && rule.args.length > 0) call.args = rule.args.map((a) => ({ ...a }));
    syscalls.push(call);
  }
  out.syscalls = syscalls;
  return out;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const strList = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined);

/**
 * Read a custom profile in Docker's JSON format (what `--security-opt seccomp=<file>` sends:
 * the CLI inlines the file's content) into a {@link SeccompPolicy}.
 * Throws an InvalidParameter error on malformed input.
 */
export function parseDockerProfile(json: string): SeccompPolicy {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw invalid(`Decoding seccomp profile failed: ${(err as Error).message}`);
  }
  if (!isRecord(raw)) throw invalid('Decoding seccomp profile failed: not a JSON object');
  const defaultAction = raw['defaultAction'];
  if (typeof defaultAction !== 'string') throw invalid('Decoding seccomp profile failed: missing defaultAction');
  const policy: SeccompPolicy & { rules: SeccompRule[]; archFamilies: Record<string, string[]> } = {
    defaultAction: defaultAction as SeccompAction,
    archFamilies: {},
    rules: [],
  };
  if (typeof raw['defaultErrnoRet'] === 'number') policy.defaultErrnoRet = raw['defaultErrnoRet'];
  const flags = strList(raw['flags']);
  if (flags) policy.flags = flags;
  if (Array.isArray(raw['archMap'])) {
    for (const a of raw['archMap']) {
      if (isRecord(a) && typeof a['architecture'] === 'string') {
        policy.archFamilies[a['architecture']] = strList(a['subArchitectures']) ?? [];
      }
    }
  } else if (Array.isArray(raw['architectures'])) {
    // Old form: a flat list applies whatever the host.
    const list = strList(raw['architectures']) ?? [];
    for (const native of Object.values(GO_TO_SECCOMP_ARCH)) {
      if (list.includes(native)) policy.archFamilies[native] = list.filter((x) => x !== native);
    }
  }
  const calls = raw['syscalls'];
  if (calls !== undefined && calls !== null && !Array.isArray(calls)) {
    throw invalid('Decoding seccomp profile failed: syscalls is not a list');
  }
  for (const c of (calls as unknown[] | null | undefined) ?? []) {
    if (!isRecord(c)) throw invalid('Decoding seccomp profile failed: bad syscall entry');
    const names = strList(c['names']) ?? (typeof c['name'] === 'string' ? [c['name']] : []);
    if (names.length === 0) throw invalid('Decoding seccomp profile failed: syscall entry without names');
    const rule: SeccompRule & Record<string, unknown> = { names };
    if (typeof c['action'] === 'string') rule.action = c['action'] as SeccompAction;
    if (typeof c['errnoRet'] === 'number') rule.errnoRet = c['errnoRet'];
    if (Array.isArray(c['args'])) {
      rule.args = c['args'].filter(isRecord).map((a) => {
        const arg: OciSeccompArg = {
          index: Number(a['index'] ?? 0),
          value: Number(a['value'] ?? 0),
          op: String(a['op']) as SeccompOperator,
        };
        if (typeof a['valueTwo'] === 'number' && a['valueTwo'] !== 0) arg.valueTwo = a['valueTwo'];
        return arg;
      });
    }
    const inc = isRecord(c['includes']) ? c['includes'] : {};
    const exc = isRecord(c['excludes']) ? c['excludes'] : {};
    const incCaps = strList(inc['caps']);
    const incArches = strList(inc['arches']);
    const excCaps = strList(exc['caps']);
    const excArches = strList(exc['arches']);
    if (incCaps?.length) rule.onlyCaps = incCaps;
    if (incArches?.length) rule.onlyArches = incArches;
    if (excCaps?.length) rule.exceptCaps = excCaps;
    if (excArches?.length) rule.exceptArches = excArches;
    if (typeof inc['minKernel'] === 'string') rule.minKernel = inc['minKernel'];
    if (typeof exc['minKernel'] === 'string') rule.maxKernelBelow = exc['minKernel'];
    policy.rules.push(rule);
  }
  return policy;
}
