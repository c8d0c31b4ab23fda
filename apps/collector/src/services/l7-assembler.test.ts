/**
 * L7Assembler connection lifetime: the TCP close and the L7 data come through two ring buffers that are not
 * ordered with each other, and the kernel reuses a socket's address at once. Records are built in the
 * kernel's wire layout (sx_l7_header + data) and read through the same L7Record class as the probes'.
 */
import { SX_L7_EGRESS, SX_L7_INGRESS, type TcpConnEvent } from '@sextant/bpf';
import { FLOW_IX, type L7EventInput } from '@sextant/shared';
import { describe, expect, it } from 'vitest';
import { Clock, FlowAssembler } from './flow-assembler';
import { IdentityResolver } from './identity';
import { L7Assembler } from './l7-assembler';
import { ListenerTable } from './listeners';
import { l7Record, tcpCloseEvent } from '../testing/kernel-events';

const SOCK = 0xffff888100000100n; // one kernel socket address, reused by every connection below
const MS = 1_000_000n;
const PEER = [10, 9, 8, 7];

const record = (ino: bigint, tsNs: bigint, direction: number, text: string) =>
  l7Record({ sockId: SOCK, sockIno: ino, tsNs, direction, data: text, sport: 40000 + Number(ino % 1000n), daddr: PEER });

