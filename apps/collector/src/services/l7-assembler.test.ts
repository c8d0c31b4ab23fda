/**
 * L7Assembler connection lifetime: the TCP close and the L7 data come through two ring buffers that are not
 * ordered with each other, and the kernel reuses a socket's address at once. Records are built in the
 * kernel's wire layout (sx_l7_header + data) and read through the same L7Record class as the probes'.
 */
import { L7Record, SX_DIR_CLIENT, SX_L7_EGRESS, SX_L7_HEADER_SIZE, SX_L7_INGRESS } from '@sextant/bpf';
import { describe, expect, it } from 'vitest';
import { Clock, FlowAssembler } from './flow-assembler';
import { IdentityResolver } from './identity';
import { L7Assembler } from './l7-assembler';
import { ListenerTable } from './listeners';

const SOCK = 0xffff888100000100n; // one kernel socket address, reused by every connection below
const MS = 1_000_000n;
const PEER = [10, 9, 8, 7];

function record(ino: bigint, tsNs: bigint, direction: number, text: string): L7Record {
  const data = Buffer.from(text, 'latin1');
  const buf = Buffer.alloc(SX_L7_HEADER_SIZE + data.length);
  buf.writeBigUInt64LE(SOCK, 0);
  buf.writeBigUInt64LE(ino, 8);
  buf.writeBigUInt64LE(tsNs, 16);
  buf.writeUInt32LE(4242, 32); // pid
  buf.writeUInt32LE(data.length, 36); // total
  buf.writeUInt32LE(data.length, 40); // captured
  buf.writeUInt16LE(40000 + Number(ino % 1000n), 44);
  buf.writeUInt16LE(8080, 46);
  buf.writeUInt8(4, 48); // IPv4
  buf.writeUInt8(6, 49); // TCP
  buf.writeUInt8(direction, 50);
  buf.writeUInt8(SX_DIR_CLIENT, 53);
  buf.set([10, 0, 0, 1], 56);
  buf.set(PEER, 72);
  buf.write('client', 88, 'latin1');
  data.copy(buf, SX_L7_HEADER_SIZE);
  return new L7Record(buf, 0, buf.length);
}

const request = (ino: bigint, ts: bigint, path: string) => record(ino, ts, SX_L7_EGRESS, `GET ${path} HTTP/1.1\r\nHost: api\r\n\r\n`);
const response = (ino: bigint, ts: bigint) => record(ino, ts, SX_L7_INGRESS, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
const close = (startNs: bigint, endNs: bigint) => ({ sockId: SOCK, startNs, endNs, direction: SX_DIR_CLIENT, daddr: PEER.join('.') });

function assembler(): L7Assembler {
  const identity = new IdentityResolver({ nodeName: 'n1' });
  return new L7Assembler(new FlowAssembler('n1', identity, new ListenerTable(), new Clock()), identity, 'n1');
}

describe('L7Assembler: connections on a reused socket address', () => {
  it('flushes each connection at its own close, whether the close comes after its data or before it', () => {
    const a = assembler();
    const t = 10_000n * MS;
    // Three connections one after the other on one address; #2's request is never answered.
    const events = a.push([request(101n, t + 1n * MS, '/one'), response(101n, t + 2n * MS), request(102n, t + 11n * MS, '/two')]);
    expect(events.map((e) => [e.type, e.http?.path])).toEqual([['RESPONSE', '/one']]);
    // The TCP ring is ahead: #1 and #2 closed, and #3 (data not seen yet) too.
    a.connectionClosed(close(t, t + 3n * MS));
    a.connectionClosed(close(t + 10n * MS, t + 13n * MS));
    a.connectionClosed(close(t + 20n * MS, t + 23n * MS));
    expect(a.push([request(103n, t + 21n * MS, '/three'), response(103n, t + 22n * MS)]).map((e) => e.http?.path)).toEqual(['/three']);
    expect(a.stats().connections).toBe(3);
    // Not yet: data of them was processed moments ago, more may still be in the ring.
    expect(a.tick(Date.now())).toEqual([]);
    // A fourth connection on the address, never closed; then quiet: the three closed ones are flushed, and
    // #2's unanswered request comes out as a REQUEST event.
    const later = t + 2_000n * MS;
    a.push([request(104n, later, '/four')]);
    const flushed = a.tick(Date.now() + 3_000);
    expect(flushed.map((e) => [e.type, e.http?.path])).toEqual([['REQUEST', '/two']]);
    expect(a.stats().connections).toBe(1);
    // #4 stays until its own close.
    a.connectionClosed(close(later - MS, later + MS));
    expect(a.tick(Date.now() + 3_000).map((e) => [e.type, e.http?.path])).toEqual([['REQUEST', '/four']]);
    expect(a.stats().connections).toBe(0);
  });

  it('does not let a close of one connection flush another that reused the address later', () => {
    const a = assembler();
    const t = 50_000n * MS;
    a.push([request(201n, t + 1n * MS, '/old'), response(201n, t + 2n * MS)]);
    a.push([request(202n, t + 10n * MS, '/new')]); // in flight, its response still to come
    a.connectionClosed(close(t, t + 3n * MS)); // the old connection's close
    expect(a.tick(Date.now() + 3_000)).toEqual([]); // flushes /old (nothing left to report), not /new
    expect(a.stats().connections).toBe(1);
    expect(a.push([response(202n, t + 1_001n * MS)]).map((e) => [e.type, e.http?.path, e.latencyNs])).toEqual([
      ['RESPONSE', '/new', 991_000_000],
    ]);
  });
});
