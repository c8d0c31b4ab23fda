/**
 * Kernel L7 captures → wire L7 events. Each captured send/receive syscall becomes an L7Chunk for the engine
 * (keyed by the socket's inode, so a kernel socket address reused by a later connection starts afresh); each
 * finished exchange becomes an L7Event oriented the Hubble way (source = client), linked to its connection
 * flow (FlowAssembler.flowIdFor), with the same endpoint naming as the flows. DNS answers feed the IP → name
 * cache, so later flows to those addresses carry their DNS names. In signals mode a record the kernel kept for
 * an exchange it also counted carries why (`kept`): the engine pairs it only with its own other half, and the
 * event says it was sampled (`sampling`), so the server counts that exchange from the aggregate, never twice.
 */
import type { L7Record } from '@sextant/bpf';
import { SX_DIR_SERVER, SX_L7_EGRESS, SX_PROTO_TLS, tlsSourceOf, type TlsSource } from '@sextant/bpf';
import type { Endpoint, L7EventInput, L7Sampling } from '@sextant/shared';
import { L7Engine } from '../l7/engine';
import type { L7Chunk, L7Exchange, L7Options, L7Stats } from '../l7/types';
import { socketBucket } from './closed-connections';
import type { FlowAssembler } from './flow-assembler';
import type { IdentityResolver } from './identity';
import { recordId } from './record-ids';

interface ConnMeta {
  sockId: bigint;
  /** The socket's inode (unique per socket, unlike its kernel address). */
  ino: bigint;
  /** Kernel time of the first captured data (to tell connections apart that reused one socket address). */
  firstNs: bigint;
  /** When data of it was last processed (wall clock, ms). */
  lastAt: number;
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
  /** Its L7 bytes are TLS plaintext from uprobes (sx_l7_header.tls). */
  tls?: TlsSource;
  /** The TCP connection's flow id, once known (the same for all its exchanges). */
  flowId?: string;
  /** Its close was read (it waits in `closing`): a later close on the address is another connection's. */
  closed?: boolean;
  /** The close's time (monotonic ns), once read. */
  closeEndNs?: number;
}

/**
 * A closed connection is flushed once none of its data has been processed for this long. Its last data may
 * still be in the other ring buffer, which lags behind the TCP events under load; but records leave the ring
 * in the order they were written, so once the reader has passed its close, no more data of it comes.
 */
const CLOSE_QUIET_MS = 2_000;
/**
 * A closed connection is flushed at once when data captured this long after its close has been read: its own data
 * is never later than its close, and the ring's records are in capture order but for a CPU's few ms. Held until
 * the quiet time instead, every sampled connection outlived two young-generation collections and was copied into
 * the old one (most of the collector's extra heap with L7 on under connection churn).
 */
const CLOSE_PASSED_NS = 200e6;
/** Connection metadata kept at most (oldest forgotten first). */
const MAX_CONNECTIONS = 65_536;

/** Buckets of the count of open connections per socket address (see `openIn`). */
const OPEN_BUCKETS = 1 << 16;

/** sx_l7_header.kept → the event's sampling (0: the full path, the record is its exchange's only count). */
const SAMPLING: readonly (L7Sampling | undefined)[] = [undefined, 'error', 'slow', 'capture', 'sampled'];

/** Whether `ts` falls within a connection's [start, end] (start 0: not known, only the end bounds it). */
function within(ts: bigint, startNs: bigint, endNs: bigint): boolean {
  return ts <= endNs && (startNs === 0n || ts >= startNs);
}

function openBucket(sockId: bigint): number {
  return socketBucket(Number(sockId), OPEN_BUCKETS);
}

