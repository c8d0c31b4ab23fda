/**
 * The decode class of a connection from the kernel's facts in its close event (l7-coverage.ts), through the real
 * FlowAssembler: every kernel classification maps to its class, the server side of a same-node connection and
 * interim reports carry none, an HTTP/2 socket with a stream the parser could not decode is `http2-undecodable`
 * (once: the mark is consumed by its close), and a close event without the kernel's fields gets no class.
 */
import { SX_DIR_SERVER, SX_L7_EGRESS, SX_L7_INGRESS, SX_PROTO_HTTP2, type TcpConnEvent } from '@sextant/bpf';
import { FLOW_IX, type L7CoverageClass } from '@sextant/shared';
import { describe, expect, it } from 'vitest';
import { Clock, FlowAssembler } from './flow-assembler';
import { FLAG, FRAME, PREFACE } from '../l7/http2-frames';
import { IdentityResolver } from './identity';
import { L7Assembler } from './l7-assembler';
import { decide, L7CoverageClassifier } from './l7-coverage';
import { ListenerTable } from './listeners';
import { l7Record, tcpCloseEvent } from '../testing/kernel-events';
import { h2Frame as frame, literalBlock as block } from '../l7/testing/h2-wire';

type Facts = { l7Proto?: number; l7Tls?: number };

let nextSock = 1n;
/** A connection's close on a socket of its own, without the kernel's classification unless `o` has it. */
const close = (o: Partial<TcpConnEvent> & Facts = {}): TcpConnEvent =>
  tcpCloseEvent({ l7Proto: undefined, l7Tls: undefined, sockId: nextSock++, ...o });

function assembler(enabled = true) {
  const coverage = new L7CoverageClassifier(enabled);
  const flows = new FlowAssembler('node-a', new IdentityResolver({ nodeName: 'node-a' }), new ListenerTable(), new Clock(), {
    keepClosedIds: false,
    coverage,
  });
  return { coverage, classOf: (e: TcpConnEvent) => flows.tcpRows([e])[0]![FLOW_IX.l7Coverage] };
}

describe('L7 decode class per connection', () => {
  it('maps every kernel classification to its class', () => {
    const cases: [Facts & { bytes?: number }, L7CoverageClass | null][] = [
      [{ l7Proto: 1 }, 'cleartext'],
      [{ l7Proto: 2 }, 'cleartext'],
      [{ l7Proto: 3 }, 'cleartext'],
      [{ l7Proto: 4 }, 'cleartext'],
      [{ l7Proto: 5 }, 'tls-undecoded'],
      [{ l7Proto: 6 }, 'http2-midstream'],
      [{ l7Proto: 5, l7Tls: 1 }, 'tls-openssl'],
      [{ l7Proto: 5, l7Tls: 2 }, 'tls-node'],
      [{ l7Proto: 15 }, 'unrecognized'],
      [{ l7Proto: 0 }, 'unrecognized'],
      [{ l7Proto: 0, bytes: 2 }, null],
      [{ l7Proto: 9 }, null],
      [{}, null],
      [{ l7Tls: 2 }, null],
    ];
    const a = assembler();
    for (const [f, want] of cases) {
      const e = close({ ...f, ...(f.bytes !== undefined ? { bytesAcked: f.bytes, bytesReceived: f.bytes } : {}) });
      expect([f, decide(e, false)]).toEqual([f, want]);
      expect([f, a.classOf(e)]).toEqual([f, want]);
    }
    expect(a.coverage.stats()).toEqual({
      cleartext: 4,
      'tls-openssl': 1,
      'tls-node': 1,
      'tls-undecoded': 1,
      'http2-undecodable': 0,
      'http2-midstream': 1,
      unrecognized: 2,
      none: 4,
    });
  });

  it('HTTP/2 with a stream not decodable, that connection only', () => {
    const a = assembler();
    const e = close({ l7Proto: 4 });
    a.coverage.markNotDecodable(e.sockId, 1_001_000_000n);
    a.coverage.markNotDecodable(e.sockId, 1_001_000_000n);
    expect(a.classOf(e)).toBe('http2-undecodable');
    // the same socket address reused by a later connection starts clean
    const later = { ...e, startNs: 2_000_000_000n, endNs: 2_100_000_000n };
    expect(a.classOf(later)).toBe('cleartext');
    // a mark that came after its connection's close is not taken by the next connection on the address
    a.coverage.markNotDecodable(e.sockId, 1_001_000_000n);
    expect(a.classOf(later)).toBe('cleartext');
    a.coverage.markNotDecodable(e.sockId, 2_050_000_000n);
    expect(a.classOf(later)).toBe('http2-undecodable');
  });

  it('no class for interim reports, the server side of a same-node connection, or with L7 off', () => {
    const a = assembler();
    expect(a.classOf(close({ l7Proto: 1, final: 0 }))).toBeNull();
    const local = close({ l7Proto: 15, direction: SX_DIR_SERVER, saddr: '127.0.0.1', daddr: '127.0.0.1', sport: 8080, dport: 40_001 });
    expect(a.classOf(local)).toBeNull();
    // the same server socket towards a remote client is classified
    expect(a.classOf({ ...local, daddr: '10.77.0.9' })).toBe('unrecognized');
    expect(assembler(false).classOf(close({ l7Proto: 1 }))).toBeNull();
  });
});

