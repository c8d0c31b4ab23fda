/**
 * SextantProbes: loads Sextant's BPF object, attaches its tracepoints (and, for the peers of UDP sockets,
 * cgroup sock_addr hooks on the cgroup v2 root), delivers TCP connection events and L7 captures in batches
 * from their ring buffers, and reads/resets the aggregation maps (UDP flows, drops, latency histograms) and
 * counters. close() detaches everything.
 */
import { formatIp, hostAddresses, likelyLocalAddress, type HostAddress } from './addresses';
import { dropReasonName } from './drop-reasons';
import {
  decodeSxDropKey,
  decodeSxDropValue,
  decodeSxHistKey,
  decodeSxUdpKey,
  decodeSxUdpValue,
  SX_COUNTER_DROP_MAP_FULL,
  SX_COUNTER_EVENTS,
  SX_COUNTER_HIST_MAP_FULL,
  SX_COUNTER_L7_ARGS_MAP_FULL,
  SX_COUNTER_L7_MMSG_TIMEOUT,
  SX_COUNTER_L7_EVENTS,
  SX_COUNTER_L7_RINGBUF_FULL,
  SX_COUNTER_L7_SOCK_MAP_FULL,
  SX_COUNTER_L7_AGG_MAP_FULL,
  SX_COUNTER_L7_AGGREGATED,
  SX_COUNTER_L7_FULL_SWITCHES,
  SX_COUNTER_L7_KEPT_CAPTURE,
  SX_COUNTER_L7_KEPT_ERROR,
  SX_COUNTER_L7_KEPT_SAMPLED,
  SX_COUNTER_L7_KEPT_SLOW,
  SX_COUNTER_L7_STASH_FULL,
  SX_COUNTER_TLS_UNPAIRED,
  SX_COUNTER_MAX,
  SX_COUNTER_RETRANSMITS,
  SX_COUNTER_RINGBUF_FULL,
  SX_COUNTER_SOCK_MAP_FULL,
  SX_COUNTER_UDP_MAP_FULL,
  SX_L7_HEADER_SIZE,
} from './generated/events';
import { check, loadAddon, OBJECT_PATH, u32, type MapInfo, type NativeAddon } from './native';
import { applyOpenOptions } from './probe-options';
import { L7Record } from './l7-records';
import { lookupListener, seedListenerMap } from './listener-map';
import type { DropRecord, HistogramRecord, ListenerRecord, ProbeCounters, ProbeOptions, UdpFlowRecord } from './probe-types';
import { DEFAULT_L7_CONFIG, L7Signals, type L7AggregateRecord, type L7Config } from './l7-probes';
import { readTcpEvents, type TcpConnEvent } from './tcp-events';
import type { SlowEdgeThreshold } from './slow-edges';
import { TlsProbes } from './tls-probes';

export { L7Record } from './l7-records';
export {
  DEFAULT_L7_CONFIG,
  monotonicNsFromEpochMs,
  withAggregateHistograms,
  type L7AggregateRecord,
  type L7Config,
  type L7Mode,
} from './l7-probes';
export type { TcpConnEvent } from './tcp-events';
export type { SlowEdgeThreshold } from './slow-edges';
export type { DropRecord, HistogramRecord, ListenerRecord, ProbeCounters, ProbeOptions, UdpFlowRecord } from './probe-types';

/** The interim-report sweep, loaded only when interim reports are on. */
const INTERIM_PROGRAM = /^sx_sweep_connections$/;
/** UDP flow accounting: cgroup peer-address hooks, and the raw tracepoints on every socket send/receive. */
const UDP_CGROUP_PROGRAM = /^sx_udp_/;
const UDP_CGROUP_PROGRAMS = ['sx_udp_sendmsg4', 'sx_udp_sendmsg6', 'sx_udp_recvmsg4', 'sx_udp_recvmsg6'];
/** The socket send/receive tracepoints: UDP flows, and L7 capture where the kernel has them (l7Hooks 'sock'). */
const SOCK_PROGRAM = /^sx_sock_(send|recv)_length$/;
/**
 * L7 capture's syscall tracepoints, loaded only with l7Hooks 'syscalls': with 'sock' no syscall tracepoint is
 * attached at all (one would put every syscall of every process on the kernel's slow syscall path).
 */
const L7_PROGRAM = /^sx_(enter|exit)_/;
/** TLS plaintext uprobes (sextant_tls.bpf.h): loaded with L7 capture unless tls is off, attached per file. */
const TLS_PROGRAM = /^sx_tls_/;

