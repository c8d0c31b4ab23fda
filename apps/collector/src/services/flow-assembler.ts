/**
 * Turns kernel records into the wire model: TCP connection events, UDP aggregates and drop aggregates into
 * Flows (Hubble vocabulary, counters from the source's point of view), kernel histograms into
 * HistogramSamples. Identity comes from the resolver; a peer on this very host is named from its listener.
 */
import os from 'node:os';
import type { DropRecord, HistogramRecord, TcpConnEvent, UdpFlowRecord } from '@sextant/bpf';
import {
  SX_CLOSE_CLOSED,
  SX_CLOSE_OPEN,
  SX_CLOSE_REFUSED,
  SX_CLOSE_RESET,
  SX_CLOSE_TIMEOUT,
  SX_DIR_SERVER,
  SX_HIST_DNS,
  SX_HIST_HTTP,
  SX_HIST_KAFKA,
  SX_HIST_TCP_CONNECT,
  SX_HIST_TCP_SRTT,
  SX_TCP_ACK,
  SX_TCP_FIN,
  SX_TCP_RST,
  SX_TCP_SYN,
} from '@sextant/bpf';
import type { Endpoint, EndpointIdentity, Flow, HistogramKind, HistogramSample, PendingFlowRow } from '@sextant/shared';
import { endpointServiceName, FLOW_FIELDS, FLOW_IX } from '@sextant/shared';
import { endpointOf, type IdentityResolver } from './identity';
import { recordId } from './record-ids';
import type { ListenerTable } from './listeners';
import type { L7CoverageClassifier } from './l7-coverage';

/** Converts CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns) to epoch milliseconds. */
export class Clock {
  private offsetMs = 0;
  constructor() {
    this.calibrate();
  }
  calibrate(): void {
    this.offsetMs = Date.now() - Number(process.hrtime.bigint()) / 1e6;
  }
  toEpochMs(monoNs: bigint): number {
    return Number(monoNs) / 1e6 + this.offsetMs;
  }
}

export function localAddresses(): Set<string> {
  const out = new Set<string>(['127.0.0.1', '::1']);
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) out.add(a.address);
  return out;
}

const HIST_KIND: Record<number, HistogramKind> = {
  [SX_HIST_TCP_CONNECT]: 'tcp_connect',
  [SX_HIST_TCP_SRTT]: 'tcp_srtt',
  [SX_HIST_HTTP]: 'http',
  [SX_HIST_DNS]: 'dns',
  [SX_HIST_KAFKA]: 'kafka',
};

/** How long a closed connection's flow id stays findable (for L7 data delivered after the close). */
const CLOSED_ID_TTL_MS = 60_000;
/** At most this many closed connections are remembered (oldest forgotten first): ~2 s of 50k connections/s. */
const CLOSED_IDS_MAX = 100_000;
/** A client end of a local connection names the server's record of it when their starts are this close. */
const LOCAL_PAIR_WINDOW_NS = 30e9;
/** How long a UDP conversation keeps its flow id after it was last seen. */
const UDP_ID_TTL_MS = 300_000;

const CLOSE: Record<number, Flow['closeReason']> = {
  [SX_CLOSE_OPEN]: 'OPEN',
  [SX_CLOSE_CLOSED]: 'CLOSED',
  [SX_CLOSE_RESET]: 'RESET',
  [SX_CLOSE_REFUSED]: 'REFUSED',
  [SX_CLOSE_TIMEOUT]: 'TIMEOUT',
};

/**
 * A reset only the client sent is the client dropping its own connection (an idle keep-alive one, most
 * often): CLIENT_RESET, not an error. The socket's own view says who: a client socket that sent the RST,
 * a server socket that received it.
 */
function closeReasonOf(e: { closeReason: number; rstSent: number; rstRecv: number }, server: boolean): Flow['closeReason'] {
  if (e.closeReason !== SX_CLOSE_RESET) return CLOSE[e.closeReason] ?? 'NONE';
  const byClient = server ? e.rstRecv && !e.rstSent : e.rstSent && !e.rstRecv;
  return byClient ? 'CLIENT_RESET' : 'RESET';
}

/** The drop reason of a refused connect's record (its close reason is REFUSED). */
export const REFUSED_DROP_REASON = 'CONNECTION_REFUSED';

/** The TCP flags the kernel programs report (SX_TCP_*: bits 0–3, in TCP_FLAGS' order). */
export const KERNEL_TCP_FLAGS = SX_TCP_SYN | SX_TCP_ACK | SX_TCP_FIN | SX_TCP_RST;

