/**
 * DNS and Kafka connections for the engine: messages framed by datagrams (DNS over UDP) or by a size prefix
 * (DNS over TCP: 2 bytes, Kafka: 4 bytes), parsed by dns.ts / kafka.ts and paired by an id the protocol
 * carries (DNS id, Kafka correlation id) rather than by order.
 */
import { dnsDetails, looksLikeDnsQuery, parseDnsMessage, type DnsMessage } from './dns';
import { kafkaDetails, looksLikeKafkaRequest, parseKafkaRequest, parseKafkaResponse, type KafkaRequest } from './kafka';
import { LengthPrefixedFramer, type ByteCounters } from './reassembly';
import type { L7Chunk, L7Exchange } from './types';

export interface PairingCounters {
  unanswered: number;
  orphanResponses: number;
  /** HTTP only (http-pairing.ts): halves of sampled exchanges whose other half was lost. */
  unmatchedSampled: number;
}

/** The engine's view of one protocol's connection state. */
export interface ConnectionHandler {
  feed(chunk: L7Chunk, which: 'request' | 'response', out: L7Exchange[]): void;
  close(out: L7Exchange[]): void;
  /** Nothing in progress: no message half read, no request waiting (the state may be dropped and made anew). */
  idle?(): boolean;
}

const DNS_TCP_MAX = 65535;
const KAFKA_MAX_FRAME = 100 * 1024 * 1024;
/** Payload bytes kept per frame for parsing (the rest is skipped by length): names and topics come first. */
const COLLECT_LIMIT = 64 * 1024;

/** Bounded map in insertion order: the oldest entry goes first when full. */
function boundedSet<K, V>(map: Map<K, V>, key: K, value: V, max: number, onDrop: (v: V) => void): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > max) {
    const oldest = map.keys().next().value as K;
    onDrop(map.get(oldest)!);
    map.delete(oldest);
  }
}

interface PendingQuery {
  query: DnsMessage;
  ts: bigint;
  role: 'client' | 'server';
}

export class DnsConnection implements ConnectionHandler {
  private readonly pending = new Map<string, PendingQuery>();
  private readonly framers: Partial<Record<'egress' | 'ingress', LengthPrefixedFramer>> = {};
  private out: L7Exchange[] = [];

  constructor(
    private readonly connId: bigint,
    private readonly transport: 'udp' | 'tcp',
    private readonly maxPending: number,
    private readonly counters: ByteCounters,
    private readonly stats: PairingCounters,
    private readonly collectLimit = COLLECT_LIMIT,
  ) {}

  feed(chunk: L7Chunk, _which: 'request' | 'response', out: L7Exchange[]): void {
    this.out = out;
    const gap = chunk.totalLength - chunk.data.length;
    if (this.transport === 'udp') {
      // One datagram per chunk; a truncated capture may still hold the header and question.
      this.message(chunk.data, chunk.timestampNs, chunk.direction, chunk.totalLength, peerKey(chunk));
      return;
    }
    const framer = (this.framers[chunk.direction] ??= new LengthPrefixedFramer(
      2,
      DNS_TCP_MAX,
      this.collectLimit,
      this.counters,
      {
        onFrame: (frame, _complete, ts, total) => this.message(frame, ts, chunk.direction, total, '', true),
      },
      (data) => data.length >= 14 && looksLikeDnsQuery(data.subarray(2)),
    ));
    framer.feed(chunk.data, chunk.timestampNs);
    framer.gap(gap);
  }

  close(out: L7Exchange[]): void {
    for (const f of Object.values(this.framers)) f.discard();
    for (const p of this.pending.values()) {
      this.stats.unanswered++;
      out.push(this.exchange(p, undefined, undefined));
    }
    this.pending.clear();
  }

  private message(buf: Buffer, ts: bigint, direction: 'egress' | 'ingress', bytes: number, peer: string, framed = false): void {
    let msg: DnsMessage;
    try {
      msg = parseDnsMessage(buf);
    } catch {
      if (framed) this.counters.parsed -= bytes;
      this.counters.unparsed += bytes;
      return;
    }
    if (!framed) this.counters.parsed += bytes;
    const key = `${msg.id}|${peer}`;
    if (!msg.isResponse) {
      const role = direction === 'egress' ? 'client' : 'server';
      boundedSet(this.pending, key, { query: msg, ts, role }, this.maxPending, () => this.stats.unanswered++);
      return;
    }
    const p = this.pending.get(key);
    if (!p) {
      this.stats.orphanResponses++;
      return;
    }
    this.pending.delete(key);
    this.out.push(this.exchange(p, msg, ts));
  }

