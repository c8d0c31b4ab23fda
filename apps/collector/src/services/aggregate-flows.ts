/**
 * The map-drained aggregates as wire objects, a few per second: UDP conversations and packet drops as Flows, kernel
 * histograms as HistogramSamples, named like the TCP rows (flow-assembler.ts).
 */
import type { DropRecord, HistogramRecord, UdpFlowRecord } from '@sextant/bpf';
import { SX_HIST_DNS, SX_HIST_HTTP, SX_HIST_KAFKA, SX_HIST_TCP_CONNECT, SX_HIST_TCP_SRTT } from '@sextant/bpf';
import type { Endpoint, EndpointIdentity, Flow, HistogramKind, HistogramSample } from '@sextant/shared';
import { endpointServiceName } from '@sextant/shared';
import type { Clock } from './clock';
import { endpointOf, type IdentityResolver } from './identity';
import type { PeerNaming } from './peer-naming';
import { recordId } from './record-ids';

const HIST_KIND: Record<number, HistogramKind> = {
  [SX_HIST_TCP_CONNECT]: 'tcp_connect',
  [SX_HIST_TCP_SRTT]: 'tcp_srtt',
  [SX_HIST_HTTP]: 'http',
  [SX_HIST_DNS]: 'dns',
  [SX_HIST_KAFKA]: 'kafka',
};

/** What the aggregates share with the TCP rows: UDP conversation ids, and client services by cgroup. */
export interface FlowIds {
  udpFlowIdFor(localIp: string, localPort: number, remoteIp: string, remotePort: number): string;
  cgroupService(cgroupId: string): { ip: string; identity: EndpointIdentity } | undefined;
}

export class AggregateFlows {
  constructor(
    private readonly nodeName: string,
    private readonly identity: IdentityResolver,
    private readonly naming: PeerNaming,
    private readonly clock: Clock,
    private readonly ids: FlowIds,
  ) {}

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
    const other = this.naming.peer(u.remoteIp, u.remotePort, !client);
    return {
      id: this.ids.udpFlowIdFor(u.localIp, u.localPort, u.remoteIp, u.remotePort),
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
      localPeer: this.naming.isLocal(u.remoteIp),
    };
  }

  /** A drop aggregate as one DROPPED flow (packets = dropped count); null when it has no IP addresses. */
  drop(d: DropRecord): Flow | null {
    if (!d.srcIp || !d.dstIp) return null;
    const proto = d.protocol === 6 ? 'TCP' : d.protocol === 17 ? 'UDP' : d.family === 6 ? 'ICMPv6' : 'ICMPv4';
    const localDst = this.naming.isLocal(d.dstIp);
    // A SYN to a closed local port from another host (a local client's is forgotten by the probes: its
    // refused connect is the record) is a failed connect: its destination is named like one.
    const dst: Endpoint =
      localDst && d.protocol === 6 && d.reasonName === 'NO_SOCKET'
        ? endpointOf(d.dstIp, d.dstPort, this.naming.failedDestination(d.dstIp, d.dstPort, null))
        : localDst
          ? { ip: d.dstIp, port: d.dstPort, hostName: this.nodeName }
          : this.identity.remoteEndpoint(d.dstIp, d.dstPort);
    const src: Endpoint =
      this.naming.isLocal(d.srcIp) && d.cgroupId > 0n
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
    const client = this.ids.cgroupService(h.cgroupId.toString());
    const src = client
      ? { ip: client.ip, ...client.identity }
      : this.identity.localEndpoint({ ip: '0.0.0.0', port: 0, cgroupId: h.cgroupId.toString() });
    const dst = this.naming.peer(h.remoteIp, h.remotePort, false);
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
