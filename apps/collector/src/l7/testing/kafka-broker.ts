/**
 * TEST FIXTURE ONLY — a single-node Kafka-protocol broker on 127.0.0.1 with an in-memory log, so that real
 * Kafka clients (kafkajs, kcat/librdkafka) can produce and consume in tests. No Kafka broker is packaged in
 * Debian or npm, and the L7 parsers need real client traffic to be checked against.
 *
 * It speaks: ApiVersions 0–3, Metadata 0–12, Produce 3–7 (record batches v2 stored opaquely, base offsets
 * rewritten), ListOffsets 1–5, Fetch 4–11 (returns stored batches), and for a consumer group with ONE member at
 * a time (kafka-groups.ts): FindCoordinator 0–2, JoinGroup 0–4, SyncGroup 0–2, Heartbeat 0–2, OffsetFetch 1–7,
 * OffsetCommit 2–5, LeaveGroup 0–2. No replication, transactions, compression handling, ACLs or SASL.
 * Unknown topics get UNKNOWN_TOPIC_OR_PARTITION (3) unless autoCreateTopics is on.
 */
import net from 'node:net';
import { isFlexible, responseHeaderVersion } from '../kafka-apis';
import { KafkaTestGroups } from './kafka-groups';
import { ERR, In, NODE_ID, Out } from './kafka-wire';

const SUPPORTED: Record<number, [number, number]> = {
  18: [0, 3], // ApiVersions
  3: [0, 12], // Metadata
  0: [3, 7], // Produce
  2: [1, 5], // ListOffsets
  1: [4, 11], // Fetch
  10: [0, 2], // FindCoordinator
  11: [0, 4], // JoinGroup
  14: [0, 2], // SyncGroup
  12: [0, 2], // Heartbeat
  9: [1, 7], // OffsetFetch (flexible from 6: librdkafka's v7 exercises header v2 from a real client)
  8: [2, 5], // OffsetCommit
  13: [0, 2], // LeaveGroup
};

interface Batch {
  baseOffset: bigint;
  nextOffset: bigint;
  maxTimestamp: bigint;
  data: Buffer;
}

export interface KafkaTestBrokerOptions {
  /** Create unknown topics (1 partition) when Metadata asks with auto-creation allowed. Default off. */
  autoCreateTopics?: boolean;
  /** Topics that exist from the start, with their partition counts. */
  topics?: Record<string, number>;
}

/** The test fixture broker. `advertisedPort` may be pointed at a tee in front of it. */
export class KafkaTestBroker {
  readonly logs = new Map<string, Batch[][]>();
  private readonly groups = new KafkaTestGroups(() => this.advertisedPort);
  /** Offsets committed by consumer groups: `${group}/${topic}/${partition}` → offset. */
  readonly committed = this.groups.committed;
  /** Every (apiKey, apiVersion) served, for tests to assert on. */
  readonly served: { apiKey: number; apiVersion: number }[] = [];
  port = 0;
  advertisedPort = 0;
  private server = net.createServer((s) => this.serve(s));
  private sockets = new Set<net.Socket>();

  constructor(private readonly options: KafkaTestBrokerOptions = {}) {
    for (const [topic, partitions] of Object.entries(options.topics ?? {})) this.createTopic(topic, partitions);
  }

  createTopic(topic: string, partitions = 1): void {
    if (!this.logs.has(topic))
      this.logs.set(
        topic,
        Array.from({ length: partitions }, () => []),
      );
  }

  /** Removes a topic and its log (clients that cached its metadata then get UNKNOWN_TOPIC_OR_PARTITION). */
  deleteTopic(topic: string): void {
    this.logs.delete(topic);
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    this.advertisedPort ||= this.port;
    return this.port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: net.Socket): void {
    this.sockets.add(socket);
    let pending = Buffer.alloc(0);
    let chain = Promise.resolve();
    socket.on('close', () => this.sockets.delete(socket)).on('error', () => socket.destroy());
    socket.on('data', (d) => {
      pending = Buffer.concat([pending, d]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const frame = pending.subarray(4, 4 + pending.readInt32BE(0));
        pending = pending.subarray(4 + frame.length);
        chain = chain.then(async () => {
          try {
            const reply = await this.handle(frame);
            if (reply && !socket.destroyed) socket.write(Buffer.concat([int32(reply.length), reply]));
          } catch {
            socket.destroy(); // a request this fixture cannot decode: drop the connection like a broker would
          }
        });
      }
    });
  }

