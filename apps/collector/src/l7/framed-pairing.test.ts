/**
 * DNS (UDP datagrams, TCP 2-byte framing) and Kafka (4-byte framing) through the engine: pairing by id,
 * framing across splits and gaps; and real kafkajs traffic through the TCP tee against the test broker.
 */
import { execFile, spawn } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { L7Engine } from './engine';
import { kafkaApiName } from './kafka-apis';
import { KafkaTestBroker } from './testing/kafka-broker';
import { startChunkTee } from './testing/tcp-tee';
import type { L7Chunk, L7Exchange } from './types';

const MS = 1_000_000n;

function qname(name: string): Buffer {
  return Buffer.concat([...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
}

function dnsQuery(id: number, name: string, qtype = 1): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(0x0100, 2);
  h.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(qtype, 0);
  tail.writeUInt16BE(1, 2);
  return Buffer.concat([h, qname(name), tail]);
}

function dnsResponse(id: number, name: string, ips: string[], rcode = 0, ttl = 300): Buffer {
  const q = dnsQuery(id, name);
  q.writeUInt16BE(0x8180 | rcode, 2);
  q.writeUInt16BE(ips.length, 6);
  const answers = ips.map((ip) => {
    const a = Buffer.alloc(16);
    a.writeUInt16BE(0xc00c, 0);
    a.writeUInt16BE(1, 2);
    a.writeUInt16BE(1, 4);
    a.writeUInt32BE(ttl, 6);
    a.writeUInt16BE(4, 10);
    ip.split('.').forEach((o, i) => a.writeUInt8(Number(o), 12 + i));
    return a;
  });
  return Buffer.concat([q, ...answers]);
}

const framed2 = (m: Buffer) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]);

function chunk(
  connId: bigint,
  transport: 'tcp' | 'udp',
  direction: 'egress' | 'ingress',
  data: Buffer,
  tsMs: number,
  extra: Partial<L7Chunk> = {},
): L7Chunk {
  return { connId, transport, direction, timestampNs: BigInt(tsMs) * MS, data, totalLength: data.length, ...extra };
}

