/**
 * What SextantProbes.open sets before the object is loaded: the programs' read-only globals and the sizes of the
 * two ring buffers. A ring's pages are all resident in the collector from the moment it is mapped (the kernel
 * inserts every page at mmap, and maps the data area twice for wrap-around), so each MiB of ring is ~2 MiB of the
 * collector's RSS whether or not records flow: the L7 ring's default follows the mode.
 */
import { SX_L7_AGG_SLOTS, SX_L7_MAX_CAPTURE } from './generated/events';
import { BTF_KIND_TYPEDEF, check, loadAddon, u32, type NativeAddon } from './native';
import { L7_MODES, type L7Mode } from './l7-probes';
import type { ProbeOptions } from './probe-types';

/**
 * Default L7 ring size per mode, MiB. Signals mode copies only kept records (errors, slow, sampled within the
 * budget: ~500 records/s by default, ~0.6 MB/s), so 4 MiB holds seconds of them; full mode copies every exchange
 * (16 MiB: ~0.2 s of a flat-out keep-alive server); hooks mode emits nothing.
 */
export const DEFAULT_L7_RING_MB: Readonly<Record<L7Mode, number>> = { signals: 4, full: 16, hooks: 1 };
export const DEFAULT_TCP_RING_MB = 4;

function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
}

/** A ring size in MiB as the kernel takes it: a power of two (a multiple of the page size), 1..256. */
function ringBytes(name: string, mb: number): number {
  if (!Number.isInteger(mb) || mb < 1 || mb > 256 || (mb & (mb - 1)) !== 0)
    throw new RangeError(`${name} must be a power of two, 1..256, got ${mb}`);
  return mb << 20;
}

/** The L7 mode and ring sizes that open() will use for these options (validated; throws RangeError). */
export function resolveRings(opts: ProbeOptions): { mode: L7Mode; tcpRingBytes: number; l7RingBytes: number } {
  const mode = opts.l7Mode ?? 'signals';
  if (!(mode in L7_MODES)) throw new RangeError(`l7Mode must be full, signals or hooks, got ${String(mode)}`);
  // With L7 capture off nothing is written to the L7 ring: the smallest size keeps it from costing memory.
  const l7Mb = opts.l7RingMb ?? (opts.l7 === false ? 1 : DEFAULT_L7_RING_MB[mode]);
  return {
    mode,
    tcpRingBytes: ringBytes('tcpRingMb', opts.tcpRingMb ?? DEFAULT_TCP_RING_MB),
    l7RingBytes: ringBytes('l7RingMb', l7Mb),
  };
}

let sockTracepoints: boolean | undefined;
/**
 * Whether L7 capture can hook the socket tracepoints sock_send_length / sock_recv_length (Linux 6.3+; their BTF
 * raw tracepoint types, the typedefs btf_trace_sock_send_length / btf_trace_sock_recv_length, are in the kernel's
 * BTF) on this machine: x86_64 only (sextant_l7_sock.bpf.h reads the syscall's registers). Elsewhere, and without
 * the addon or the kernel's BTF, the send/receive syscall tracepoints are used. Looked up once per process by the
 * addon (libbpf parses the BTF in native memory and frees it), not by reading the ~5 MB BTF into a JS Buffer.
 */
export function hasSockTracepoints(): boolean {
  if (sockTracepoints === undefined) {
    const addon = process.arch === 'x64' ? loadAddon() : null;
    // (an addon built before btfHasTypes existed: the syscall tracepoints, which the collector says at start)
    const found =
      typeof addon?.btfHasTypes === 'function'
        ? addon.btfHasTypes(['btf_trace_sock_send_length', 'btf_trace_sock_recv_length'], BTF_KIND_TYPEDEF)
        : undefined;
    sockTracepoints = Array.isArray(found) && found.every(Boolean);
  }
  return sockTracepoints;
}

/**
 * Writes the globals and ring sizes of `opts` into an opened, not yet loaded object. Returns whether L7 capture
 * uses the socket tracepoints (false: the syscall tracepoints; also for an object built before they were).
 */
export function applyOpenOptions(addon: NativeAddon, handle: number, opts: ProbeOptions): { l7SockHooks: boolean } {
  const { mode, tcpRingBytes, l7RingBytes } = resolveRings(opts);
  const capture = opts.captureBytes ?? 1024;
  if (!Number.isInteger(capture) || capture < 1 || capture > SX_L7_MAX_CAPTURE)
    throw new RangeError(`captureBytes must be 1..${SX_L7_MAX_CAPTURE}, got ${capture}`);
  check('set self_tgid', addon.setGlobal(handle, 'self_tgid', u32(opts.selfPid ?? 0)));
  check('set l7_enabled', addon.setGlobal(handle, 'l7_enabled', Buffer.from([opts.l7 === false ? 0 : 1])));
  check('set update_interval_ns', addon.setGlobal(handle, 'update_interval_ns', u64(BigInt(opts.updateIntervalMs ?? 30_000) * 1_000_000n)));
  check('set capture_bytes', addon.setGlobal(handle, 'capture_bytes', u32(capture)));
  check('size sx_events', addon.setMaxEntries(handle, 'sx_events', tcpRingBytes));
  check('size sx_l7_events', addon.setMaxEntries(handle, 'sx_l7_events', l7RingBytes));
  check(
    'set capture_loopback_servers',
    addon.setGlobal(handle, 'capture_loopback_servers', Buffer.from([opts.captureLoopbackServers ? 1 : 0])),
  );
  check('set l7_mode', addon.setGlobal(handle, 'l7_mode', Buffer.from([L7_MODES[mode]])));
  if (opts.l7AggSlots !== undefined) {
    const n = opts.l7AggSlots;
    if (!Number.isInteger(n) || n < 1 || n > SX_L7_AGG_SLOTS || (n & (n - 1)) !== 0)
      throw new RangeError(`l7AggSlots must be a power of two 1..${SX_L7_AGG_SLOTS}, got ${n}`);
    check('set l7_agg_slot_mask', addon.setGlobal(handle, 'l7_agg_slot_mask', u32(n - 1)));
  }
  const hooks = opts.l7Hooks ?? (hasSockTracepoints() ? 'sock' : 'syscalls');
  if (hooks !== 'sock' && hooks !== 'syscalls') throw new RangeError(`l7Hooks must be sock or syscalls, got ${String(hooks)}`);
  // An object built before these globals (benchmarks compare builds) captures from the syscalls.
  const sock = hooks === 'sock' && addon.setGlobal(handle, 'l7_sock_hooks', Buffer.from([1])) >= 0;
  if (!sock) addon.setGlobal(handle, 'l7_sock_hooks', Buffer.from([0]));
  addon.setGlobal(handle, 'udp_flows', Buffer.from([opts.cgroupRoot ? 1 : 0]));
  return { l7SockHooks: sock && opts.l7 !== false };
}
