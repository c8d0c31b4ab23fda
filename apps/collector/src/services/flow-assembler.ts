/**
 * Turns kernel records into the wire model (Hubble vocabulary, counters from the source's point of view): TCP
 * connection events into flow rows, here, on the per-connection path; UDP conversations, drops and histograms,
 * a few per second, into objects (aggregate-flows.ts); the far end named by peer-naming.ts. Identity comes from the
 * resolver. Also the flow ids connections and their L7 records share.
 */
import type { DropRecord, HistogramRecord, TcpConnEvent, UdpFlowRecord } from '@sextant/bpf';
import { SX_CLOSE_CLOSED, SX_CLOSE_OPEN, SX_CLOSE_REFUSED, SX_CLOSE_RESET, SX_CLOSE_TIMEOUT, SX_DIR_SERVER } from '@sextant/bpf';
import { SX_TCP_ACK, SX_TCP_FIN, SX_TCP_RST, SX_TCP_SYN } from '@sextant/bpf';
import type { Endpoint, EndpointIdentity, Flow, HistogramSample, PendingFlowRow } from '@sextant/shared';
import { FLOW_FIELDS, FLOW_IX } from '@sextant/shared';
import { AggregateFlows } from './aggregate-flows';
import type { Clock } from './clock';
import { ClosedConnections } from './closed-connections';
import { endpointOf, type IdentityResolver, type LocalSocket } from './identity';
import type { L7CoverageClassifier } from './l7-coverage';
import type { ListenerTable } from './listeners';
import { PeerNaming } from './peer-naming';
import { recordId } from './record-ids';

export { Clock, localAddresses } from './clock';

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

/** Open connections' ids kept per socket address at most (the oldest dropped): closes read far behind their data. */
const MAX_OPEN_PER_ADDRESS = 4096;

/** An open connection's flow id: when it was first seen (monotonic ns) and its socket inode (0n: not known). */
interface OpenId {
  id: string;
  ns: number;
  ino: bigint;
}

export class FlowAssembler {
  // Flow ids of open connections per kernel socket address, so interim reports, the close and L7 events share one
  // id. The kernel reuses an address at once and the two rings are not ordered, so an address can hold the ids of
  // several connections at a time: each entry says when its connection was first seen (its start from an interim
  // report, or its first L7 data: monotonic ns) and, when L7 data made it, the socket inode, which tells connections
  // apart where times cannot (an earlier connection whose close has not been read yet).
  private readonly ids = new Map<bigint, OpenId[]>();
  // Closed connections: their id for L7 data that arrives after the close, found by socket address and time (a
  // later connection reusing the socket address gets a new id). Null when L7 capture is off.
  private readonly closed: ClosedConnections | null;
  private readonly udpIds = new Map<string, { id: string; at: number }>();
  // Service names of client flows by cgroup, so kernel histograms (keyed by cgroup) name their source the
  // same way the flows do.
  private readonly cgroupService = new Map<string, { ip: string; identity: EndpointIdentity }>();
  // cgroup ids as text, as identity and naming use them (BigInt to string per event is not free).
  private readonly cgroupText = new Map<bigint, string>();
  private readonly naming: PeerNaming;
  private readonly aggregates: AggregateFlows;

  constructor(
    private readonly nodeName: string,
    private readonly identity: IdentityResolver,
    private readonly listeners: ListenerTable,
    private readonly clock: Clock,
    /** Remember closed connections' ids for late L7 data (only useful with L7 capture on). */
    private readonly opts: { keepClosedIds?: boolean; coverage?: L7CoverageClassifier } = {},
  ) {
    this.closed = opts.keepClosedIds === false ? null : new ClosedConnections();
    this.naming = new PeerNaming(nodeName, identity, listeners);
    this.aggregates = new AggregateFlows(nodeName, identity, this.naming, clock, {
      udpFlowIdFor: (localIp, localPort, remoteIp, remotePort) => this.udpFlowIdFor(localIp, localPort, remoteIp, remotePort),
      cgroupService: (cgroupId) => this.cgroupService.get(cgroupId),
    });
  }

  isLocal(ip: string): boolean {
    return this.naming.isLocal(ip);
  }

  toEpochMs(monoNs: bigint): number {
    return this.clock.toEpochMs(monoNs);
  }

  /**
   * The flow id of the TCP connection of socket `ino` at kernel address `sockId` whose first L7 data was seen at
   * `tsNs` (monotonic): a closed connection's whose [start, end] holds it, else the open one's (made by this socket's
   * data, or by an interim report of the connection open then), else a new one, kept for its rows.
   */
  flowIdFor(sockId: bigint, tsNs: bigint, ino = 0n): string {
    const ts = Number(tsNs);
    const closed = this.closed?.find(sockId, ts);
    if (closed) return closed;
    let list = this.ids.get(sockId);
    let report: OpenId | undefined;
    for (const o of list ?? []) {
      if (ino !== 0n && o.ino === ino) return o.id;
      if (o.ino === 0n && o.ns <= ts && (!report || o.ns > report.ns)) report = o;
    }
    if (report) return report.id;
    const id = recordId();
    if (!list) this.ids.set(sockId, (list = []));
    if (list.length >= MAX_OPEN_PER_ADDRESS) list.shift();
    list.push({ id, ns: ts, ino });
    return id;
  }