/**
 * Client ends of connections between two sockets of this host: the server's record of the same connection
 * names its client from them (instead of a bare 127.0.0.1). One slot per client port, overwritten by the next
 * connection from that port, with the server port, both addresses and the start time checked on lookup. It
 * was a Map of the pairs; at tens of thousands of connections a second its inserts, deletes and evictions
 * were most of the time spent building a flow.
 */
class LocalClients {
  private readonly identity = new Array<EndpointIdentity | null>(65536).fill(null);
  private readonly serverPort = new Uint16Array(65536);
  private readonly clientIp = new Array<string>(65536).fill('');
  private readonly serverIp = new Array<string>(65536).fill('');
  private readonly startNs = new Float64Array(65536);

  remember(client: TcpConnEvent, identity: EndpointIdentity): void {
    const p = client.sport;
    this.identity[p] = identity;
    this.serverPort[p] = client.dport;
    this.clientIp[p] = client.saddr;
    this.serverIp[p] = client.daddr;
    this.startNs[p] = Number(client.startNs);
  }

  /** The identity of the client end of the server's connection `server`, or null. */
  clientOf(server: TcpConnEvent): EndpointIdentity | null {
    const p = server.dport;
    const identity = this.identity[p];
    if (!identity || this.serverPort[p] !== server.sport || this.clientIp[p] !== server.daddr || this.serverIp[p] !== server.saddr)
      return null;
    if (Math.abs(Number(server.startNs) - this.startNs[p]!) > LOCAL_PAIR_WINDOW_NS) return null;
    if (server.final) this.identity[p] = null;
    return identity;
  }
}

export class FlowAssembler {
  private readonly local = localAddresses();
  // Stable flow ids per kernel socket so interim reports, the close and L7 events share one id.
  private readonly ids = new Map<bigint, string>();
  // Closed sockets: their id for L7 data that arrives after the close, up to the close time (a later
  // connection reusing the socket address gets a new id).
  private readonly closedIds = new Map<bigint, { id: string; endNs: bigint; at: number }>();
  private readonly udpIds = new Map<string, { id: string; at: number }>();
  // Service names of client flows by cgroup, so kernel histograms (keyed by cgroup) name their source the
  // same way the flows do.
  private readonly cgroupService = new Map<string, { ip: string; identity: EndpointIdentity }>();
  private readonly localClients = new LocalClients();
  // cgroup ids as text, as identity and naming use them (BigInt to string per event is not free).
  private readonly cgroupText = new Map<bigint, string>();
  // `ip:port` identities of failed connects' unnamed destinations, shared so a batch sends each once.
  private readonly addressIdentities = new Map<string, EndpointIdentity>();

  constructor(
    private readonly nodeName: string,
    private readonly identity: IdentityResolver,
    private readonly listeners: ListenerTable,
    private readonly clock: Clock,
    /** Remember closed connections' ids for late L7 data (only useful with L7 capture on). */
    private readonly opts: { keepClosedIds?: boolean; coverage?: L7CoverageClassifier } = {},
  ) {}

  isLocal(ip: string): boolean {
    return this.local.has(ip);
  }

  toEpochMs(monoNs: bigint): number {
    return this.clock.toEpochMs(monoNs);
  }

  /** The flow id of a TCP connection by kernel socket, for L7 data seen at `tsNs` (monotonic). */
  flowIdFor(sockId: bigint, tsNs: bigint): string {
    const open = this.ids.get(sockId);
    if (open) return open;
    const closed = this.closedIds.get(sockId);
    if (closed && tsNs <= closed.endNs) return closed.id;
    const id = recordId();
    this.ids.set(sockId, id);
    return id;
  }

  /** One flow id per UDP conversation (local, remote) while it is active, shared by its flows and L7 events. */
  udpFlowIdFor(localIp: string, localPort: number, remoteIp: string, remotePort: number): string {
    const key = `${localIp}|${localPort}|${remoteIp}|${remotePort}`;
    const now = Date.now();
    const hit = this.udpIds.get(key);
    if (hit && now - hit.at < UDP_ID_TTL_MS) {
      hit.at = now;
      return hit.id;
    }
    const id = recordId();
    this.udpIds.set(key, { id, at: now });
    return id;
  }

