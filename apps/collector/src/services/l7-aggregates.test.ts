/**
 * Kernel aggregates as drained (records shaped as the probes decode them) → wire rows, with real naming: a
 * listener of this process names a same-host server, this process's pid names the local end, a SelfMarker
 * labels it sextant:self. The rows go through prepareBatch and the server's own schema.
 */
import type { L7AggregateRecord } from '@sextant/bpf';
import { decodeL7Aggregates, IngestBatch, SELF_LABEL } from '@sextant/shared';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Clock, FlowAssembler } from './flow-assembler';
import { IdentityResolver } from './identity';
import { L7AggregateBuilder } from './l7-aggregates';
import { ListenerTable } from './listeners';
import { prepareBatch } from './prepared-batch';

let listener: net.Server;
let port = 0;
beforeAll(async () => {
  listener = net.createServer();
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  port = (listener.address() as net.AddressInfo).port;
});
afterAll(() => listener.close());

function aggregate(o: Partial<L7AggregateRecord>): L7AggregateRecord {
  return {
    cgroupId: 0n,
    pid: process.pid,
    comm: 'node',
    family: 4,
    laddr: '127.0.0.1',
    raddr: '127.0.0.1',
    lport: 0,
    rport: port,
    role: 'client',
    protocol: 'http',
    method: 'GET',
    status: 200,
    count: 10,
    latencySumNs: 25_000_000n,
    requestBytes: 780,
    responseBytes: 12_340,
    firstNs: 1n,
    lastNs: 2n,
    idx: [150, 151],
    cnt: [4, 6],
    ...o,
  };
}

function builder(isSelf: (pid: number) => boolean = () => false) {
  const identity = new IdentityResolver({ nodeName: 'node-a', isSelf });
  return new L7AggregateBuilder(new FlowAssembler('node-a', identity, new ListenerTable(), new Clock()));
}

describe('L7 aggregate rows', () => {
  it('names a client key: this process as the source (no ephemeral port), the same-host listener as the destination', () => {
    const b = builder();
    const start = Date.now() - 10_000;
    const rows = b.rows(
      [aggregate({}), aggregate({ method: 'POST', status: 503, count: 3, latencySumNs: 3n, idx: [1], cnt: [3] })],
      start,
      10,
    );
    expect(rows).toHaveLength(2);
    const [get, post] = rows;
    expect(get).toMatchObject({
      time: start,
      windowSeconds: 10,
      protocol: 'http',
      reporter: 'client',
      method: 'GET',
      code: 200,
      count: 10,
    });
    expect(get!.latencySumNs).toBe(25_000_000);
    expect([get!.requestBytes, get!.responseBytes, get!.tls]).toEqual([780, 12_340, undefined]);
    expect([get!.idx, get!.cnt]).toEqual([
      [150, 151],
      [4, 6],
    ]);
    expect(get!.source).toMatchObject({ ip: '127.0.0.1', process: { pid: process.pid } });
    expect(get!.source.port).toBeUndefined();
    // the listener is this process: the destination is named the way a client connection's server is
    expect(get!.destination).toMatchObject({ ip: '127.0.0.1', port, process: { pid: process.pid } });
    expect(post).toMatchObject({ method: 'POST', code: 503, count: 3 });
    expect(b.stats).toEqual({ keys: 2, exchanges: 13, skippedLocalServer: 0 });
  });

  it('names a server key: the remote client by address as the source, this process at its port as the destination', () => {
    const b = builder();
    const [row] = b.rows([aggregate({ role: 'server', laddr: '127.0.0.1', lport: port, raddr: '203.0.113.9', rport: 0 })], Date.now(), 5);
    expect(row!.reporter).toBe('server');
    expect(row!.source).toEqual({ ip: '203.0.113.9' });
    expect(row!.destination).toMatchObject({ ip: '127.0.0.1', port, process: { pid: process.pid } });
  });

  it('leaves out the server side of a same-host exchange (its client counts it) and empty keys', () => {
    const b = builder();
    const rows = b.rows(
      [aggregate({ role: 'server', lport: port, rport: 0 }), aggregate({ count: 0, requestBytes: 0, responseBytes: 0 })],
      Date.now(),
      5,
    );
    expect(rows).toEqual([]);
    expect(b.stats).toEqual({ keys: 2, exchanges: 0, skippedLocalServer: 1 });
  });

  it('keeps a key with bytes only (later response chunks of exchanges counted before) and a TLS source', () => {
    const b = builder();
    const rows = b.rows(
      [aggregate({ count: 0, requestBytes: 0, responseBytes: 65_536 }), aggregate({ tls: 'openssl', status: 201 })],
      Date.now(),
      5,
    );
    expect(rows.map((r) => [r.code, r.count, r.requestBytes, r.responseBytes, r.tls])).toEqual([
      [200, 0, 0, 65_536, undefined],
      [201, 10, 780, 12_340, 'openssl'],
    ]);
    expect(b.stats.exchanges).toBe(10);
  });

  it('labels Sextant’s own processes sextant:self, as for flows', () => {
    const [row] = builder((pid) => pid === process.pid).rows([aggregate({})], Date.now(), 5);
    expect(row!.source.labels).toEqual([SELF_LABEL]);
    expect(row!.destination.labels).toEqual([SELF_LABEL]);
  });

  it('goes out in a batch the server accepts, endpoints interned once, decoding to the same aggregates', () => {
    const rows = builder().rows(
      Array.from({ length: 50 }, (_, i) => aggregate({ status: 200 + (i % 5), count: i + 1 })),
      Date.now() - 10_000,
      10,
    );
    const p = prepareBatch({ batchId: crypto.randomUUID(), sentAt: Date.now(), flows: [], l7Aggregates: rows }, { nodeName: 'node-a' });
    expect(p.records).toBe(50);
    const batch = IngestBatch.parse(JSON.parse(p.body.toString()));
    expect(batch.l7Aggregates).toHaveLength(50);
    // one identity for 50 rows: this process, as the client and as the port's listener (named from the port as the
    // process's own sockets name it)
    expect(batch.endpoints).toHaveLength(1);
    const decoded = decodeL7Aggregates(batch.l7Aggregates, batch.endpoints);
    expect(decoded.map((a) => [a.code, a.count, a.requestBytes, a.responseBytes, a.source.ip, a.destination.port])).toEqual(
      rows.map((r) => [r.code, r.count, 780, 12_340, '127.0.0.1', port]),
    );
  });
});
