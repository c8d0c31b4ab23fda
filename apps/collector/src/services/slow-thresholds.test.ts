/**
 * The per-edge slow threshold computation: latencies go in as the kernel's histograms do (the shared bucket scheme);
 * the threshold is the window's p99 (a bucket's upper bound) clamped, for edges with enough exchanges, the busiest
 * first, and it follows the window as drains come and go.
 */
import type { L7AggregateRecord } from '@sextant/bpf';
import { bucketIndex, bucketUpperBound, emptyHistogram, recordValue, toSparse } from '@sextant/shared';
import { describe, expect, it } from 'vitest';
import { SlowThresholds } from './slow-thresholds';

const MS = 1_000_000;

/** An aggregate of `latenciesMs` (one exchange each) on a client edge to addr:port, or a server edge on port. */
function agg(latenciesMs: number[], o: Partial<L7AggregateRecord> = {}): L7AggregateRecord {
  const h = emptyHistogram();
  for (const l of latenciesMs) recordValue(h, l * MS);
  return {
    cgroupId: 0n,
    pid: 1,
    comm: 'app',
    family: 4,
    laddr: '10.0.0.1',
    raddr: '10.0.0.2',
    lport: 0,
    rport: 8080,
    role: 'client',
    protocol: 'http',
    method: 'GET',
    status: 200,
    count: latenciesMs.length,
    latencySumNs: 0n,
    requestBytes: 0,
    responseBytes: 0,
    firstNs: 1n,
    lastNs: 2n,
    ...toSparse(h),
    ...o,
  };
}

const fill = (n: number, ms: number) => Array<number>(n).fill(ms);
const upper = (ms: number) => BigInt(bucketUpperBound(bucketIndex(ms * MS)));
const opts = { minNs: 20 * MS, maxNs: 10_000 * MS, maxEdges: 1024, windowDrains: 3, minSamples: 200 };

describe('SlowThresholds', () => {
  it('gives an edge its p99 clamped to the minimum: 1 ms exchanges with 1 in 200 at 60 ms → 20 ms', () => {
    const t = new SlowThresholds(opts);
    const out = t.observe([agg([...fill(995, 1), ...fill(5, 60)])]);
    expect(out).toEqual([{ role: 'client', family: 4, addr: '10.0.0.2', port: 8080, thresholdNs: BigInt(20 * MS) }]);
    expect(t.edges).toBe(1);
  });

  it('gives a 300 ms edge the upper bound of its p99 bucket (above every one of its exchanges), and the maximum at most', () => {
    const t = new SlowThresholds(opts);
    const out = t.observe([agg(fill(300, 300)), agg(fill(300, 30_000), { rport: 9090 })]);
    expect(out.map((e) => [e.port, e.thresholdNs])).toEqual([
      [8080, upper(300)],
      [9090, BigInt(10_000 * MS)],
    ]);
    expect(upper(300) > BigInt(300 * MS) && upper(300) <= BigInt(Math.ceil(300 * 1.125 * MS))).toBe(true);
  });

  it('waits for enough exchanges in the window, and forgets drains that left it', () => {
    const t = new SlowThresholds(opts);
    expect(t.observe([agg(fill(150, 300))])).toEqual([]); // 150 < 200
    expect(t.observe([agg(fill(100, 300))]).map((e) => e.thresholdNs)).toEqual([upper(300)]); // 250 in the window
    // the edge's latency changes: 1000 ms for 3 drains, the 300 ms drains leave the window
    expect(t.observe([agg(fill(100, 1000))]).map((e) => e.thresholdNs)).toEqual([upper(1000)]);
    t.observe([agg(fill(100, 1000))]);
    expect(t.observe([agg(fill(100, 1000))]).map((e) => e.thresholdNs)).toEqual([upper(1000)]);
    // quiet drains: 200 exchanges left in the window, then 100 (< 200)
    expect(t.observe([])).toHaveLength(1);
    expect(t.observe([])).toEqual([]);
    expect(t.edges).toBe(0);
  });

  it('merges the keys of one edge (processes, methods, statuses below 500) and leaves out 5xx and byte-only keys', () => {
    const t = new SlowThresholds(opts);
    const out = t.observe([
      agg(fill(100, 300), { pid: 2, method: 'POST' }),
      agg(fill(100, 300), { status: 404 }),
      agg(fill(1000, 5), { status: 503 }),
      { ...agg([]), responseBytes: 5000 },
    ]);
    expect(out.map((e) => e.thresholdNs)).toEqual([upper(300)]);
  });

  it('keys client edges by remote address and port, server edges by local port alone', () => {
    const t = new SlowThresholds(opts);
    const server = { role: 'server' as const, lport: 443, rport: 0 };
    const out = t.observe([
      agg(fill(200, 30)),
      agg(fill(200, 40), { raddr: '10.0.0.3' }),
      agg(fill(100, 50), { ...server, raddr: '10.0.0.7' }),
      agg(fill(100, 50), { ...server, raddr: '10.0.0.8' }),
    ]);
    expect(out.map((e) => [e.role, e.addr, e.port, e.thresholdNs]).sort()).toEqual(
      [
        ['client', '10.0.0.2', 8080, upper(30)],
        ['client', '10.0.0.3', 8080, upper(40)],
        ['server', '', 443, upper(50)],
      ].sort(),
    );
  });

  it('gives at most maxEdges edges a threshold, the busiest', () => {
    const t = new SlowThresholds({ ...opts, maxEdges: 2 });
    const out = t.observe([agg(fill(300, 30), { rport: 1 }), agg(fill(500, 30), { rport: 2 }), agg(fill(400, 30), { rport: 3 })]);
    expect(out.map((e) => e.port)).toEqual([2, 3]);
  });
});