export class L7Assembler {
  private readonly engine: L7Engine;
  private readonly conns = new Map<bigint, ConnMeta>();
  /**
   * Socket inodes of the connections seen per kernel socket address, to find the one a TCP close belongs to
   * (the kernel reuses an address at once, so under churn several connections' data can share one).
   */
  private readonly inosBySock = new Map<bigint, bigint[]>();
  /** Closed connections waiting to be flushed. */
  private readonly closing = new Set<bigint>();
  /**
   * Connections held here whose close has not been read, counted per socket address bucket: every TCP close is
   * offered to `connectionClosed`, and nearly none has such a connection (in signals mode a few sampled ones, and
   * their socket addresses, reused at once, hold lists of closed ones waiting to be flushed), so a close whose
   * bucket counts none is done without a Map look-up.
   */
  private readonly openIn = new Int32Array(OPEN_BUCKETS);
  /** The latest capture time (monotonic ns) of the data read so far. */
  private readNs = 0;
  private chunks = 0;
  private skippedLocalServer = 0;
  private skippedUnknownPeer = 0;
  /** Events shipped per sampling reason (`full`: the full path). */
  private readonly recorded: Record<L7Sampling | 'full', number> = { full: 0, error: 0, slow: 0, capture: 0, sampled: 0 };
  /** Told of each HTTP/2 stream whose headers could not be decoded, by socket (the connection's coverage class). */
  onNotDecodable?: (sockId: bigint, firstNs: bigint) => void;

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
    const now = Date.now();
    for (const e of events) {
      this.chunks++;
      // A TLS connection's marker (no bytes): its plaintext, if the uprobes see it, comes as records of its own.
      if (e.protocol === SX_PROTO_TLS) continue;
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
          sockId: h.sockId,
          ino: connId,
          firstNs: e.tsNs,
          lastAt: now,
          transport: h.transport === 17 ? 'udp' : 'tcp',
          localIp: h.saddr,
          localPort: h.sport,
          remoteIp: h.daddr,
          remotePort: h.dport,
          pid: h.pid,
          comm: h.comm,
          cgroupId: h.cgroupId,
        };
        const tls = tlsSourceOf(h.tls);
        if (tls) meta.tls = tls;
        this.remember(connId, meta);
        // Its close may have been read already (the two ring buffers are not ordered with each other): the
        // flow assembler remembers the last closes, so the data joins its connection and is flushed as closed.
        if (meta.transport === 'tcp') {
          const closed = this.flows.closedFlow(h.sockId, e.tsNs);
          if (closed !== undefined) {
            meta.flowId = closed.id;
            meta.closed = true;
            meta.closeEndNs = closed.endNs;
            this.closing.add(connId);
          }
        }
        if (!meta.closed) this.openIn[openBucket(meta.sockId)]!++;
      }
      meta.lastAt = now;
      const tsNs = e.tsNs;
      if (Number(tsNs) > this.readNs) this.readNs = Number(tsNs);
      const chunk: L7Chunk = {
        connId,
        transport: meta.transport,
        direction: e.direction === SX_L7_EGRESS ? 'egress' : 'ingress',
        timestampNs: tsNs,
        data: e.data(),
        totalLength: e.totalLen,
      };
      const sampling = SAMPLING[e.kept];
      if (sampling) chunk.sampling = sampling;
      const exchanges = this.engine.push(chunk);
      for (const x of exchanges) this.emit(x, meta, out);
      // An aggregated socket's kept exchanges come one at a time, whole (signals mode): its parser state need not
      // wait for the close (it would outlive young collections under connection churn and fill the old generation).
      if (sampling) this.engine.releaseIdle(connId);
    }
    if (this.closing.size > 0) this.flushClosed(now, out, true);
    return out;
  }

  /**
   * The kernel reported this socket closed: its connection, when data of it was seen, is flushed once late data
   * had time to arrive. When none was seen (nearly every connection in signals mode), nothing is kept here: data
   * read later finds the close among the flow assembler's last closes (push).
   */
  connectionClosed(c: { sockId: bigint; startNs: bigint; endNs: bigint; direction: number; daddr: string }): void {
    const bucket = openBucket(c.sockId);
    if (this.openIn[bucket] === 0) return;
    const inos = this.inosBySock.get(c.sockId);
    if (inos === undefined) return;
    const { startNs, endNs } = c;
    for (const ino of inos) {
      const meta = this.conns.get(ino);
      if (meta === undefined || meta.closed || !within(meta.firstNs, startNs, endNs)) continue;
      meta.closed = true;
      meta.closeEndNs = Number(endNs);
      this.openIn[bucket]!--;
      this.closing.add(ino);
      return;
    }
  }

  /** Whether data of the connection on this socket within [startNs, endNs] is still held here (not all its exchanges out). */
  tracks(sockId: bigint, startNs: bigint, endNs: bigint): boolean {
    for (const ino of this.inosBySock.get(sockId) ?? []) {
      const meta = this.conns.get(ino);
      if (meta !== undefined && within(meta.firstNs, startNs, endNs)) return true;
    }
    return false;
  }

  /** Flushes the closed connections that are done (unanswered requests become REQUEST events). */
  tick(now = Date.now()): L7EventInput[] {
    const out: L7EventInput[] = [];
    this.flushClosed(now, out, false);
    return out;
  }

  /**
   * Flushes the closed connections that are done: data captured CLOSE_PASSED_NS after their close has been read, or
   * none of theirs processed for CLOSE_QUIET_MS (the ring may have nothing newer). `early` (after a batch): the first
   * rule only, up to the first connection not done (they wait in the order their close was read).
   */
  private flushClosed(now: number, out: L7EventInput[], early: boolean): void {
    for (const ino of this.closing) {
      const meta = this.conns.get(ino);
      const passed = meta?.closeEndNs !== undefined && this.readNs > meta.closeEndNs + CLOSE_PASSED_NS;
      if (meta && !passed) {
        if (early) return;
        if (now - meta.lastAt <= CLOSE_QUIET_MS) continue;
      }
      this.closing.delete(ino);
      for (const x of this.engine.closeConnection(ino)) if (meta) this.emit(x, meta, out);
      this.forget(ino);
    }
  }

  stats(): L7Stats & {
    chunks: number;
    skippedLocalServer: number;
    skippedUnknownPeer: number;
    recorded: Record<L7Sampling | 'full', number>;
  } {
    return {
      ...this.engine.stats(),
      recorded: { ...this.recorded },
      chunks: this.chunks,
      skippedLocalServer: this.skippedLocalServer,
      skippedUnknownPeer: this.skippedUnknownPeer,
    };
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
    const inos = this.inosBySock.get(meta.sockId);
    if (inos) inos.push(ino);
    else this.inosBySock.set(meta.sockId, [ino]);
  }

  private forget(ino: bigint): void {
    const meta = this.conns.get(ino);
    this.conns.delete(ino);
    if (meta && !meta.closed) this.openIn[openBucket(meta.sockId)]!--;
    const inos = meta ? this.inosBySock.get(meta.sockId) : undefined;
    if (meta && inos) {
      const i = inos.indexOf(ino);
      if (i >= 0) inos.splice(i, 1);
      if (!inos.length) this.inosBySock.delete(meta.sockId);
    }
  }

  private emit(x: L7Exchange, meta: ConnMeta, out: L7EventInput[]): void {
    if (x.http?.notDecodable) this.onNotDecodable?.(meta.sockId, meta.firstNs);
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
    meta.local ??= this.flows.localEndpoint(
      {
        ip: meta.localIp,
        port: meta.localPort,
        pid: meta.pid || undefined,
        comm: meta.comm || undefined,
        cgroupId: meta.cgroupId.toString(),
      },
      server,
    );
    if (!meta.remote || meta.serverSideRemote !== server) {
      meta.remote = this.flows.peerEndpoint(meta.remoteIp, meta.remotePort, server);
      meta.serverSideRemote = server;
    }
    const me = meta.local;
    const other = meta.remote;
    const flowId =
      meta.transport === 'udp'
        ? this.flows.udpFlowIdFor(meta.localIp, meta.localPort, meta.remoteIp, meta.remotePort)
        : (meta.flowId ??= this.flows.flowIdFor(meta.sockId, meta.firstNs, meta.ino));
    const event: L7EventInput = {
      id: recordId(),
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
    if (x.sampling) event.sampling = x.sampling;
    if (meta.tls) event.tls = meta.tls;
    this.recorded[x.sampling ?? 'full']++;
    out.push(event);
  }
}