  /** Forgets closed connections and idle UDP conversations past their TTLs. */
  expireIds(now = Date.now()): void {
    for (const [k, v] of this.closedIds) if (now - v.at > CLOSED_ID_TTL_MS) this.closedIds.delete(k);
    for (const [k, v] of this.udpIds) if (now - v.at > UDP_ID_TTL_MS) this.udpIds.delete(k);
  }

  /** The far end, named the way flows name it. */
  peerEndpoint(ip: string, port: number, serverSide: boolean): Endpoint {
    return this.peer(ip, port, serverSide);
  }

  private peer(ip: string, port: number, serverSide: boolean): Endpoint {
    return endpointOf(ip, port, this.peerIdentity(ip, port, serverSide));
  }

  /**
   * The far end: a process of this host when something here listens on that address (or, when it has
   * exited, the last named listener of the port), else a remote peer.
   */
  private peerIdentity(ip: string, port: number, serverSide: boolean): EndpointIdentity | null {
    if (!serverSide && this.isLocal(ip)) {
      const pid = this.listeners.pidOf(port);
      const last = this.listeners.lastIdentityOf(port);
      if (pid !== undefined) {
        const identity = this.identity.localIdentity({ port, pid });
        if (identity === last) return last;
        // Once killed, a listener's /proc says less (while it exits: no cwd, so no package.json name; a
        // zombie: only its comm, e.g. 'node'; then nothing), and what is read of the same pid then must
        // not rename the dead service: a pid keeps the name it was first known by on its port (a server
        // that execs another program keeps its first name there). Checked only when the identity was
        // re-read (every 10 s per process), not per connection.
        if (last && this.listeners.lastPidOf(port) === pid && (identity.service !== last.service || !this.identity.isRunning(pid)))
          return last;
        if (!identity.service) return last ?? identity;
        this.listeners.rememberIdentity(port, pid, identity);
        return identity;
      }
      if (last) return last;
    }
    return this.identity.remoteIdentity(ip);
  }

  /**
   * The destination of a connect that failed and has no name of its own: the last service that listened
   * there when it is this host, else `ip:port` as its service — never the bare address, which every other
   * failure toward that host (or toward loopback) shares.
   */
  private failedDestination(ip: string, port: number, known: EndpointIdentity | null): EndpointIdentity {
    if (known?.service || known?.names?.length) return known;
    const local = this.isLocal(ip);
    const last = local ? this.listeners.lastIdentityOf(port) : undefined;
    if (last) return last;
    const service = ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
    let identity = this.addressIdentities.get(service);
    if (!identity) {
      if (this.addressIdentities.size >= 10_000) this.addressIdentities.clear();
      identity = Object.freeze(local ? { service, hostName: this.nodeName } : { service });
      this.addressIdentities.set(service, identity);
    }
    return identity;
  }

  /**
   * A batch of TCP events as flow rows (FLOW_FIELDS, identities unresolved), in order. Rows are built
   * straight from the kernel records: at tens of thousands of connections a second, a flow object and two
   * endpoint copies per record were the collector's largest allocation. Client records are assembled first,
   * so that the server's record of a connection between two local sockets, when both are in the batch, can
   * name its client.
   */
  tcpRows(events: readonly TcpConnEvent[]): PendingFlowRow[] {
    const out = new Array<PendingFlowRow>(events.length);
    for (let i = 0; i < events.length; i++) if (events[i]!.direction !== SX_DIR_SERVER) out[i] = this.tcpRow(events[i]!);
    for (let i = 0; i < events.length; i++) if (events[i]!.direction === SX_DIR_SERVER) out[i] = this.tcpRow(events[i]!);
    return out;
  }

