/** The option and record types of SextantProbes (probes.ts). */
import type { L7Mode } from './l7-probes';

export interface ProbeOptions {
  /** The collector's own pid: its connections are not observed. */
  selfPid?: number;
  /**
   * Interim reports of long-lived TCP connections at most this often, made by sweepConnections(); 0 = none
   * (the sweep program is not loaded).
   */
  updateIntervalMs?: number;
  /**
   * cgroup v2 mount point to attach the UDP peer hooks to; null = no UDP flows (none of their programs are
   * loaded).
   */
  cgroupRoot?: string | null;
  /** Ring buffer batches queued towards JS before batches are dropped (and counted). */
  maxQueuedBatches?: number;
  /** L7 capture from the send/receive calls on sockets (default on); off loads none of its programs. */
  l7?: boolean;
  /**
   * Where L7 capture hooks the send/receive calls: 'sock' = the socket tracepoints sock_send_length /
   * sock_recv_length (one program per call on a socket; Linux 6.3+, x86_64), 'syscalls' = an enter and an exit
   * tracepoint on each of the send/receive syscalls (every process's calls, sockets or not). Default: 'sock' where
   * the kernel has those tracepoints (sendmmsg / recvmmsg too: the message each run is for counted per thread, a
   * recvmmsg with a timeout not captured, its messages counted in l7MmsgTimeout).
   */
  l7Hooks?: 'sock' | 'syscalls';
  /** Bytes captured per send/receive syscall (1..SX_L7_MAX_CAPTURE, default 1024). */
  captureBytes?: number;
  /**
   * Capture the server side of connections whose client is on loopback too (default false: the client's
   * socket is captured and reports the exchange; both sides would double the work).
   */
  captureLoopbackServers?: boolean;
  /**
   * Aggregate slots per generation used in front of the aggregate hash maps (a power of two up to SX_L7_AGG_SLOTS,
   * the default): fewer make keys collide (tests: 1 puts every key but the first of a generation in the hash map).
   */
  l7AggSlots?: number;
  /**
   * 'signals' (default): HTTP/1.x exchanges aggregated in the kernel, records only where they matter (see
   * setL7Config, drainL7Aggregates); 'full': every exchange a record; 'hooks': the L7 tracepoints attached
   * but returning at once (the floor of the hooks, for benchmarks).
   */
  l7Mode?: L7Mode;
  /**
   * TLS plaintext uprobe programs loaded (default: with L7 capture). They are attached per binary file with
   * tlsProbes().attachFile; off loads none of them.
   */
  tls?: boolean;
  /** Size of the TCP connection event ring buffer in MiB: a power of two, 1..256 (default 4). */
  tcpRingMb?: number;
  /**
   * Size of the L7 capture ring buffer in MiB: a power of two, 1..256 (default by mode: signals 4, full 16,
   * hooks 1; 1 with L7 off). Each MiB costs ~2 MiB of the reader's RSS (the data area is mapped twice).
   */
  l7RingMb?: number;
  /** The compiled BPF object to load (default: the package's build/bpf/sextant.bpf.o); for comparing builds in benchmarks. */
  objectPath?: string;
}

export interface UdpFlowRecord {
  family: 4 | 6;
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
  bytesOut: number;
  packetsOut: number;
  bytesIn: number;
  packetsIn: number;
  firstNs: bigint;
  lastNs: bigint;
  cgroupId: bigint;
  pid: number;
  comm: string;
}

export interface DropRecord {
  reason: number;
  reasonName: string;
  family: number;
  protocol: number;
  srcIp: string | null;
  dstIp: string | null;
  srcPort: number;
  dstPort: number;
  count: number;
  firstNs: bigint;
  lastNs: bigint;
  cgroupId: bigint;
}

export interface HistogramRecord {
  cgroupId: bigint;
  remoteIp: string;
  remotePort: number;
  kind: number;
  /** Sparse buckets of the shared scheme. */
  idx: number[];
  cnt: number[];
}

export interface ProbeCounters {
  ringbufFull: number;
  sockMapFull: number;
  udpMapFull: number;
  histMapFull: number;
  dropMapFull: number;
  events: number;
  retransmits: number;
  /** L7 syscall records lost because their ring buffer was full. */
  l7RingbufFull: number;
  l7Events: number;
  l7SockMapFull: number;
  l7ArgsMapFull: number;
  /** Signals mode: requests that could not be stashed, and exchanges the aggregate map had no room for. */
  l7StashFull: number;
  l7AggMapFull: number;
  /** Signals mode: exchanges counted in the kernel aggregates, and those of them also recorded, by reason. */
  l7Aggregated: number;
  l7KeptError: number;
  l7KeptSlow: number;
  l7KeptCapture: number;
  l7KeptSampled: number;
  /** Signals mode: HTTP sockets switched to the full path. */
  l7FullSwitches: number;
  /** TLS plaintext not emitted: its SSL object was not paired with a socket yet (memory BIOs, first write). */
  tlsUnpaired: number;
  /** Messages of recvmmsg calls with a timeout, not captured on the socket tracepoints (which cannot see such a call end). */
  l7MmsgTimeout: number;
  /** Batches the native poller could not queue towards JS. */
  queueDroppedRecords: number;
}

/** A local TCP listener: the process that listens on a port. */
export interface ListenerRecord {
  family: 4 | 6;
  port: number;
  pid: number;
  comm: string;
}