  /**
   * The flow id of the connection of `sockId` that was open at `tsNs` when it has closed already (and the close's
   * time, monotonic ns), else undefined.
   */
  closedFlow(sockId: bigint, tsNs: bigint): { id: string; endNs: number } | undefined {
    return this.closed?.closed(sockId, Number(tsNs));
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

  /** Forgets idle UDP conversations past their TTL. */
  expireIds(now = Date.now()): void {
    for (const [k, v] of this.udpIds) if (now - v.at > UDP_ID_TTL_MS) this.udpIds.delete(k);
  }

  /**
   * The local end of a socket, named the way flows name it: a server's socket after its port's service once
   * the process has exited.
   */
  localEndpoint(a: LocalSocket & { ip: string }, server: boolean): Endpoint {
    const own = this.identity.localIdentity(a);
    return endpointOf(a.ip, a.port, server && a.pid ? this.naming.serverIdentity(a.port, a.pid, own) : own);
  }

  /** The far end, named the way flows name it. */
  peerEndpoint(ip: string, port: number, serverSide: boolean): Endpoint {
    return this.naming.peer(ip, port, serverSide);
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
    const own = this.identity.localIdentity({ port: e.sport, pid: pid || undefined, comm: e.comm || undefined, cgroupId });
    const me = server ? this.naming.serverIdentity(e.sport, pid, own) : own;
    const localPeer = this.naming.isLocal(e.daddr);
    let other: EndpointIdentity | null = null;
    if (localPeer) {
      if (!server) this.naming.localClients.remember(e, me);
      else other = this.naming.localClients.clientOf(e);
    }
    if (!other) other = this.naming.peerIdentity(e.daddr, e.dport, server);
    const failed = !server && (e.closeReason === SX_CLOSE_REFUSED || e.closeReason === SX_CLOSE_TIMEOUT);
    if (failed) other = this.naming.failedDestination(e.daddr, e.dport, other);
    // A refused connect is one record, DROPPED like the SYN the far end's kernel dropped for want of a
    // socket (on this host the probes forget that drop, so it is not a second record): Hubble users look
    // for failures with --verdict DROPPED. A connect that timed out stays FORWARDED: nothing says a drop.
    const refused = !server && e.closeReason === SX_CLOSE_REFUSED;
    if (!server && e.cgroupId > 0n && this.cgroupService.get(cgroupId)?.identity !== me) {
      if (this.cgroupService.size > 100_000) this.cgroupService.clear();
      this.cgroupService.set(cgroupId, { ip: e.saddr, identity: me });
    }
    const startNs = Number(e.startNs);
    const endNs = Number(e.endNs);
    // An address's entries are in the order its connections were first seen, and its closes are read in the order
    // they ended: this connection's entry was first seen within it, the ones before it are earlier connections'
    // whose close was lost (dropped at this close), the ones after it later connections' (kept).
    const list = this.ids.get(e.sockId);
    let id: string | undefined;
    if (list !== undefined) {
      let k = 0;
      for (; k < list.length && list[k]!.ns <= endNs; k++) if (startNs === 0 || list[k]!.ns >= startNs) id = list[k]!.id;
      if (e.final) {
        if (k === list.length) this.ids.delete(e.sockId);
        else if (k > 0) list.splice(0, k);
      }
    }
    if (id === undefined) {
      id = recordId();
      if (!e.final) {
        if (list) list.push({ id, ns: startNs, ino: 0n });
        else this.ids.set(e.sockId, [{ id, ns: startNs, ino: 0n }]);
      }
    }
    // Remembered for L7 data read after the close: only when the kernel says the socket may have records (nearly no
    // connection in signals mode), and never the server side of a same-host connection (its client's socket reports).
    if (e.final && e.l7Records && this.closed && !(server && localPeer)) this.closed.add(e.sockId, startNs, endNs, id);
    const end = this.clock.numberToEpochMs(endNs);
    // Hubble's orientation: source is the client. The server's socket sees the client as its peer.
    // Counters from the source's point of view; kernel sequence-space accounting (bytes_acked /
    // bytes_received): payload plus SYN/FIN, at most 2 more.
    const row = new Array(FLOW_FIELDS.length) as PendingFlowRow;
    row[FLOW_IX.id] = id;
    row[FLOW_IX.time] = startNs > 0 ? this.clock.numberToEpochMs(startNs) : end;
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
    // A refused connect's record is its dropped SYN (Hubble's DROPPED record is the packet): 1, whatever the socket
    // sent before. A SYN that found a TIME_WAIT socket of the dead server's is answered with an ACK, which the client
    // resets (killing that TIME_WAIT) before its retransmitted SYN is refused: 3 segments out, one of them dropped.
    row[FLOW_IX.packetsSent] = refused ? 1 : server ? e.segsIn : e.segsOut;
    row[FLOW_IX.packetsReceived] = server ? e.segsOut : e.segsIn;
    row[FLOW_IX.retransmits] = e.totalRetrans;
    row[FLOW_IX.srttUs] = e.srttUs || null;
    row[FLOW_IX.connectLatencyNs] = e.connectNs > 0 ? e.connectNs : null;
    row[FLOW_IX.closeReason] = closeReasonOf(e, server);
    row[FLOW_IX.localPeer] = localPeer;
    row[FLOW_IX.l7Coverage] = e.final ? (this.opts.coverage?.classOf(e, server && localPeer, row) ?? null) : null;
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

  /** A UDP conversation's aggregate as one flow. */
  udp(u: UdpFlowRecord): Flow {
    return this.aggregates.udp(u);
  }

  /** A drop aggregate as one DROPPED flow (packets = dropped count); null when it has no IP addresses. */
  drop(d: DropRecord): Flow | null {
    return this.aggregates.drop(d);
  }

  histogram(h: HistogramRecord, windowStart: number, windowSeconds: number): HistogramSample {
    return this.aggregates.histogram(h, windowStart, windowSeconds);
  }
}