/** One captured syscall of a client socket to 10.9.8.7:8080 in the kernel's layout: the first `captured` bytes of `data`. */
const chunk = (sockId: bigint, sockIno: bigint, tsNs: bigint, direction: number, data: Buffer, captured = data.length) =>
  l7Record({ sockId, sockIno, tsNs, direction, data, captured, sport: 41_000, protocol: SX_PROTO_HTTP2, saddr: [10, 77, 0, 1] });

describe('HTTP/2 not decodable, its data read after its close (the L7 ring behind the TCP ring)', () => {
  it('holds the final row until the L7 side is done with the connection, then classes it by the marks', () => {
    const identity = new IdentityResolver({ nodeName: 'node-a' });
    const coverage = new L7CoverageClassifier(true);
    const flows = new FlowAssembler('node-a', identity, new ListenerTable(), new Clock(), { keepClosedIds: true, coverage });
    const l7 = new L7Assembler(flows, identity, 'node-a');
    l7.onNotDecodable = (sockId, firstNs) => coverage.markNotDecodable(sockId, firstNs);
    const busy = (sockId: bigint, startNs: bigint, endNs: bigint) => l7.tracks(sockId, startNs, endNs);
    // Two HTTP/2 connections (sockets A and B) closed before any of their data is read; A's request carries a
    // header block past the 1,024 bytes captured, B's is whole.
    const [A, B] = [0xffff888100000a00n, 0xffff888100000b00n];
    const t = 5_000_000_000n;
    const closes = [A, B].map((sockId) =>
      close({ l7Proto: SX_PROTO_HTTP2, sockId, startNs: t, endNs: t + 50_000_000n, daddr: '10.9.8.7', dport: 8080, sport: 41_000 }),
    );
    for (const e of closes) l7.connectionClosed(e);
    const rows = flows.tcpRows(closes);
    expect(coverage.ready(rows)).toEqual([]);
    const now = Date.now();
    expect(coverage.release(now, busy)).toEqual([]); // the L7 ring may be behind: not yet
    const settings = frame(FRAME.SETTINGS, 0, 0, Buffer.alloc(0));
    const request = (extra: [string, string][]) =>
      Buffer.concat([
        PREFACE,
        settings,
        frame(
          FRAME.HEADERS,
          FLAG.END_HEADERS | FLAG.END_STREAM,
          1,
          block([[':method', 'GET'], [':scheme', 'http'], [':path', '/x'], [':authority', 'api'], ...extra]),
        ),
      ]);
    const response = Buffer.concat([settings, frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, block([[':status', '200']]))]);
    const big = request([['x-big', 'b'.repeat(3000)]]);
    const exchanges = l7.push([
      chunk(A, 1n, t + 1_000_000n, SX_L7_EGRESS, big, 1024),
      chunk(A, 1n, t + 2_000_000n, SX_L7_INGRESS, response),
      chunk(B, 2n, t + 1_000_000n, SX_L7_EGRESS, request([])),
      chunk(B, 2n, t + 2_000_000n, SX_L7_INGRESS, response),
    ]);
    // each joined its closed connection; A's stream has no method or path (its block was cut)
    expect(exchanges.map((x) => [x.flowId, x.http?.method ?? null, x.http?.code ?? null])).toEqual([
      [rows[0]![FLOW_IX.id], '', 200],
      [rows[1]![FLOW_IX.id], 'GET', 200],
    ]);
    expect(coverage.release(now + 1_500, busy)).toEqual([]); // the L7 side holds both until 2 s after their last data
    expect(l7.tick(now + 5_000)).toEqual([]);
    const out = coverage.release(now + 5_000, busy);
    expect(out.map((r) => [r[FLOW_IX.id], r[FLOW_IX.l7Coverage]])).toEqual([
      [rows[0]![FLOW_IX.id], 'http2-undecodable'],
      [rows[1]![FLOW_IX.id], 'cleartext'],
    ]);
    expect(coverage.stats()).toMatchObject({ cleartext: 1, 'http2-undecodable': 1 });
    expect(coverage.release(now + 60_000, busy)).toEqual([]);
  });

  it('a held row goes out once the L7 side never saw its connection, or at stop', () => {
    const coverage = new L7CoverageClassifier(true);
    const flows = new FlowAssembler('node-a', new IdentityResolver({ nodeName: 'node-a' }), new ListenerTable(), new Clock(), { coverage });
    const rows = flows.tcpRows([close({ l7Proto: SX_PROTO_HTTP2 }), close({ l7Proto: 1 }), close({ l7Proto: SX_PROTO_HTTP2 })]);
    expect(coverage.ready(rows)).toEqual([rows[1]]);
    const now = Date.now();
    expect(coverage.release(now + 1_000, () => false).map((r) => r[FLOW_IX.l7Coverage])).toEqual(['cleartext', 'cleartext']);
    const more = flows.tcpRows([close({ l7Proto: SX_PROTO_HTTP2 })]);
    expect(coverage.ready(more)).toEqual([]);
    expect(coverage.release(now, () => true, true)).toEqual(more);
  });
});