export class SextantProbes {
  private closed = false;
  private paused = false;
  private interim = false;
  private cgroupRoot: string | null | undefined;
  private readonly maps = new Map<string, MapInfo>();
  private readonly cpus: number;
  private readonly l7Signals: L7Signals;
  private tls: TlsProbes | undefined;
  /**
   * Where L7 capture runs: 'sock' (the socket send/receive tracepoints, kernel 6.3+ on x86_64), 'syscalls' (the
   * send/receive syscall tracepoints: older kernels, about twice the kernel time per exchange), null (L7 off).
   */
  l7Hooks: 'sock' | 'syscalls' | null = null;

  private constructor(
    private readonly addon: NativeAddon,
    private readonly handle: number,
  ) {
    this.cpus = addon.numPossibleCpus();
    this.l7Signals = new L7Signals({ addon, cpus: this.cpus, map: (n) => this.map(n), drain: (n) => this.drain(n) });
  }

  static open(opts: ProbeOptions = {}): SextantProbes {
    const addon = loadAddon();
    if (!addon) throw new Error('the libbpf addon is not available; see preflight()');
    const handle = check('bpf_object__open_file', addon.open(opts.objectPath ?? OBJECT_PATH));
    const probes = new SextantProbes(addon, handle);
    let l7SockHooks = false;
    try {
      ({ l7SockHooks } = applyOpenOptions(addon, handle, opts));
      for (const name of addon.programNames(handle)) {
        const off =
          (opts.l7 === false && L7_PROGRAM.test(name)) ||
          (l7SockHooks && L7_PROGRAM.test(name)) ||
          ((opts.l7 === false || opts.tls === false) && TLS_PROGRAM.test(name)) ||
          (opts.updateIntervalMs === 0 && INTERIM_PROGRAM.test(name)) ||
          (!opts.cgroupRoot && UDP_CGROUP_PROGRAM.test(name)) ||
          (!opts.cgroupRoot && !l7SockHooks && SOCK_PROGRAM.test(name));
        if (off) check(`autoload ${name}`, addon.setAutoload(handle, name, false));
      }
      check('bpf_object__load', addon.load(handle));
      probes.l7Signals.setConfig(DEFAULT_L7_CONFIG);
      probes.cgroupRoot = opts.cgroupRoot;
      probes.attach();
    } catch (err) {
      probes.close();
      throw err;
    }
    probes.interim = opts.updateIntervalMs !== 0;
    probes.l7Hooks = opts.l7 === false ? null : l7SockHooks ? 'sock' : 'syscalls';
    return probes;
  }

  private attach(): void {
    check('attach tracepoints', this.addon.attachTracepoints(this.handle));
    if (this.cgroupRoot) {
      for (const name of UDP_CGROUP_PROGRAMS) check(`attach ${name}`, this.addon.attachCgroup(this.handle, name, this.cgroupRoot));
    }
  }

  /**
   * For benchmarks (bench:collector BENCH_PAIRED): detaches the tracepoint and cgroup programs (not the TLS uprobes),
   * keeping maps, rings and state; resume() attaches them again. Nothing meanwhile is seen (a connection closed then
   * stays in the kernel's table until its LRU evicts it). Returns how many links were detached.
   */
  pause(): number {
    if (this.closed || this.paused) return 0;
    this.paused = true;
    return check('detach programs', this.addon.detachPrograms(this.handle));
  }
  resume(): void {
    if (this.closed || !this.paused) return;
    this.paused = false;
    this.attach();
  }

  /** The TLS plaintext uprobes, attached per binary file (open with tls: false: attaching fails, ENOENT). */
  tlsProbes(): TlsProbes {
    return (this.tls ??= new TlsProbes(this.addon, this.handle, () => this.closed));
  }

  /**
   * Reports every established connection whose last report is older than the update interval and that moved
   * bytes since (SX_EVENT_TCP_UPDATE records on the TCP event stream). Returns how many were reported; 0
   * when interim reports are off. The collector calls this a few times per update interval.
   */
  sweepConnections(): number {
    if (!this.interim || this.closed) return 0;
    return check('run sx_sweep_connections', this.addon.runProgram(this.handle, 'sx_sweep_connections'));
  }

  private map(name: string): MapInfo {
    let m = this.maps.get(name);
    if (!m) {
      m = check(`map ${name}`, this.addon.mapInfo(this.handle, name));
      this.maps.set(name, m);
    }
    return m;
  }

  /**
   * The process listening on a local TCP port (IPv4 first, then IPv6), as the kernel saw it call listen(), or
   * as seeded by seedListeners. One map lookup per family.
   */
  listener(port: number): ListenerRecord | undefined {
    // A batch the native poller queued before close() can still be handed over after it: its map is gone.
    if (this.closed) return undefined;
    return lookupListener(this.addon, this.map('sx_listeners'), port);
  }