const request = (ino: bigint, ts: bigint, path: string) => record(ino, ts, SX_L7_EGRESS, `GET ${path} HTTP/1.1\r\nHost: api\r\n\r\n`);
const response = (ino: bigint, ts: bigint) => record(ino, ts, SX_L7_INGRESS, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');

/** The client socket's final TCP event for a connection on SOCK. */
function tcpClose(startNs: bigint, endNs: bigint): TcpConnEvent {
  return tcpCloseEvent({
    ...{ sockId: SOCK, startNs, endNs, connectNs: 40_000, pid: 4242, comm: 'client' },
    ...{ bytesAcked: 100, bytesReceived: 200, segsOut: 5, srttUs: 30, saddr: '10.0.0.1', daddr: PEER.join('.'), dport: 8080 },
  });
}

/** An L7 assembler and its flow assembler, closes fed to both as the collector does (L7 first, then the rows). */
function assembler(): L7Assembler & { close(startNs: bigint, endNs: bigint): string; closeOther(sockId: bigint, endNs: bigint): void } {
  const identity = new IdentityResolver({ nodeName: 'n1' });
  const flows = new FlowAssembler('n1', identity, new ListenerTable(), new Clock());
  const a = new L7Assembler(flows, identity, 'n1');
  return Object.assign(a, {
    /** Reports the connection closed; returns its flow row's id. */
    close(startNs: bigint, endNs: bigint): string {
      const e = tcpClose(startNs, endNs);
      a.connectionClosed(e);
      return flows.tcpRows([e])[0]![FLOW_IX.id];
    },
    /** Another socket's connection (no L7 data) closes. */
    closeOther(sockId: bigint, endNs: bigint): void {
      const e = { ...tcpClose(endNs - MS, endNs), sockId };
      a.connectionClosed(e);
      flows.tcpRows([e]);
    },
  });
}

describe('L7Assembler: connections on a reused socket address', () => {
  it('flushes each connection at its own close, whether the close comes after its data or before it', () => {
    const a = assembler();
    const t = 10_000n * MS;
    // Three connections one after the other on one address; #2's request is never answered.
    const events = a.push([request(101n, t + 1n * MS, '/one'), response(101n, t + 2n * MS), request(102n, t + 11n * MS, '/two')]);
    expect(events.map((e) => [e.type, e.http?.path])).toEqual([['RESPONSE', '/one']]);
    // The TCP ring is ahead: #1 and #2 closed, and #3 (data not seen yet) too.
    a.close(t, t + 3n * MS);
    a.close(t + 10n * MS, t + 13n * MS);
    a.close(t + 20n * MS, t + 23n * MS);
    expect(a.push([request(103n, t + 21n * MS, '/three'), response(103n, t + 22n * MS)]).map((e) => e.http?.path)).toEqual(['/three']);
    expect(a.stats().connections).toBe(3);
    // Not yet: data of them was processed moments ago, more may still be in the ring.
    expect(a.tick(Date.now())).toEqual([]);
    // A fourth connection on the address, never closed: its data, captured long after the three closes, says no
    // more data of theirs can come, so they are flushed with it, and #2's unanswered request comes out as a
    // REQUEST event.
    const later = t + 2_000n * MS;
    expect(a.push([request(104n, later, '/four')]).map((e) => [e.type, e.http?.path])).toEqual([['REQUEST', '/two']]);
    expect(a.stats().connections).toBe(1);
    expect(a.tick(Date.now() + 3_000)).toEqual([]);
    // #4 stays until its own close.
    a.close(later - MS, later + MS);
    expect(a.tick(Date.now() + 3_000).map((e) => [e.type, e.http?.path])).toEqual([['REQUEST', '/four']]);
    expect(a.stats().connections).toBe(0);
  });

  it('flushes a closed connection as soon as data captured 200 ms after its close is read, not before', () => {
    const a = assembler();
    const t = 30_000n * MS;
    a.push([request(151n, t + 1n * MS, '/a')]); // never answered
    a.close(t, t + 5n * MS);
    // Other connections' data, captured 100 ms after the close (a CPU's records can lag in the ring): held
    expect(a.push([request(152n, t + 105n * MS, '/b')])).toEqual([]);
    expect(a.stats().connections).toBe(2);
    // 210 ms after it: flushed at once, without waiting for the quiet time
    expect(a.push([request(153n, t + 215n * MS, '/c')]).map((e) => [e.type, e.http?.path])).toEqual([['REQUEST', '/a']]);
    expect(a.stats().connections).toBe(2);
  });

  it('does not let a close of one connection flush another that reused the address later', () => {
    const a = assembler();
    const t = 50_000n * MS;
    a.push([request(201n, t + 1n * MS, '/old'), response(201n, t + 2n * MS)]);
    a.push([request(202n, t + 10n * MS, '/new')]); // in flight, its response still to come
    a.close(t, t + 3n * MS); // the old connection's close
    expect(a.tick(Date.now() + 3_000)).toEqual([]); // flushes /old (nothing left to report), not /new
    expect(a.stats().connections).toBe(1);
    expect(a.push([response(202n, t + 1_001n * MS)]).map((e) => [e.type, e.http?.path, e.latencyNs])).toEqual([
      ['RESPONSE', '/new', 991_000_000],
    ]);
  });

  it("joins each record to its connection's flow row, whether the row was built before the record or after", () => {
    const a = assembler();
    const t = 90_000n * MS;
    // #1: its data is read first, its close after: the row takes the id the record got.
    const [one] = a.push([request(301n, t + 1n * MS, '/one'), response(301n, t + 2n * MS)]) as [L7EventInput];
    expect(a.close(t, t + 3n * MS)).toBe(one.flowId);
    // #2 and #3 on the same address are closed (rows built) before any of their data is read, and between them
    // and their data 5,000 other connections close: each record still gets its own connection's id.
    const two = a.close(t + 10n * MS, t + 13n * MS);
    const three = a.close(t + 20n * MS, t + 23n * MS);
    for (let i = 0; i < 5_000; i++) a.closeOther(0xffff888200000000n + BigInt(i) * 64n, t + 24n * MS + BigInt(i) * 1_000n);
    const late = a.push([
      request(303n, t + 21n * MS, '/three'),
      response(303n, t + 22n * MS),
      request(302n, t + 11n * MS, '/two'),
      response(302n, t + 12n * MS),
    ]);
    expect(late.map((e) => [e.http?.path, e.flowId])).toEqual([
      ['/three', three],
      ['/two', two],
    ]);
    expect(new Set([one.flowId, two, three]).size).toBe(3);
    // Both are flushed as closed (nothing waits for a close that was already read).
    expect(a.tick(Date.now() + 3_000)).toEqual([]);
    expect(a.stats().connections).toBe(0);
  });

  it("keeps an earlier connection's late response off the id of a later connection on the same address", () => {
    const a = assembler();
    const t = 120_000n * MS;
    // A's request is read, then A's close; B (the address reused) completes an exchange while A's response is
    // still in the ring; then A's response; then B's close.
    expect(a.push([request(401n, t + 1n * MS, '/a')])).toEqual([]);
    const rowA = a.close(t, t + 3n * MS);
    const [b] = a.push([request(402n, t + 11n * MS, '/b'), response(402n, t + 12n * MS)]) as [L7EventInput];
    const [lateA] = a.push([response(401n, t + 2n * MS)]) as [L7EventInput];
    expect([lateA.http?.path, lateA.flowId]).toEqual(['/a', rowA]);
    expect(a.close(t + 10n * MS, t + 13n * MS)).toBe(b.flowId);
    expect(b.flowId).not.toBe(rowA);
  });

  it("drops a kept exchange's parser state once the exchange is out, not at the close; full-path connections keep theirs", () => {
    const a = assembler();
    const t = 180_000n * MS;
    const sampled = (ino: bigint, ts: bigint, direction: number, text: string) =>
      l7Record({ sockId: SOCK, sockIno: ino, tsNs: ts, direction, data: text, sport: 41000, daddr: PEER, kept: 4 });
    const head = 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n';
    // A kept exchange whose response body comes in a second record: the state lives until the body is in.
    expect(
      a.push([
        sampled(601n, t + 1n * MS, SX_L7_EGRESS, 'GET /s1 HTTP/1.1\r\n\r\n'),
        sampled(601n, t + 2n * MS, SX_L7_INGRESS, `${head}ok`),
      ]),
    ).toEqual([]);
    expect(a.stats().connections).toBe(1);
    const [one] = a.push([sampled(601n, t + 3n * MS, SX_L7_INGRESS, 'ok')]) as [L7EventInput];
    expect([one.http?.path, one.http?.code, one.sampling, one.http?.responseBytes]).toEqual(['/s1', 200, 'sampled', head.length + 4]);
    expect(a.stats().connections).toBe(0);
    // The next kept exchange on the same socket is parsed from scratch, on the same flow.
    const [two] = a.push([
      sampled(601n, t + 5n * MS, SX_L7_EGRESS, 'GET /s2 HTTP/1.1\r\n\r\n'),
      sampled(601n, t + 6n * MS, SX_L7_INGRESS, `${head}okok`),
    ]) as [L7EventInput];
    expect([two.http?.path, two.sampling, two.flowId]).toEqual(['/s2', 'sampled', one.flowId]);
    expect(a.stats().connections).toBe(0);
    // A full-path connection (another socket) keeps its state between exchanges: its stream is whole, a message may
    // span records.
    const other = (ts: bigint, direction: number, text: string) =>
      l7Record({ sockId: SOCK + 64n, sockIno: 602n, tsNs: ts, direction, data: text, sport: 41001, daddr: PEER });
    const full = a.push([other(t + 7n * MS, SX_L7_EGRESS, 'GET /f HTTP/1.1\r\n\r\n'), other(t + 8n * MS, SX_L7_INGRESS, `${head}okok`)]);
    expect(full.map((e) => [e.http?.path, e.sampling])).toEqual([['/f', undefined]]);
    expect(a.stats().connections).toBe(1);
    // The kept exchange's connection closes with nothing left to flush; its flow row has the exchanges' id.
    expect(a.close(t, t + 9n * MS)).toBe(one.flowId);
    expect(a.tick(Date.now() + 3_000)).toEqual([]);
  });

  it('gives each of two connections on one address its own id when both are read before either close', () => {
    const a = assembler();
    const t = 150_000n * MS;
    const [x] = a.push([request(501n, t + 1n * MS, '/x'), response(501n, t + 2n * MS)]) as [L7EventInput];
    const [y] = a.push([request(502n, t + 11n * MS, '/y'), response(502n, t + 12n * MS)]) as [L7EventInput];
    expect(y.flowId).not.toBe(x.flowId);
    expect(a.close(t, t + 3n * MS)).toBe(x.flowId);
    expect(a.close(t + 10n * MS, t + 13n * MS)).toBe(y.flowId);
  });
});
