/**
 * The decode class of a connection from the kernel's facts in its close event (l7-coverage.ts), through the real
 * FlowAssembler: every kernel classification maps to its class, the server side of a same-node connection and
 * interim reports carry none, an HTTP/2 socket with a stream the parser could not decode is `http2-undecodable`
 * (once: the mark is consumed by its close), and a close event without the kernel's fields gets no class.
 */
import { SX_CLOSE_CLOSED, SX_DIR_CLIENT, SX_DIR_SERVER, type TcpConnEvent } from '@sextant/bpf';
import { FLOW_IX, type L7CoverageClass } from '@sextant/shared';
import { describe, expect, it } from 'vitest';
import { Clock, FlowAssembler } from './flow-assembler';
import { IdentityResolver } from './identity';
import { decide, L7CoverageClassifier } from './l7-coverage';
import { ListenerTable } from './listeners';

type Facts = { l7Proto?: number; l7Tls?: number };

let nextSock = 1n;
function close(o: Partial<TcpConnEvent> & Facts = {}): TcpConnEvent {
  return {
    kind: 0,
    family: 4,
    final: 1,
    startNs: 1_000_000_000n,
    endNs: 1_002_500_000n,
    cgroupId: 0n,
    pid: process.pid,
    comm: 'node',
    segsOut: 6,
    segsIn: 5,
    totalRetrans: 0,
    retransmits: 0,
    srttUs: 42,
    rstSent: 0,
    rstRecv: 0,
    closeReason: SX_CLOSE_CLOSED,
    tcpFlags: 0,
    connectNs: 51_000,
    sockId: nextSock++,
    direction: SX_DIR_CLIENT,
    saddr: '10.77.0.1',
    sport: 40_000,
    daddr: '10.77.0.2',
    dport: 443,
    bytesAcked: 120,
    bytesReceived: 853,
    ...o,
  } as TcpConnEvent;
}

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
