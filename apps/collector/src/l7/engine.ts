/**
 * The L7 engine: takes the kernel's per-syscall captures (L7Chunk), keeps bounded per-connection state,
 * detects each connection's protocol from its first bytes, reassembles and parses both directions, pairs
 * requests with responses and returns finished exchanges. It never throws from push: bytes it cannot
 * understand are counted as unparsed per connection, for coverage reporting.
 */
import { z } from 'zod';
import { L7_SAMPLINGS, type L7Protocol } from '@sextant/shared';
import { detectProtocol } from './detect';
import { DnsConnection, KafkaConnection, type ConnectionHandler, type PairingCounters } from './framed-pairing';
import { startsWithRequestLine, startsWithStatusLine } from './http';
import { HttpConnection } from './http-pairing';
import { Http2Connection } from './http2';
import type { ByteCounters } from './reassembly';
import { DEFAULT_REDACT_QUERY_PARAMS, QueryRedactor } from './redact';
import type { L7Chunk, L7Exchange, L7Options, L7Stats } from './types';

export const DEFAULT_KEEP_HEADERS = ['content-type', 'user-agent', 'x-request-id'];

export const L7OptionsSchema = z.object({
  redactQueryParams: z.array(z.string().min(1).max(256)).max(1000).default(DEFAULT_REDACT_QUERY_PARAMS),
  keepHeaders: z.array(z.string().min(1).max(256)).max(64).default(DEFAULT_KEEP_HEADERS),
  maxConnections: z.number().int().min(1).max(10_000_000).default(65_536),
  maxBufferBytes: z
    .number()
    .int()
    .min(256)
    .max(64 * 1024 * 1024)
    .default(64 * 1024),
  maxPendingPerConnection: z.number().int().min(1).max(1_000_000).default(256),
});

/** Chunks inspected without recognising a protocol before a connection is declared unknown. */
const DETECT_CHUNKS = 32;
/** A first write shorter than this ("G", "GET ") is held and joined to the next one before deciding. */
const DETECT_MIN_BYTES = 16;

interface Connection {
  transport: 'tcp' | 'udp';
  state: 'detecting' | 'active' | 'unknown';
  detectChunks: number;
  protocol?: L7Protocol;
  requestDirection?: 'egress' | 'ingress';
  handler?: ConnectionHandler;
  counters: ByteCounters;
  /** Short captured prefixes held during detection, per direction (not yet counted). */
  held?: Partial<Record<'egress' | 'ingress', { data: Buffer; ts: bigint }>>;
}

class HttpHandler implements ConnectionHandler {
  constructor(private readonly conn: HttpConnection) {}
  feed(chunk: L7Chunk, which: 'request' | 'response', out: L7Exchange[]): void {
    this.conn.feed(which, chunk.data, chunk.timestampNs, chunk.totalLength - chunk.data.length, out, chunk.sampling);
  }
  close(out: L7Exchange[]): void {
    this.conn.close(out);
  }
  idle(): boolean {
    return this.conn.idle;
  }
}

export class L7Engine {
  private readonly opts: z.output<typeof L7OptionsSchema>;
  private readonly redactor: QueryRedactor;
  private readonly keepHeaders: ReadonlySet<string>;
  private readonly conns = new Map<bigint, Connection>();
  private readonly pairing: PairingCounters = { unanswered: 0, orphanResponses: 0, unmatchedSampled: 0 };
  private readonly totals = { parsedBytes: 0, unparsedBytes: 0, exchanges: 0, evictedConnections: 0, invalidChunks: 0, internalErrors: 0 };
  private readonly byProtocol: Record<L7Protocol, number> = { http: 0, dns: 0, kafka: 0 };

  /** Throws (a ZodError) on invalid options: that is configuration, not traffic. */
  constructor(options: L7Options = {}) {
    this.opts = L7OptionsSchema.parse(options);
    this.redactor = new QueryRedactor(this.opts.redactQueryParams);
    this.keepHeaders = new Set(this.opts.keepHeaders.map((h) => h.toLowerCase()));
  }