  private tcpRow(e: TcpConnEvent): PendingFlowRow {
    const server = e.direction === SX_DIR_SERVER;
    let pid = e.pid;
    // The kernel names the accepting process from its record of listen() calls (seeded at start with older
    // listeners); where it could not, the listener table may know.
    if (server && !pid) pid = this.listeners.pidOf(e.sport) ?? 0;
    else if (server) this.listeners.learn(e.sport, pid);
    const cgroupId = this.cgroupIdText(e.cgroupId);
    const me = this.identity.localIdentity({ port: e.sport, pid: pid || undefined, comm: e.comm || undefined, cgroupId });
    const localPeer = this.isLocal(e.daddr);
    let other: EndpointIdentity | null = null;
    if (localPeer) {
      if (!server) this.localClients.remember(e, me);
      else other = this.localClients.clientOf(e);
    }
    if (!other) other = this.peerIdentity(e.daddr, e.dport, server);
    const failed = !server && (e.closeReason === SX_CLOSE_REFUSED || e.closeReason === SX_CLOSE_TIMEOUT);
    if (failed) other = this.failedDestination(e.daddr, e.dport, other);
    // A refused connect is one record, DROPPED like the SYN the far end's kernel dropped for want of a
    // socket (on this host the probes forget that drop, so it is not a second record): Hubble users look
    // for failures with --verdict DROPPED. A connect that timed out stays FORWARDED: nothing says a drop.
    const refused = !server && e.closeReason === SX_CLOSE_REFUSED;
    if (!server && e.cgroupId > 0n && this.cgroupService.get(cgroupId)?.identity !== me) {
      if (this.cgroupService.size > 100_000) this.cgroupService.clear();
      this.cgroupService.set(cgroupId, { ip: e.saddr, identity: me });
    }
    let id = this.ids.get(e.sockId);
    if (!id) {
      id = recordId();
      if (!e.final) this.ids.set(e.sockId, id);
    } else if (e.final) this.ids.delete(e.sockId);
    if (e.final && this.opts.keepClosedIds !== false) {
      if (this.closedIds.size >= CLOSED_IDS_MAX) this.closedIds.delete(this.closedIds.keys().next().value as bigint);
      this.closedIds.set(e.sockId, { id, endNs: e.endNs, at: Date.now() });
    }
    const end = this.clock.toEpochMs(e.endNs);
    // Hubble's orientation: source is the client. The server's socket sees the client as its peer.
    // Counters from the source's point of view; kernel sequence-space accounting (bytes_acked /
    // bytes_received): payload plus SYN/FIN, at most 2 more.
    const row = new Array(FLOW_FIELDS.length) as PendingFlowRow;
    row[FLOW_IX.id] = id;
    row[FLOW_IX.time] = e.startNs > 0n ? this.clock.toEpochMs(e.startNs) : end;
    row[FLOW_IX.endTime] = end;
    row[FLOW_IX.nodeName] = this.nodeName;
    row[FLOW_IX.final] = e.final === 1;
    row[FLOW_IX.verdict] = refused ? 'DROPPED' : 'FORWARDED';
    row[FLOW_IX.dropReason] = refused ? REFUSED_DROP_REASON : null;
    row[FLOW_IX.l4Protocol] = 'TCP';
    row[FLOW_IX.ipVersion] = e.family === 6 ? 6 : 4;
    row[FLOW_IX.sourceIp] = server ? e.daddr : e.saddr;
    row[FLOW_IX.sourcePort] = server ? e.dport : e.sport;
    row[FLOW_IX.sourceRef] = server ? other : me;
    row[FLOW_IX.destinationIp] = server ? e.saddr : e.daddr;
    row[FLOW_IX.destinationPort] = server ? e.sport : e.dport;
    row[FLOW_IX.destinationRef] = server ? me : other;
    // the kernel's flag bits are TCP_FLAGS' first four (tested)
    row[FLOW_IX.tcpFlags] = e.tcpFlags & KERNEL_TCP_FLAGS;
    row[FLOW_IX.trafficDirection] = server ? 'INGRESS' : 'EGRESS';
    row[FLOW_IX.isReply] = false;
    row[FLOW_IX.bytesSent] = server ? e.bytesReceived : e.bytesAcked;
    row[FLOW_IX.bytesReceived] = server ? e.bytesAcked : e.bytesReceived;
    row[FLOW_IX.packetsSent] = server ? e.segsIn : e.segsOut;
    row[FLOW_IX.packetsReceived] = server ? e.segsOut : e.segsIn;
    row[FLOW_IX.retransmits] = e.totalRetrans;
    row[FLOW_IX.srttUs] = e.srttUs || null;
    row[FLOW_IX.connectLatencyNs] = e.connectNs > 0 ? e.connectNs : null;
    row[FLOW_IX.closeReason] = closeReasonOf(e, server);
    row[FLOW_IX.localPeer] = localPeer;
    row[FLOW_IX.l7Coverage] = e.final ? (this.opts.coverage?.classOf(e, server && localPeer) ?? null) : null;
    return row;
  }

  private cgroupIdText(id: bigint): string {
    let text = this.cgroupText.get(id);
    if (text === undefined) {
      if (this.cgroupText.size >= 10_000) this.cgroupText.clear();
      text = id.toString();
      this.cgroupText.set(id, text);
    }
    return text;
  }