  private async handle(frame: Buffer): Promise<Buffer | undefined> {
    const r = new In(frame);
    const apiKey = r.i16();
    const v = r.i16();
    const correlationId = r.i32();
    r.str(); // client id
    const range = SUPPORTED[apiKey];
    if (!range) throw new Error(`unsupported api key ${apiKey}`);
    r.flex = isFlexible(apiKey, v);
    r.tags();
    this.served.push({ apiKey, apiVersion: v });
    const w = new Out(false).i32(correlationId);
    if (responseHeaderVersion(apiKey, v) === 1) w.uvar(0);
    w.flex = r.flex;
    if (apiKey === 18) {
      if (v > range[1]) w.flex = false; // unsupported ApiVersions version: answer in v0 with the error
      return this.apiVersions(w, v > range[1] ? 0 : v, v > range[1] ? ERR.UNSUPPORTED_VERSION : ERR.NONE).done();
    }
    if (v < range[0] || v > range[1]) throw new Error(`unsupported version ${v} of api ${apiKey}`);
    switch (apiKey) {
      case 3:
        return this.metadata(r, w, v).done();
      case 0:
        return this.produce(r, w, v)?.done();
      case 2:
        return this.listOffsets(r, w, v).done();
      case 1:
        return (await this.fetch(r, w, v)).done();
      default:
        return this.groups.handle(apiKey, r, w, v).done();
    }
  }

  private apiVersions(w: Out, v: number, error: number): Out {
    w.i16(error).arr(Object.entries(SUPPORTED), ([key, [min, max]]) => w.i16(Number(key)).i16(min).i16(max));
    if (v >= 1) w.i32(0);
    return w.tags();
  }

  private metadata(r: In, w: Out, v: number): Out {
    const requested = r.arr(() => {
      if (v >= 10) r.pos += 16;
      return r.str();
    });
    const allowCreate = v >= 4 ? r.i8() === 1 : true;
    const names = requested === null || (v === 0 && requested.length === 0) ? [...this.logs.keys()] : requested.filter((n) => n !== null);
    if (allowCreate && this.options.autoCreateTopics) for (const n of names) this.createTopic(n);
    if (v >= 3) w.i32(0);
    w.arr([NODE_ID], (id) => {
      w.i32(id).str('127.0.0.1').i32(this.advertisedPort);
      if (v >= 1) w.str(null);
    });
    if (v >= 2) w.str('sextant-test-fixture');
    if (v >= 1) w.i32(NODE_ID);
    w.arr(names, (name) => {
      const log = this.logs.get(name);
      w.i16(log ? ERR.NONE : ERR.UNKNOWN_TOPIC_OR_PARTITION).str(name);
      if (v >= 10) w.uuid();
      if (v >= 1) w.i8(0);
      w.arr(log ? log.map((_, i) => i) : [], (p) => {
        w.i16(0).i32(p).i32(NODE_ID);
        if (v >= 7) w.i32(0);
        w.ints([NODE_ID]).ints([NODE_ID]);
        if (v >= 5) w.ints([]);
      });
      if (v >= 8) w.i32(-2147483648);
    });
    if (v >= 8 && v <= 10) w.i32(-2147483648);
    return w.tags();
  }

  private produce(r: In, w: Out, v: number): Out | undefined {
    r.str(); // transactional id
    const acks = r.i16();
    r.i32(); // timeout
    const topics = r.arr(() => ({ name: r.str() ?? '', parts: r.arr(() => ({ index: r.i32(), records: r.bytes() })) ?? [] })) ?? [];
    const results = topics.map((t) => ({
      name: t.name,
      parts: t.parts.map((p) => ({ index: p.index, ...this.append(t.name, p.index, p.records) })),
    }));
    if (acks === 0) return undefined;
    w.arr(results, (t) =>
      w.str(t.name).arr(t.parts, (p) => {
        w.i32(p.index).i16(p.error).i64(p.baseOffset).i64(-1);
        if (v >= 5) w.i64(0);
      }),
    );
    return w.i32(0);
  }