  /**
   * Tells the kernel side about listeners that were already listening when the probes were loaded (found in
   * /proc), so that connections they accept carry their process too. What the kernel learned itself stays;
   * a full map (16,384 listeners) ends the seeding, the rest are named from /proc by the collector. Returns how
   * many were added.
   */
  seedListeners(listeners: readonly ListenerRecord[]): number {
    return seedListenerMap(this.addon, this.map('sx_listeners'), listeners);
  }

  /**
   * Starts delivering TCP connection events (close and interim updates) in batches, at most maxQueuedBatches of them
   * in one turn of the event loop (ringbuf.cc).
   */
  onTcpEvents(cb: (events: TcpConnEvent[]) => void, maxQueuedBatches = 16): void {
    check(
      'ring_buffer__new',
      this.addon.ringbufStart(this.handle, 'sx_events', (buf, count) => cb(readTcpEvents(buf, count)), maxQueuedBatches),
    );
  }

  /**
   * Starts delivering captured send/receive syscalls (L7) in batches. Records are views over the batch:
   * the hot fields are read directly, addresses are decoded only when asked for (once per connection). One batch a
   * turn of the event loop by default: the collector's timers and I/O run between batches, however far behind it is.
   */
  onL7Events(cb: (events: L7Record[]) => void, maxQueuedBatches = 1): void {
    check(
      'ring_buffer__new',
      this.addon.ringbufStart(
        this.handle,
        'sx_l7_events',
        (buf, count) => {
          const events: L7Record[] = [];
          let off = 0;
          for (let i = 0; i < count && off + 4 <= buf.length; i++) {
            const len = buf.readUInt32LE(off);
            if (len >= SX_L7_HEADER_SIZE) events.push(new L7Record(buf, off + 4, len));
            off += 4 + len;
          }
          cb(events);
        },
        maxQueuedBatches,
      ),
    );
  }

  /**
   * The signals mode's settings (sx_l7_config): slow threshold, on-demand capture until (CLOCK_MONOTONIC ns, see
   * monotonicNsFromEpochMs), and the per-host budget of sampled successes per second (budget_per_cpu =
   * ceil(budget / possible CPUs)). Defaults at open: DEFAULT_L7_CONFIG.
   */
  setL7Config(cfg: L7Config): void {
    this.l7Signals.setConfig(cfg);
  }

  /** Per-edge slow thresholds (sx_l7_slow) replace the previous ones; returns how many edges the kernel holds. */
  setL7SlowEdges(edges: readonly SlowEdgeThreshold[]): number {
    return this.l7Signals.setSlowEdges(edges);
  }

  /**
   * Reads and resets the HTTP aggregates of the signals mode: flips the generation programs write, waits ~20 ms
   * for programs in flight, then reads and deletes every entry of the previous generation (nothing is lost).
   */
  drainL7Aggregates(): Promise<L7AggregateRecord[]> {
    return this.l7Signals.drain();
  }

  /** All keys of a hash map, then each entry looked up and deleted atomically. */
  private drain(name: string, valueSize?: number): [Buffer, Buffer][] {
    const m = this.map(name);
    const keys: Buffer[] = [];
    let key: Buffer | null = null;
    for (let i = 0; i < m.maxEntries + 1; i++) {
      const next: Buffer | null = check<Buffer | null>(`next key ${name}`, this.addon.mapNextKey(m.fd, key, m.keySize));
      if (!next) break;
      keys.push(next);
      key = next;
    }
    const out: [Buffer, Buffer][] = [];
    for (const k of keys) {
      const v = check(`lookup_and_delete ${name}`, this.addon.mapLookup(m.fd, k, valueSize ?? m.valueSize, true));
      if (v) out.push([k, v]);
    }
    return out;
  }

  /**
   * Reads and resets the UDP aggregates. A socket bound to "any" has no local address of its own: the likely
   * one towards the peer is filled in (see likelyLocalAddress).
   */
  drainUdpFlows(): UdpFlowRecord[] {
    let host: HostAddress[] | undefined;
    return this.drain('sx_udp').map(([k, v]) => {
      const key = decodeSxUdpKey(k);
      const val = decodeSxUdpValue(v);
      const family = key.family === 6 ? 6 : 4;
      const remoteIp = formatIp(key.raddr, family);
      let localIp = formatIp(key.laddr, family);
      if (localIp === '0.0.0.0' || localIp === '::') localIp = likelyLocalAddress(remoteIp, (host ??= hostAddresses()));
      return {
        family,
        localIp,
        localPort: key.lport,
        remoteIp,
        remotePort: key.rport,
        bytesOut: Number(val.bytesOut),
        packetsOut: Number(val.packetsOut),
        bytesIn: Number(val.bytesIn),
        packetsIn: Number(val.packetsIn),
        firstNs: val.firstNs,
        lastNs: val.lastNs,
        cgroupId: val.cgroupId,
        pid: val.pid,
        comm: val.comm,
      };
    });
  }