  udp(u: UdpFlowRecord): Flow {
    // Without a handshake, the side with the higher (ephemeral) port is taken as the client.
    const client = u.localPort >= u.remotePort;
    const me = this.identity.localEndpoint({
      ip: u.localIp,
      port: u.localPort,
      pid: u.pid || undefined,
      comm: u.comm || undefined,
      cgroupId: u.cgroupId.toString(),
    });
    const other = this.peer(u.remoteIp, u.remotePort, !client);
    return {
      id: this.udpFlowIdFor(u.localIp, u.localPort, u.remoteIp, u.remotePort),
      time: this.clock.toEpochMs(u.firstNs),
      endTime: this.clock.toEpochMs(u.lastNs),
      final: true,
      nodeName: this.nodeName,
      verdict: 'FORWARDED',
      l4Protocol: 'UDP',
      ipVersion: u.family,
      source: client ? me : other,
      destination: client ? other : me,
      tcpFlags: [],
      trafficDirection: client ? 'EGRESS' : 'INGRESS',
      isReply: false,
      bytesSent: client ? u.bytesOut : u.bytesIn,
      bytesReceived: client ? u.bytesIn : u.bytesOut,
      packetsSent: client ? u.packetsOut : u.packetsIn,
      packetsReceived: client ? u.packetsIn : u.packetsOut,
      retransmits: 0,
      closeReason: 'NONE',
      localPeer: this.isLocal(u.remoteIp),
    };
  }

  /** A drop aggregate as one DROPPED flow (packets = dropped count); null when it has no IP addresses. */
  drop(d: DropRecord): Flow | null {
    if (!d.srcIp || !d.dstIp) return null;
    const proto = d.protocol === 6 ? 'TCP' : d.protocol === 17 ? 'UDP' : d.family === 6 ? 'ICMPv6' : 'ICMPv4';
    const localDst = this.isLocal(d.dstIp);
    // A SYN to a closed local port from another host (a local client's is forgotten by the probes: its
    // refused connect is the record) is a failed connect: its destination is named like one.
    const dst: Endpoint =
      localDst && d.protocol === 6 && d.reasonName === 'NO_SOCKET'
        ? endpointOf(d.dstIp, d.dstPort, this.failedDestination(d.dstIp, d.dstPort, null))
        : localDst
          ? { ip: d.dstIp, port: d.dstPort, hostName: this.nodeName }
          : this.identity.remoteEndpoint(d.dstIp, d.dstPort);
    const src: Endpoint =
      this.isLocal(d.srcIp) && d.cgroupId > 0n
        ? this.identity.localEndpoint({ ip: d.srcIp, port: d.srcPort, cgroupId: d.cgroupId.toString() })
        : this.identity.remoteEndpoint(d.srcIp, d.srcPort);
    return {
      id: recordId(),
      time: this.clock.toEpochMs(d.firstNs),
      endTime: this.clock.toEpochMs(d.lastNs),
      final: true,
      nodeName: this.nodeName,
      verdict: 'DROPPED',
      dropReason: d.reasonName,
      l4Protocol: proto,
      ipVersion: d.family === 6 ? 6 : 4,
      source: proto === 'TCP' || proto === 'UDP' ? src : { ip: d.srcIp },
      destination: proto === 'TCP' || proto === 'UDP' ? dst : { ip: d.dstIp },
      tcpFlags: [],
      trafficDirection: localDst ? 'INGRESS' : 'EGRESS',
      isReply: false,
      bytesSent: 0,
      bytesReceived: 0,
      packetsSent: d.count,
      packetsReceived: 0,
      retransmits: 0,
      closeReason: 'NONE',
      localPeer: false,
    };
  }

  histogram(h: HistogramRecord, windowStart: number, windowSeconds: number): HistogramSample {
    const client = this.cgroupService.get(h.cgroupId.toString());
    const src = client
      ? { ip: client.ip, ...client.identity }
      : this.identity.localEndpoint({ ip: '0.0.0.0', port: 0, cgroupId: h.cgroupId.toString() });
    const dst = this.peer(h.remoteIp, h.remotePort, false);
    return {
      kind: HIST_KIND[h.kind] ?? 'tcp_srtt',
      windowStart,
      windowSeconds,
      nodeName: this.nodeName,
      sourceService: endpointServiceName(src),
      sourceNamespace: src.namespace ?? '',
      destinationService: endpointServiceName(dst),
      destinationNamespace: dst.namespace ?? '',
      destinationIp: h.remoteIp,
      destinationPort: h.remotePort,
      idx: h.idx,
      cnt: h.cnt,
    };
  }
}