  /** Appends the v2 record batches of one partition's records, rewriting their base offsets. */
  private append(topic: string, partition: number, records: Buffer | null): { error: number; baseOffset: bigint } {
    const log = this.logs.get(topic)?.[partition];
    if (!log) return { error: ERR.UNKNOWN_TOPIC_OR_PARTITION, baseOffset: -1n };
    const first = end(log);
    for (let pos = 0; records && pos + 61 <= records.length;) {
      const size = 12 + records.readInt32BE(pos + 8);
      const data = Buffer.from(records.subarray(pos, pos + size));
      const base = end(log);
      data.writeBigInt64BE(base, 0); // the CRC starts after the base offset, so it stays valid
      log.push({ baseOffset: base, nextOffset: base + BigInt(data.readInt32BE(23)) + 1n, maxTimestamp: data.readBigInt64BE(35), data });
      pos += size;
    }
    return { error: ERR.NONE, baseOffset: first };
  }

  private listOffsets(r: In, w: Out, v: number): Out {
    r.i32(); // replica id
    if (v >= 2) r.i8();
    const topics =
      r.arr(() => ({
        name: r.str() ?? '',
        parts:
          r.arr(() => {
            const index = r.i32();
            if (v >= 4) r.i32();
            return { index, timestamp: r.i64() };
          }) ?? [],
      })) ?? [];
    if (v >= 2) w.i32(0);
    w.arr(topics, (t) =>
      w.str(t.name).arr(t.parts, (p) => {
        const log = this.logs.get(t.name)?.[p.index];
        const offset = !log
          ? -1n
          : p.timestamp === -2n
            ? 0n
            : p.timestamp === -1n
              ? end(log)
              : (log.find((b) => b.maxTimestamp >= p.timestamp)?.baseOffset ?? end(log));
        w.i32(p.index)
          .i16(log ? ERR.NONE : ERR.UNKNOWN_TOPIC_OR_PARTITION)
          .i64(-1)
          .i64(offset);
        if (v >= 4) w.i32(0);
      }),
    );
    return w;
  }

  private async fetch(r: In, w: Out, v: number): Promise<Out> {
    r.i32(); // replica id
    const maxWaitMs = r.i32();
    r.i32(); // min bytes
    r.i32(); // max bytes
    r.i8(); // isolation level
    if (v >= 7) r.pos += 8; // session id, epoch
    const topics =
      r.arr(() => ({
        name: r.str() ?? '',
        parts:
          r.arr(() => {
            const index = r.i32();
            if (v >= 9) r.i32();
            const offset = r.i64();
            if (v >= 5) r.i64();
            return { index, offset, maxBytes: r.i32() };
          }) ?? [],
      })) ?? [];
    const collect = () =>
      topics.map((t) => ({
        name: t.name,
        parts: t.parts.map((p) => {
          const log = this.logs.get(t.name)?.[p.index];
          if (!log) return { ...p, error: ERR.UNKNOWN_TOPIC_OR_PARTITION, hw: -1n, data: [] as Buffer[] };
          if (p.offset > end(log)) return { ...p, error: ERR.OFFSET_OUT_OF_RANGE, hw: end(log), data: [] };
          const data: Buffer[] = [];
          let bytes = 0;
          for (const b of log) {
            if (b.nextOffset <= p.offset || (bytes > 0 && bytes + b.data.length > p.maxBytes)) continue;
            data.push(b.data);
            bytes += b.data.length;
          }
          return { ...p, error: ERR.NONE, hw: end(log), data };
        }),
      }));
    let result = collect();
    // Like a broker's long poll (capped): wait a little for data instead of letting consumers spin.
    for (
      const until = Date.now() + Math.min(maxWaitMs, 250);
      result.every((t) => t.parts.every((p) => p.data.length === 0)) && Date.now() < until;
    ) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      result = collect();
    }
    w.i32(0);
    if (v >= 7) w.i16(ERR.NONE).i32(0);
    w.arr(result, (t) =>
      w.str(t.name).arr(t.parts, (p) => {
        w.i32(p.index).i16(p.error).i64(p.hw).i64(p.hw);
        if (v >= 5) w.i64(0);
        w.arr([], () => undefined);
        if (v >= 11) w.i32(-1);
        w.bytes(Buffer.concat(p.data));
      }),
    );
    return w;
  }
}

function end(log: Batch[]): bigint {
  return log.at(-1)?.nextOffset ?? 0n;
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}