describe('DNS through the engine', () => {
  it('pairs UDP queries with responses by id, in any order', () => {
    const engine = new L7Engine();
    const out = [
      chunk(1n, 'udp', 'egress', dnsQuery(0x1111, 'api.example.com'), 1),
      chunk(1n, 'udp', 'egress', dnsQuery(0x2222, 'nope.example.com', 28), 2),
      chunk(1n, 'udp', 'ingress', dnsResponse(0x2222, 'nope.example.com', [], 3), 4),
      chunk(1n, 'udp', 'ingress', dnsResponse(0x1111, 'api.example.com', ['10.0.0.1', '10.0.0.2'], 0, 60), 7),
    ].flatMap((c) => engine.push(c));
    expect(out).toEqual([
      {
        connId: 1n,
        protocol: 'dns',
        role: 'client',
        requestTimeNs: 2n * MS,
        responseTimeNs: 4n * MS,
        latencyNs: 2n * MS,
        dns: { query: 'nope.example.com', id: 0x2222, qtypes: ['AAAA'], rcode: 3, ips: [], cnames: [], rrtypes: [], transport: 'udp' },
      },
      {
        connId: 1n,
        protocol: 'dns',
        role: 'client',
        requestTimeNs: 1n * MS,
        responseTimeNs: 7n * MS,
        latencyNs: 6n * MS,
        dns: {
          query: 'api.example.com',
          id: 0x1111,
          qtypes: ['A'],
          rcode: 0,
          ips: ['10.0.0.1', '10.0.0.2'],
          ttl: 60,
          cnames: [],
          rrtypes: ['A', 'A'],
          transport: 'udp',
        },
      },
    ]);
    expect(engine.stats()).toMatchObject({ exchanges: 2, unparsedBytes: 0, byProtocol: { dns: 2, http: 0, kafka: 0 } });
  });

  it('keeps same-id queries from different peers apart on a server socket', () => {
    const engine = new L7Engine();
    const a = { peer: { ip: '10.0.0.5', port: 4000 } };
    const b = { peer: { ip: '10.0.0.6', port: 4000 } };
    const out = [
      chunk(9n, 'udp', 'ingress', dnsQuery(7, 'a.test'), 1, a),
      chunk(9n, 'udp', 'ingress', dnsQuery(7, 'b.test'), 2, b),
      chunk(9n, 'udp', 'egress', dnsResponse(7, 'b.test', ['1.1.1.1']), 3, b),
      chunk(9n, 'udp', 'egress', dnsResponse(7, 'a.test', ['2.2.2.2']), 5, a),
    ].flatMap((c) => engine.push(c));
    expect(out.map((e) => [e.role, e.dns?.query, e.dns?.ips, e.latencyNs])).toEqual([
      ['server', 'b.test', ['1.1.1.1'], MS],
      ['server', 'a.test', ['2.2.2.2'], 4n * MS],
    ]);
  });

  it('frames DNS over TCP with responses split at every byte offset, and flushes the unanswered at close', () => {
    const queries = Buffer.concat([framed2(dnsQuery(1, 'one.test')), framed2(dnsQuery(2, 'two.test')), framed2(dnsQuery(3, 'three.test'))]);
    const responses = Buffer.concat([framed2(dnsResponse(1, 'one.test', ['1.0.0.1'])), framed2(dnsResponse(2, 'two.test', ['2.0.0.2']))]);
    for (let cut = 0; cut <= responses.length; cut++) {
      const engine = new L7Engine();
      const chunks = [chunk(5n, 'tcp', 'egress', queries, 1)];
      if (cut > 0) chunks.push(chunk(5n, 'tcp', 'ingress', responses.subarray(0, cut), 2));
      if (cut < responses.length) chunks.push(chunk(5n, 'tcp', 'ingress', responses.subarray(cut), 3));
      const out = [...chunks.flatMap((c) => engine.push(c)), ...engine.closeConnection(5n)];
      expect(
        out.map((e) => [e.dns?.query, e.dns?.ips, e.dns?.transport, e.responseTimeNs !== undefined]),
        `cut ${cut}`,
      ).toEqual([
        ['one.test', ['1.0.0.1'], 'tcp', true],
        ['two.test', ['2.0.0.2'], 'tcp', true],
        ['three.test', undefined, 'tcp', false],
      ]);
      expect(engine.stats()).toMatchObject({ unanswered: 1, unparsedBytes: 0 });
    }
  });

  it('skips a gap inside a TCP DNS frame by its length and stays in sync', () => {
    const engine = new L7Engine();
    const big = framed2(
      dnsResponse(
        1,
        'big.test',
        Array.from({ length: 30 }, (_, i) => `10.0.0.${i}`),
      ),
    );
    const out = [
      chunk(6n, 'tcp', 'egress', Buffer.concat([framed2(dnsQuery(1, 'big.test')), framed2(dnsQuery(2, 'small.test'))]), 1),
      { ...chunk(6n, 'tcp', 'ingress', big.subarray(0, 100), 2), totalLength: big.length }, // capture cut inside the answers
      chunk(6n, 'tcp', 'ingress', framed2(dnsResponse(2, 'small.test', ['9.9.9.9'])), 3),
    ].flatMap((c) => engine.push(c));
    expect(out.at(-1)!.dns).toMatchObject({ query: 'small.test', ips: ['9.9.9.9'] });
    expect(engine.stats().parsedBytes + engine.stats().unparsedBytes).toBe(
      framed2(dnsQuery(1, 'big.test')).length +
        framed2(dnsQuery(2, 'small.test')).length +
        big.length +
        framed2(dnsResponse(2, 'small.test', ['9.9.9.9'])).length,
    );
  });
});