  private exchange(p: PendingQuery, response: DnsMessage | undefined, ts: bigint | undefined): L7Exchange {
    const ex: L7Exchange = {
      connId: this.connId,
      protocol: 'dns',
      role: p.role,
      requestTimeNs: p.ts,
      dns: dnsDetails(p.query, response, this.transport),
    };
    if (ts !== undefined) {
      ex.responseTimeNs = ts;
      if (ts >= p.ts) ex.latencyNs = ts - p.ts;
    }
    return ex;
  }
}

function peerKey(chunk: L7Chunk): string {
  return chunk.peer ? `${chunk.peer.ip}:${chunk.peer.port}` : '';
}

interface PendingKafka {
  req: KafkaRequest;
  ts: bigint;
}

export class KafkaConnection implements ConnectionHandler {
  private readonly pending = new Map<number, PendingKafka>();
  private readonly requests: LengthPrefixedFramer;
  private readonly responses: LengthPrefixedFramer;
  private out: L7Exchange[] = [];

  constructor(
    private readonly connId: bigint,
    private readonly role: 'client' | 'server',
    private readonly maxPending: number,
    private readonly counters: ByteCounters,
    private readonly stats: PairingCounters,
    collectLimit = COLLECT_LIMIT,
  ) {
    this.requests = new LengthPrefixedFramer(
      4,
      KAFKA_MAX_FRAME,
      collectLimit,
      counters,
      {
        onFrame: (frame, _complete, ts, total) => this.request(frame, ts, total),
      },
      (data) => looksLikeKafkaRequest(data),
    );
    this.responses = new LengthPrefixedFramer(
      4,
      KAFKA_MAX_FRAME,
      collectLimit,
      counters,
      {
        onFrame: (frame, _complete, ts, total) => this.response(frame, ts, total),
      },
      (data) => data.length >= 8 && data.readInt32BE(0) >= 4 && this.pending.has(data.readInt32BE(4)),
    );
  }

  feed(chunk: L7Chunk, which: 'request' | 'response', out: L7Exchange[]): void {
    this.out = out;
    const framer = which === 'request' ? this.requests : this.responses;
    framer.feed(chunk.data, chunk.timestampNs);
    framer.gap(chunk.totalLength - chunk.data.length);
  }

  close(out: L7Exchange[]): void {
    this.requests.discard();
    this.responses.discard();
    for (const p of this.pending.values()) {
      this.stats.unanswered++;
      out.push(this.exchange(p, undefined, undefined));
    }
    this.pending.clear();
  }

  private request(frame: Buffer, ts: bigint, total: number): void {
    try {
      const req = parseKafkaRequest(frame);
      boundedSet(this.pending, req.correlationId, { req, ts }, this.maxPending, () => this.stats.unanswered++);
    } catch {
      this.counters.parsed -= total;
      this.counters.unparsed += total;
    }
  }

  private response(frame: Buffer, ts: bigint, total: number): void {
    const p = frame.length >= 4 ? this.pending.get(frame.readInt32BE(0)) : undefined;
    if (!p) {
      this.stats.orphanResponses++;
      this.counters.parsed -= total;
      this.counters.unparsed += total;
      return;
    }
    this.pending.delete(p.req.correlationId);
    let res;
    try {
      res = parseKafkaResponse(frame, p.req);
    } catch {
      res = undefined; // paired by correlation id even when the body is not understood
    }
    this.out.push(this.exchange(p, res, ts));
  }

  private exchange(p: PendingKafka, res: ReturnType<typeof parseKafkaResponse> | undefined, ts: bigint | undefined): L7Exchange {
    const ex: L7Exchange = {
      connId: this.connId,
      protocol: 'kafka',
      role: this.role,
      requestTimeNs: p.ts,
      kafka: kafkaDetails(p.req, res),
    };
    if (ts !== undefined) {
      ex.responseTimeNs = ts;
      if (ts >= p.ts) ex.latencyNs = ts - p.ts;
    }
    return ex;
  }
}