  drainDrops(): DropRecord[] {
    return this.drain('sx_drops').map(([k, v]) => {
      const key = decodeSxDropKey(k);
      const val = decodeSxDropValue(v);
      return {
        reason: key.reason,
        reasonName: dropReasonName(key.reason),
        family: key.family,
        protocol: key.protocol,
        srcIp: key.family ? formatIp(key.saddr, key.family) : null,
        dstIp: key.family ? formatIp(key.daddr, key.family) : null,
        srcPort: key.sport,
        dstPort: key.dport,
        count: Number(val.count),
        firstNs: val.firstNs,
        lastNs: val.lastNs,
        cgroupId: val.cgroupId,
      };
    });
  }

  /**
   * Reads and resets the latency histograms (shared bucket scheme), sparse. In signals mode the HTTP client latency
   * of an aggregated exchange is only in its aggregate: withAggregateHistograms adds the drained aggregates'.
   */
  readAndResetHistograms(): HistogramRecord[] {
    return this.drain('sx_hist').map(([k, v]) => {
      const key = decodeSxHistKey(k);
      const idx: number[] = [];
      const cnt: number[] = [];
      for (let i = 0; i * 8 < v.length; i++) {
        const c = Number(v.readBigUInt64LE(i * 8));
        if (c > 0) {
          idx.push(i);
          cnt.push(c);
        }
      }
      return {
        cgroupId: key.cgroupId,
        remoteIp: formatIp(key.raddr, key.family === 6 ? 6 : 4),
        remotePort: key.rport,
        kind: key.kind,
        idx,
        cnt,
      };
    });
  }

  /** Counters summed over CPUs (monotonic since load). */
  readCounters(): ProbeCounters {
    const m = this.map('sx_counters');
    const stride = Math.ceil(m.valueSize / 8) * 8;
    const sums: number[] = [];
    for (let i = 0; i < SX_COUNTER_MAX; i++) {
      const v = check('counters', this.addon.mapLookup(m.fd, u32(i), stride * this.cpus));
      let s = 0;
      for (let c = 0; v && c < this.cpus; c++) s += Number(v.readBigUInt64LE(c * stride));
      sums.push(s);
    }
    const q = this.addon.ringbufStats(this.handle);
    return {
      ringbufFull: sums[SX_COUNTER_RINGBUF_FULL] ?? 0,
      sockMapFull: sums[SX_COUNTER_SOCK_MAP_FULL] ?? 0,
      udpMapFull: sums[SX_COUNTER_UDP_MAP_FULL] ?? 0,
      histMapFull: sums[SX_COUNTER_HIST_MAP_FULL] ?? 0,
      dropMapFull: sums[SX_COUNTER_DROP_MAP_FULL] ?? 0,
      events: sums[SX_COUNTER_EVENTS] ?? 0,
      retransmits: sums[SX_COUNTER_RETRANSMITS] ?? 0,
      l7RingbufFull: sums[SX_COUNTER_L7_RINGBUF_FULL] ?? 0,
      l7Events: sums[SX_COUNTER_L7_EVENTS] ?? 0,
      l7SockMapFull: sums[SX_COUNTER_L7_SOCK_MAP_FULL] ?? 0,
      l7ArgsMapFull: sums[SX_COUNTER_L7_ARGS_MAP_FULL] ?? 0,
      l7StashFull: sums[SX_COUNTER_L7_STASH_FULL] ?? 0,
      l7AggMapFull: sums[SX_COUNTER_L7_AGG_MAP_FULL] ?? 0,
      l7Aggregated: sums[SX_COUNTER_L7_AGGREGATED] ?? 0,
      l7KeptError: sums[SX_COUNTER_L7_KEPT_ERROR] ?? 0,
      l7KeptSlow: sums[SX_COUNTER_L7_KEPT_SLOW] ?? 0,
      l7KeptCapture: sums[SX_COUNTER_L7_KEPT_CAPTURE] ?? 0,
      l7KeptSampled: sums[SX_COUNTER_L7_KEPT_SAMPLED] ?? 0,
      l7FullSwitches: sums[SX_COUNTER_L7_FULL_SWITCHES] ?? 0,
      tlsUnpaired: sums[SX_COUNTER_TLS_UNPAIRED] ?? 0,
      l7MmsgTimeout: sums[SX_COUNTER_L7_MMSG_TIMEOUT] ?? 0,
      queueDroppedRecords: q.droppedRecords,
    };
  }

  /** Detaches every program and frees the object (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.addon.close(this.handle);
  }
}
