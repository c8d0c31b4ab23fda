/**
 * Kernel L7 captures → wire L7 events. Each captured send/receive syscall becomes an L7Chunk for the engine
 * (keyed by the socket's inode, so a kernel socket address reused by a later connection starts afresh); each
 * finished exchange becomes an L7Event oriented the Hubble way (source = client), linked to its connection
 * flow (FlowAssembler.flowIdFor), with the same endpoint naming as the flows. DNS answers feed the IP → name
 * cache, so later flows to those addresses carry their DNS names.
 */
import { randomUUID } from 'node:crypto';
import type { L7Record } from '@sextant/bpf';
import { SX_DIR_SERVER, SX_L7_EGRESS } from '@sextant/bpf';
import type { Endpoint, L7EventInput } from '@sextant/shared';
import { L7Engine } from '../l7/engine';
import type { L7Exchange, L7Options, L7Stats } from '../l7/types';
import type { FlowAssembler } from './flow-assembler';
import type { IdentityResolver } from './identity';

interface ConnMeta {
  sockId: bigint;
  transport: 'tcp' | 'udp';
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
  pid: number;
  comm: string;
  cgroupId: bigint;
  /** Endpoints resolved once per connection (identity lookups are the costly part per event). */
  local?: Endpoint;
  remote?: Endpoint;
  serverSideRemote?: boolean;
}

/** Connections whose close was seen are flushed this much later: their last data may still be in flight. */
const CLOSE_GRACE_MS = 2_000;
/** Connection metadata kept at most (oldest forgotten first). */
const MAX_CONNECTIONS = 65_536;

export class L7Assembler {
  private readonly engine: L7Engine;
  private readonly conns = new Map<bigint, ConnMeta>();
  /** Current socket inode per kernel socket address, to find the connection a TCP close belongs to. */
  private readonly inoBySock = new Map<bigint, bigint>();
  private readonly closing = new Map<bigint, number>();
  private chunks = 0;
  private skippedLocalServer = 0;
  private skippedUnknownPeer = 0;

  constructor(
    private readonly flows: FlowAssembler,
    private readonly identity: IdentityResolver,
    private readonly nodeName: string,
    options: L7Options = {},
  ) {
    this.engine = new L7Engine(options);
  }

  /** Feeds one batch of captured syscalls; returns the exchanges they completed, as wire events. */
  push(events: readonly L7Record[]): L7EventInput[] {
    const out: L7EventInput[] = [];
    for (const e of events) {
      this.chunks++;
      const connId = e.sockIno;
      let meta = this.conns.get(connId);
      if (!meta) {
        const h = e.header();
        // The server side of a same-host exchange: its client's socket reports it (see emit), so skip the work.
        if (h.role === SX_DIR_SERVER && this.flows.isLocal(h.daddr)) {
          this.skippedLocalServer++;
          continue;
        }
        meta = {
          sockId: h.sockId, transport: h.transport === 17 ? 'udp' : 'tcp', localIp: h.saddr, localPort: h.sport,
          remoteIp: h.daddr, remotePort: h.dport, pid: h.pid, comm: h.comm, cgroupId: h.cgroupId,
        };
        this.remember(connId, meta);
      }
      const exchanges = this.engine.push({
        connId, transport: meta.transport, direction: e.direction === SX_L7_EGRESS ? 'egress' : 'ingress',
        timestampNs: e.tsNs, data: e.data(), totalLength: e.totalLen,
      });
      for (const x of exchanges) this.emit(x, meta, out);
    }
    return out;
  }

  /** The kernel reported this socket closed: flush its connection once late data had time to arrive. */
  connectionClosed(sockId: bigint): void {
    const ino = this.inoBySock.get(sockId);
    if (ino !== undefined) this.closing.set(ino, Date.now() + CLOSE_GRACE_MS);
  }

  /** Flushes connections closed long enough ago (unanswered requests become REQUEST events). */
  tick(now = Date.now()): L7EventInput[] {
    const out: L7EventInput[] = [];
    for (const [ino, due] of this.closing) {
      if (due > now) continue;
      this.closing.delete(ino);
      const meta = this.conns.get(ino);
      for (const x of this.engine.closeConnection(ino)) if (meta) this.emit(x, meta, out);
      this.forget(ino);
    }
    return out;
  }

  stats(): L7Stats & { chunks: number; skippedLocalServer: number; skippedUnknownPeer: number } {
    return { ...this.engine.stats(), chunks: this.chunks, skippedLocalServer: this.skippedLocalServer, skippedUnknownPeer: this.skippedUnknownPeer };
  }

  private remember(ino: bigint, meta: ConnMeta): void {
    if (this.conns.size >= MAX_CONNECTIONS) {
      const oldest = this.conns.keys().next().value;
      if (oldest !== undefined) {
        this.engine.closeConnection(oldest);
        this.forget(oldest);
      }
    }
    this.conns.set(ino, meta);
    this.inoBySock.set(meta.sockId, ino);
  }

  private forget(ino: bigint): void {
    const meta = this.conns.get(ino);
    this.conns.delete(ino);
    if (meta && this.inoBySock.get(meta.sockId) === ino) this.inoBySock.delete(meta.sockId);
  }

  private emit(x: L7Exchange, meta: ConnMeta, out: L7EventInput[]): void {
    const server = x.role === 'server';
    // Both ends on this host are both captured: the client's side reports the exchange, once. (The kernel
    // does not even capture the server side of loopback connections.)
    if (server && this.flows.isLocal(meta.remoteIp)) {
      this.skippedLocalServer++;
      return;
    }
    // An unconnected UDP socket (a DNS server's) has no peer address on the socket: not attributable.
    if (meta.remoteIp === '0.0.0.0' || meta.remoteIp === '::') {
      this.skippedUnknownPeer++;
      return;
    }
    if (x.dns && x.dns.rcode === 0 && x.dns.ips && x.dns.ips.length > 0) {
      this.identity.learnDns(x.dns.query, x.dns.ips, x.dns.ttl ?? 60);
    }
    meta.local ??= this.identity.localEndpoint({
      ip: meta.localIp, port: meta.localPort, pid: meta.pid || undefined, comm: meta.comm || undefined, cgroupId: meta.cgroupId.toString(),
    });
    if (!meta.remote || meta.serverSideRemote !== server) {
      meta.remote = this.flows.peerEndpoint(meta.remoteIp, meta.remotePort, server);
      meta.serverSideRemote = server;
    }
    const me = meta.local;
    const other = meta.remote;
    const flowId = meta.transport === 'udp'
      ? this.flows.udpFlowIdFor(meta.localIp, meta.localPort, meta.remoteIp, meta.remotePort)
      : this.flows.flowIdFor(meta.sockId, x.requestTimeNs);
    const event: L7EventInput = {
      id: randomUUID(),
      flowId,
      time: this.flows.toEpochMs(x.requestTimeNs),
      nodeName: this.nodeName,
      type: x.responseTimeNs !== undefined ? 'RESPONSE' : 'REQUEST',
      protocol: x.protocol,
      source: server ? other : me,
      destination: server ? me : other,
    };
    if (x.latencyNs !== undefined && x.latencyNs >= 0n) event.latencyNs = Number(x.latencyNs);
    if (x.http) event.http = x.http;
    if (x.dns) event.dns = x.dns;
    if (x.kafka) event.kafka = x.kafka;
    out.push(event);
  }
}