  push(chunk: L7Chunk): L7Exchange[] {
    const out: L7Exchange[] = [];
    if (!isChunk(chunk)) {
      this.totals.invalidChunks++;
      return out;
    }
    const conn = this.connection(chunk.connId, chunk.transport, out);
    const total = Math.max(chunk.totalLength, chunk.data.length);
    const c = conn.counters;
    const before = c.parsed + c.unparsed;
    const beforeParsed = c.parsed;
    const beforeUnparsed = c.unparsed;
    try {
      this.dispatch(conn, total === chunk.totalLength ? chunk : { ...chunk, totalLength: total }, out);
    } catch {
      // A bug must cost this connection's coverage, never the collector.
      this.totals.internalErrors++;
      conn.state = 'unknown';
      conn.handler = undefined;
      const accounted = c.parsed + c.unparsed - before;
      if (accounted < total) c.unparsed += total - accounted;
    }
    this.totals.parsedBytes += c.parsed - beforeParsed;
    this.totals.unparsedBytes += c.unparsed - beforeUnparsed;
    this.count(out);
    return out;
  }

  /**
   * Drops an HTTP/1 connection's parser state when nothing is in progress on it (closing it then would emit
   * nothing); its next bytes start a new one. For sockets whose every exchange comes alone (the kernel's kept
   * exchanges of an aggregated socket): their state then lives for one exchange, not until the connection closes.
   * The connection's byte counters start again too (the totals keep them).
   */
  releaseIdle(connId: bigint): boolean {
    const conn = this.conns.get(connId);
    if (!conn || conn.state !== 'active' || !conn.handler?.idle?.()) return false;
    this.conns.delete(connId);
    return true;
  }

  /** Flushes a closed connection: close-delimited bodies end, waiting requests come out unanswered. */
  closeConnection(connId: bigint): L7Exchange[] {
    const out: L7Exchange[] = [];
    const conn = this.conns.get(connId);
    if (!conn) return out;
    this.conns.delete(connId);
    this.closeHandler(conn, out);
    this.count(out);
    return out;
  }

  stats(): L7Stats {
    return {
      parsedBytes: this.totals.parsedBytes,
      unparsedBytes: this.totals.unparsedBytes,
      exchanges: this.totals.exchanges,
      unanswered: this.pairing.unanswered,
      evictedConnections: this.totals.evictedConnections,
      byProtocol: { ...this.byProtocol },
      orphanResponses: this.pairing.orphanResponses,
      unmatchedSampled: this.pairing.unmatchedSampled,
      invalidChunks: this.totals.invalidChunks,
      internalErrors: this.totals.internalErrors,
      connections: this.conns.size,
    };
  }

  connectionStats(connId: bigint): { parsedBytes: number; unparsedBytes: number; protocol?: L7Protocol } {
    const conn = this.conns.get(connId);
    if (!conn) return { parsedBytes: 0, unparsedBytes: 0 };
    const s: { parsedBytes: number; unparsedBytes: number; protocol?: L7Protocol } = {
      parsedBytes: conn.counters.parsed,
      unparsedBytes: conn.counters.unparsed,
    };
    if (conn.protocol) s.protocol = conn.protocol;
    return s;
  }

  private connection(connId: bigint, transport: 'tcp' | 'udp', out: L7Exchange[]): Connection {
    let conn = this.conns.get(connId);
    if (conn) {
      // Most recently used last: Map iteration order is the LRU order.
      this.conns.delete(connId);
      this.conns.set(connId, conn);
      return conn;
    }
    conn = { transport, state: 'detecting', detectChunks: 0, counters: { parsed: 0, unparsed: 0 } };
    this.conns.set(connId, conn);
    while (this.conns.size > this.opts.maxConnections) {
      const [oldId, old] = this.conns.entries().next().value as [bigint, Connection];
      this.conns.delete(oldId);
      this.totals.evictedConnections++;
      this.closeHandler(old, out);
    }
    return conn;
  }

