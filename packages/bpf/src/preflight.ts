/**
 * Can eBPF run here? Checks root/capabilities, BTF, the built addon and object, and mounts bpffs and tracefs
 * when absent (idempotent). Returns a reason a person can act on when something is missing.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { addonUnavailableReason, loadAddon, OBJECT_PATH } from './native';

export type Preflight = { ok: true } | { ok: false; reason: string };

function mounted(fsType: string, at: string): boolean {
  try {
    return fs
      .readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .some((l) => {
        const [, mountPoint, type] = l.split(' ');
        return mountPoint === at && type === fsType;
      });
  } catch {
    return false;
  }
}

function ensureMount(fsType: string, at: string): string | null {
  if (mounted(fsType, at)) return null;
  try {
    fs.mkdirSync(at, { recursive: true });
    execFileSync('mount', ['-t', fsType, fsType, at], { stdio: 'pipe' });
    return null;
  } catch (err) {
    return `${fsType} is not mounted at ${at} and mounting it failed: ${(err as Error).message.split('\n')[0]}`;
  }
}

/** Effective capability bits of this process (CAP_SYS_ADMIN=21, CAP_PERFMON=38, CAP_BPF=39). */
function hasCapabilities(): boolean {
  try {
    const line = fs
      .readFileSync('/proc/self/status', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('CapEff:'));
    const caps = BigInt(`0x${line?.split(/\s+/)[1] ?? '0'}`);
    const bit = (n: number) => (caps >> BigInt(n)) & 1n;
    return bit(21) === 1n || (bit(38) === 1n && bit(39) === 1n);
  } catch {
    return false;
  }
}

export function preflight(): Preflight {
  if (process.platform !== 'linux') return { ok: false, reason: `eBPF needs Linux (this is ${process.platform})` };
  if (!hasCapabilities()) return { ok: false, reason: 'not privileged: run as root (or with CAP_BPF + CAP_PERFMON)' };
  if (!fs.existsSync('/sys/kernel/btf/vmlinux'))
    return { ok: false, reason: 'the kernel has no BTF (/sys/kernel/btf/vmlinux is missing): CO-RE programs cannot load' };
  if (!loadAddon()) return { ok: false, reason: addonUnavailableReason() ?? 'addon not built' };
  if (!fs.existsSync(OBJECT_PATH)) return { ok: false, reason: `BPF object missing (${OBJECT_PATH}); run: npm rebuild @sextant/bpf` };
  const mountProblem = ensureMount('bpf', '/sys/fs/bpf') ?? ensureMount('tracefs', '/sys/kernel/tracing');
  if (mountProblem) return { ok: false, reason: mountProblem };
  return { ok: true };
}