/** ApiVersions v0 request frame (size prefix included): header v1 with a client id. */
function apiVersionsRequest(correlationId: number, clientId = 'c1'): Buffer {
  const body = Buffer.alloc(8 + 2 + clientId.length);
  body.writeInt16BE(18, 0);
  body.writeInt16BE(0, 2);
  body.writeInt32BE(correlationId, 4);
  body.writeInt16BE(clientId.length, 8);
  body.write(clientId, 10);
  return Buffer.concat([Buffer.from([0, 0, 0, body.length]), body]);
}

function apiVersionsResponse(correlationId: number, errorCode: number): Buffer {
  const body = Buffer.alloc(4 + 2 + 4);
  body.writeInt32BE(correlationId, 0);
  body.writeInt16BE(errorCode, 4);
  body.writeInt32BE(0, 6);
  return Buffer.concat([Buffer.from([0, 0, 0, body.length]), body]);
}

describe('Kafka framing through the engine', () => {
  it('pairs by correlation id across splits, with a gap skipped inside a large frame', () => {
    const engine = new L7Engine();
    // A Produce-sized request whose capture stopped early: the size prefix says 5000 bytes.
    const bigHead = apiVersionsRequest(41).subarray(0, 16);
    const big = Buffer.from(bigHead);
    big.writeInt32BE(5000, 0);
    const reqs = Buffer.concat([apiVersionsRequest(42), apiVersionsRequest(43)]);
    const res = Buffer.concat([apiVersionsResponse(41, 0), apiVersionsResponse(42, 35), apiVersionsResponse(43, 0)]);
    const out: L7Exchange[] = [];
    out.push(...engine.push({ ...chunk(3n, 'tcp', 'egress', big, 1), totalLength: 5004 }));
    out.push(...engine.push(chunk(3n, 'tcp', 'egress', reqs.subarray(0, 7), 2)));
    out.push(...engine.push(chunk(3n, 'tcp', 'egress', reqs.subarray(7), 3)));
    out.push(...engine.push(chunk(3n, 'tcp', 'ingress', res.subarray(0, 13), 5)));
    out.push(...engine.push(chunk(3n, 'tcp', 'ingress', res.subarray(13), 6)));
    expect(out.map((e) => [e.role, e.kafka?.apiKey, e.kafka?.correlationId, e.kafka?.clientId, e.kafka?.errorCode, e.latencyNs])).toEqual([
      ['client', 'ApiVersions', 41, 'c1', 0, 4n * MS],
      ['client', 'ApiVersions', 42, 'c1', 35, 4n * MS],
      ['client', 'ApiVersions', 43, 'c1', 0, 3n * MS],
    ]);
    expect(engine.stats()).toMatchObject({ unparsedBytes: 0, parsedBytes: 5004 + reqs.length + res.length });
  });

  it('kafkajs through the TCP tee: every request kafkajs saw answered comes out as one exchange', async () => {
    const broker = new KafkaTestBroker({ topics: { payments: 1 } });
    await broker.start();
    const tee = await startChunkTee(broker.port);
    broker.advertisedPort = tee.port;
    const kafka = new Kafka({
      clientId: 'l7-engine',
      brokers: [`127.0.0.1:${tee.port}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 1, initialRetryTime: 50 },
    });
    const truth: string[] = [];
    try {
      const producer = kafka.producer();
      producer.on(producer.events.REQUEST, (e) =>
        truth.push(`${kafkaApiName(e.payload.apiKey)} v${e.payload.apiVersion} #${e.payload.correlationId}`),
      );
      await producer.connect();
      await producer.send({ topic: 'payments', messages: [{ value: '1' }, { value: '2' }] });
      await producer.send({ topic: 'payments', messages: [{ value: '3' }] });
      await producer.disconnect();
      await tee.waitClosed(tee.connections);
    } finally {
      await tee.close();
      await broker.stop();
    }
    const engine = new L7Engine();
    const out = tee.events.flatMap((e) => (e.kind === 'chunk' ? engine.push(e.chunk) : engine.closeConnection(e.connId)));
    const answered = out.filter((e) => e.responseTimeNs !== undefined);
    expect(answered.map((e) => `${e.kafka?.apiKey} v${e.kafka?.apiVersion} #${e.kafka?.correlationId}`).toSorted()).toEqual(
      truth.toSorted(),
    );
    const produce = answered.filter((e) => e.kafka?.apiKey === 'Produce');
    expect(produce.map((e) => [e.kafka?.topic, e.kafka?.errorCode, e.kafka?.clientId, e.role])).toEqual([
      ['payments', 0, 'l7-engine', 'client'],
      ['payments', 0, 'l7-engine', 'client'],
    ]);
    expect(engine.stats()).toMatchObject({ unparsedBytes: 0, orphanResponses: 0, unanswered: out.length - answered.length });
  });
});

describe('DNS over TCP from dig against dnsmasq through the TCP tee', () => {
  it('pairs every query of a kept-open connection with the answers dig printed', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as net.AddressInfo).port;
        probe.close(() => resolve(p));
      });
    });
    const dnsmasq = spawn('dnsmasq', [
      '--no-daemon', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts',
      '--conf-file=/dev/null', '--pid-file=', '--local=/test/', '--local-ttl=120', '--host-record=web.test,10.0.0.7,fd00::7',
      '--host-record=multi.test,10.0.0.8', '--host-record=multi.test,10.0.0.9',
    ], { stdio: ['ignore', 'ignore', 'pipe'] }); // prettier-ignore
    let log = '';
    dnsmasq.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    try {
      const deadline = Date.now() + 10_000;
      while (!log.includes('started') && !log.includes('cleared cache')) {
        if (Date.now() > deadline || dnsmasq.exitCode !== null) throw new Error(`dnsmasq did not start: ${log}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const tee = await startChunkTee(port);
      const names = [
        ['web.test', 'A'],
        ['web.test', 'AAAA'],
        ['multi.test', 'A'],
        ['nope.test', 'A'],
      ];
      const { stdout } = await promisify(execFile)('dig', [
        '+tcp',
        '+keepopen',
        '+tries=1',
        '+time=5',
        '-p',
        String(tee.port),
        '@127.0.0.1',
        ...names.flat(),
      ]);
      await tee.waitClosed(1);
      await tee.close();
      // dig's own view: one header (status, id) per query, then its answer lines.
      const truth = stdout
        .split(';; ->>HEADER<<-')
        .slice(1)
        .map((block) => ({
          status: /status: (\w+)/.exec(block)![1],
          id: Number(/id: (\d+)/.exec(block)![1]),
          ips: [...block.matchAll(/^\S+\s+\d+\s+IN\s+(?:A|AAAA)\s+(\S+)$/gm)].map((m) => m[1]),
        }));
      expect(truth).toHaveLength(4);

      const engine = new L7Engine();
      const out = tee.events.flatMap((e) => (e.kind === 'chunk' ? engine.push(e.chunk) : engine.closeConnection(e.connId)));
      expect(out.map((e) => [e.dns?.query, e.dns?.qtypes, e.dns?.transport, e.role])).toEqual(
        names.map(([n, t]) => [n, [t], 'tcp', 'client']),
      );
      expect(
        out.map((e) => ({
          status: e.dns?.rcode === 3 ? 'NXDOMAIN' : e.dns?.rcode === 0 ? 'NOERROR' : String(e.dns?.rcode),
          id: e.dns?.id,
          ips: e.dns?.ips,
        })),
      ).toEqual(truth);
      expect(out[0]!.dns?.ttl).toBe(120);
      expect(engine.stats()).toMatchObject({ unparsedBytes: 0, unanswered: 0, orphanResponses: 0 });
    } finally {
      dnsmasq.kill();
    }
  });
});