  private dispatch(conn: Connection, chunk: L7Chunk, out: L7Exchange[]): void {
    if (conn.state === 'unknown') {
      // A connection first seen mid-message (a long download) may still show an HTTP message start later;
      // a few byte compares decide, and binary protocols fail on the first byte.
      if (conn.transport !== 'tcp' || !(startsWithRequestLine(chunk.data) || startsWithStatusLine(chunk.data))) {
        conn.counters.unparsed += chunk.totalLength;
        return;
      }
      conn.state = 'detecting';
    }
    if (conn.state === 'detecting') {
      const held = conn.held?.[chunk.direction];
      if (held) {
        delete conn.held![chunk.direction];
        const data = Buffer.concat([held.data, chunk.data]);
        chunk = { ...chunk, data, timestampNs: held.ts, totalLength: held.data.length + chunk.totalLength };
      }
      const found = chunk.data.length > 0 ? detectProtocol(chunk.data, conn.transport, chunk.peer?.port) : null;
      if (!found) {
        if (
          conn.transport === 'tcp' &&
          chunk.data.length < DETECT_MIN_BYTES &&
          chunk.totalLength === chunk.data.length &&
          chunk.data.length > 0
        ) {
          (conn.held ??= {})[chunk.direction] = { data: Buffer.from(chunk.data), ts: chunk.timestampNs };
          return;
        }
        conn.counters.unparsed += chunk.totalLength;
        if (++conn.detectChunks >= DETECT_CHUNKS) conn.state = 'unknown';
        return;
      }
      for (const h of Object.values(conn.held ?? {})) conn.counters.unparsed += h.data.length;
      conn.held = undefined;
      const other = chunk.direction === 'egress' ? 'ingress' : 'egress';
      conn.requestDirection = found.requestDirection ? chunk.direction : other;
      conn.protocol = found.protocol;
      const role = conn.requestDirection === 'egress' ? 'client' : 'server';
      conn.handler = this.handlerFor(chunk.connId, conn, found.protocol, role, found.http2);
      conn.state = 'active';
    }
    conn.handler!.feed(chunk, chunk.direction === conn.requestDirection ? 'request' : 'response', out);
  }

  private handlerFor(connId: bigint, conn: Connection, protocol: L7Protocol, role: 'client' | 'server', http2 = false): ConnectionHandler {
    const max = this.opts.maxPendingPerConnection;
    const collect = Math.min(this.opts.maxBufferBytes, 64 * 1024);
    switch (protocol) {
      case 'http':
        if (http2) {
          const h2 = { redactor: this.redactor, keepHeaders: this.keepHeaders, maxBlockBytes: collect, maxStreams: max };
          return new Http2Connection(connId, role, h2, conn.counters, this.pairing);
        }
        return new HttpHandler(
          new HttpConnection(
            connId,
            role,
            {
              redactor: this.redactor,
              keepHeaders: this.keepHeaders,
              maxHeadBytes: this.opts.maxBufferBytes,
              maxPending: max,
            },
            conn.counters,
            this.pairing,
          ),
        );
      case 'dns':
        return new DnsConnection(connId, conn.transport, max, conn.counters, this.pairing, collect);
      case 'kafka':
        return new KafkaConnection(connId, role, max, conn.counters, this.pairing, collect);
    }
  }

  private closeHandler(conn: Connection, out: L7Exchange[]): void {
    const c = conn.counters;
    const unparsed = c.unparsed;
    for (const h of Object.values(conn.held ?? {})) c.unparsed += h.data.length;
    conn.held = undefined;
    try {
      conn.handler?.close(out);
    } catch {
      this.totals.internalErrors++;
    }
    this.totals.unparsedBytes += c.unparsed - unparsed;
  }

  private count(out: L7Exchange[]): void {
    this.totals.exchanges += out.length;
    for (const e of out) this.byProtocol[e.protocol]++;
  }
}

function isChunk(c: L7Chunk): boolean {
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof c.connId === 'bigint' &&
    Buffer.isBuffer(c.data) &&
    typeof c.timestampNs === 'bigint' &&
    Number.isSafeInteger(c.totalLength) &&
    c.totalLength >= 0 &&
    (c.direction === 'egress' || c.direction === 'ingress') &&
    (c.transport === 'tcp' || c.transport === 'udp') &&
    (c.sampling === undefined || (L7_SAMPLINGS as readonly string[]).includes(c.sampling))
  );
}
