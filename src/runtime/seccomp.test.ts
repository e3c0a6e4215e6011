import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_POLICY, kernelAtLeast, parseDockerProfile, resolveSeccomp, type OciSeccomp } from './seccomp.js';
import { DEFAULT_CAPABILITIES, ALL_CAPABILITIES } from './capabilities.js';

/** The repository root: the nearest ancestor of this file holding package.json. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}
const referencePath = join(repoRoot(), '..', 'shared', 'reference', 'seccomp-default.json');

/** A canonical, order-insensitive view of a resolved profile. */
function canon(s: OciSeccomp): string[] {
  return (s.syscalls ?? []).flatMap((r) => r.names.map((n) => `${n} ${r.action} ${r.errnoRet ?? ''} ${JSON.stringify(r.args ?? [])}`)).sort();
}

test('default policy resolution on amd64 with default caps', () => {
  const s = resolveSeccomp({ capabilities: DEFAULT_CAPABILITIES, arch: 'amd64', kernel: '6.1.0' });
  assert.equal(s.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(s.defaultErrnoRet, 1);
  assert.deepEqual(s.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  const allowed = new Set((s.syscalls ?? []).filter((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args).flatMap((r) => r.names));
  for (const n of ['read', 'write', 'execve', 'arch_prctl', 'modify_ldt', 'ptrace', 'chroot']) assert.ok(allowed.has(n), n);
  for (const n of ['mount', 'unshare', 'setns', 'reboot', 'bpf', 'init_module', 'kexec_load', 'open_by_handle_at']) {
    assert.ok(!allowed.has(n), n);
  }
  const clone = (s.syscalls ?? []).find((r) => r.names.includes('clone'));
  assert.deepEqual(clone?.args, [{ index: 0, value: 2114060288, op: 'SCMP_CMP_MASKED_EQ' }]);
  const clone3 = (s.syscalls ?? []).find((r) => r.names.includes('clone3'));
  assert.deepEqual(clone3, { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 });
  const pers = (s.syscalls ?? []).filter((r) => r.names.includes('personality')).map((r) => r.args?.[0]?.value);
  assert.deepEqual(pers, [0, 8, 131072, 131080, 4294967295]);
});

test('capability groups and kernel/arch conditions', () => {
  const all = resolveSeccomp({ capabilities: ALL_CAPABILITIES, arch: 'amd64', kernel: '6.1' });
  const names = new Set((all.syscalls ?? []).filter((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args).flatMap((r) => r.names));
  for (const n of ['mount', 'bpf', 'reboot', 'init_module', 'iopl', 'settimeofday', 'syslog', 'perf_event_open']) {
    assert.ok(names.has(n), n);
  }
  assert.ok(!(all.syscalls ?? []).some((r) => r.names.includes('clone3') && r.action === 'SCMP_ACT_ERRNO'));
  const old = resolveSeccomp({ capabilities: DEFAULT_CAPABILITIES, arch: 'amd64', kernel: '4.4.0' });
  assert.ok(!(old.syscalls ?? []).some((r) => r.names.includes('ptrace')));
  const arm = resolveSeccomp({ capabilities: DEFAULT_CAPABILITIES, arch: 'arm64', kernel: '6.1' });
  assert.deepEqual(arm.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  assert.ok((arm.syscalls ?? []).some((r) => r.names.includes('cacheflush')));
  assert.ok(!(arm.syscalls ?? []).some((r) => r.names.includes('arch_prctl')));
  const s390 = resolveSeccomp({ capabilities: DEFAULT_CAPABILITIES, arch: 's390x', kernel: '6.1' });
  assert.equal((s390.syscalls ?? []).find((r) => r.names.includes('clone'))?.args?.[0]?.index, 1);
  assert.ok(kernelAtLeast('6.18.44-fc', '4.8'));
  assert.ok(!kernelAtLeast('4.4.0-generic', '4.8'));
  assert.ok(kernelAtLeast('4.8', '4.8'));
});

test('matches the reference profile resolution (when the reference is present)', (t) => {
  if (!existsSync(referencePath)) {
    t.skip(`no reference at ${referencePath}`);
    return;
  }
  const reference = parseDockerProfile(readFileSync(referencePath, 'utf8'));
  for (const arch of ['amd64', 'arm64', 's390x', 'riscv64']) {
    for (const caps of [DEFAULT_CAPABILITIES, ALL_CAPABILITIES, ['CAP_SYS_PTRACE'], []]) {
      for (const kernel of ['6.1.0', '4.4.0']) {
        const ours = resolveSeccomp({ capabilities: caps, arch, kernel });
        const theirs = resolveSeccomp({ capabilities: caps, arch, kernel, policy: reference });
        assert.deepEqual(canon(ours), canon(theirs), `${arch} ${caps.length} caps ${kernel}`);
        assert.deepEqual(ours.architectures, theirs.architectures);
        assert.equal(ours.defaultAction, theirs.defaultAction);
        assert.equal(ours.defaultErrnoRet, theirs.defaultErrnoRet);
      }
    }
  }
  // The rule table itself: same number of rules, same order of conditions.
  assert.equal(DEFAULT_POLICY.rules.length, reference.rules.length);
});

test('parseDockerProfile rejects garbage', () => {
  assert.throws(() => parseDockerProfile('{'), /Decoding seccomp profile failed/);
  assert.throws(() => parseDockerProfile('[]'), /Decoding seccomp profile failed/);
  assert.throws(() => parseDockerProfile('{"syscalls":[]}'), /missing defaultAction/);
});
