/** RecordShedder: what a batch loses by how far behind it arrives, counted per reason; on time it passes whole. */
import v8 from 'node:v8';
import { SX_DIR_CLIENT, SX_DIR_SERVER, SX_L7_EGRESS, SX_L7_INGRESS } from '@sextant/bpf';
import { describe, expect, it } from 'vitest';
import { RecordShedder } from './record-shedding';

const MS = 1_000_000n;
let sockets = 0n;
/**
 * kept: 0 full path, 1 error, 2 slow, 3 capture, 4 sampled (sx_l7_header.kept). A client socket's record, by default
 * of a socket of its own and a response (ingress).
 */
const rec = (tsMs: number, kept: number, sockIno = ++sockets, direction = SX_L7_INGRESS) => ({
  tsNs: BigInt(tsMs) * MS,
  kept,
  sockIno,
  direction,
  role: SX_DIR_CLIENT,
});
/** An aggregated exchange on one socket: its stashed request (captured at reqMs) and response chunks. */
const exchange = (kept: number, reqMs: number, ...respMs: number[]) => {
  const sock = ++sockets;
  return [rec(reqMs, kept, sock, SX_L7_EGRESS), ...respMs.map((t) => rec(t, kept, sock))];
};
/** One record of each reason, the newest written at `newestMs`. */
const mix = (newestMs: number) => [
  rec(newestMs - 5, 4),
  rec(newestMs - 4, 3),
  rec(newestMs - 3, 2),
  rec(newestMs - 2, 1),
  rec(newestMs, 0),
];

describe('record shedding', () => {
  it('passes a batch on time whole, and sheds in order as it falls behind: sampled, then capture and slow, then errors and full path', () => {
    let now = 100_000n * MS;
    const s = new RecordShedder(1_000, () => now);
    const onTime = mix(99_500);
    expect(s.filter(onTime)).toBe(onTime); // 500 ms behind: nothing looked at
    expect(s.filter(mix(99_000)).map((r) => r.kept)).toEqual([3, 2, 1, 0]); // 1 s: sampled goes
    expect(s.filter(mix(98_000)).map((r) => r.kept)).toEqual([1, 0]); // 2 s: capture and slow too
    expect(s.filter(mix(96_500)).map((r) => r.kept)).toEqual([1, 0]); // 3.5 s: still below 4x
    expect(s.filter(mix(96_000))).toEqual([]); // 4 s: everything
    expect(s.stats).toEqual({
      records: { sampled: 4, capture: 3, slow: 3, error: 1, full: 1 },
      lateBatches: 4,
      heapBatches: 0,
      forcedCollections: 0,
    });
    now += 10_000n * MS;
    expect(s.filter(mix(110_000)).length).toBe(5);
    expect(s.stats.lateBatches).toBe(4);
  });

  it('judges an aggregated exchange by its newest record: an old request stashed with a fresh response is not behind', () => {
    const s = new RecordShedder(1_000, () => 100_000n * MS);
    // a slow exchange: its request written 30 s before the response that completes it
    const slow = exchange(2, 70_000, 99_900);
    expect(s.filter(slow)).toBe(slow);
    expect(s.stats.lateBatches).toBe(0);
  });

  it('sheds stale records whatever else the batch holds: a backlog read with a fresh record of another socket', () => {
    const s = new RecordShedder(1_000, () => 100_000n * MS);
    const backlog = [...exchange(4, 95_000, 95_001), ...exchange(4, 96_000, 96_001), ...exchange(1, 96_500, 96_501)];
    const fresh = exchange(4, 99_990, 99_995);
    // the stale sampled exchanges go, the stale error (below 4x) stays, the fresh exchange stays
    expect(s.filter([...backlog, ...fresh])).toEqual([...backlog.slice(4), ...fresh]);
    expect(s.stats.records).toEqual({ sampled: 4, capture: 0, slow: 0, error: 0, full: 0 });
    expect(s.stats.lateBatches).toBe(1);
    // full-path records keep the batch's rule: judged by its newest record
    expect(s.filter([rec(95_000, 0), rec(95_500, 0), rec(99_990, 4)]).length).toBe(3);
    expect(s.filter([rec(95_000, 0), rec(95_500, 0)])).toEqual([]);
    expect(s.stats.records.full).toBe(2);
  });

  it('keeps or sheds an exchange whole: an old request with a fresh response, an old one with a stale response', () => {
    const s = new RecordShedder(1_000, () => 100_000n * MS);
    const slowFresh = exchange(2, 90_000, 99_800, 99_900); // slow: its response is fresh, so are the halves
    const slowStale = exchange(4, 90_000, 98_500); // sampled, its response read 1.5 s late: both halves go
    const other = rec(99_950, 4); // another CPU's record, between a request and its response in the ring
    const batch = [slowStale[0]!, slowFresh[0]!, other, slowFresh[1]!, slowStale[1]!, slowFresh[2]!];
    expect(s.filter(batch)).toEqual([slowFresh[0], other, slowFresh[1], slowFresh[2]]);
    expect(s.stats.records).toEqual({ sampled: 2, capture: 0, slow: 0, error: 0, full: 0 });
    // a server socket's halves (request ingress, response egress), the same
    const server = [rec(90_000, 4, 77n, SX_L7_INGRESS), rec(99_900, 4, 77n, SX_L7_EGRESS)].map((r) => ({ ...r, role: SX_DIR_SERVER }));
    expect(s.filter(server)).toBe(server);
  });

  it("tells a socket's exchanges apart: a stale exchange is shed, the next one on the same socket kept", () => {
    const s = new RecordShedder(1_000, () => 100_000n * MS);
    const [first, second] = [exchange(4, 97_000, 97_100), exchange(4, 98_000, 99_900)];
    const sock = first[0]!.sockIno;
    for (const r of second) r.sockIno = sock;
    expect(s.filter([...first, ...second])).toEqual(second);
    expect(s.stats.records.sampled).toBe(2);
  });

  it('holds a stale request whose response is in the next batch, and judges the two together there', () => {
    const s = new RecordShedder(1_000, () => 100_000n * MS);
    const [req, resp] = exchange(4, 90_000, 99_900);
    const before = rec(99_500, 4);
    expect(s.filter([before, req!])).toEqual([before]); // held, not shed
    expect(s.stats.records.sampled).toBe(0);
    const after = rec(99_950, 4);
    expect(s.filter([resp!, after])).toEqual([req, resp, after]);
    // its response stale too: both shed
    const [req2, resp2] = exchange(4, 90_000, 98_000);
    expect(s.filter([req2!])).toEqual([]);
    expect(s.filter([resp2!, after])).toEqual([after]);
    expect(s.stats.records.sampled).toBe(2);
    // a response that never comes (lost with a full ring): the request is shed with the next batch
    expect(s.filter([exchange(4, 90_000)[0]!])).toEqual([]);
    expect(s.filter([after])).toEqual([after]);
    expect(s.stats.records.sampled).toBe(3);
    // and one still held when the collector stops is counted as shed
    expect(s.filter([exchange(1, 90_000)[0]!])).toEqual([]);
    expect(s.stats.records.error).toBe(0);
    s.stop();
    expect(s.stats.records.error).toBe(1);
    expect(s.filter([after])).toEqual([after]);
  });

  it('sheds by live heap: a full collection decides (at most one a second), in tiers sampled, capture and slow, errors and full path', () => {
    const MB = 1_048_576;
    let used = 10 * MB; // in use now, garbage included
    let live = 10 * MB; // what a full collection leaves
    let nowMs = 0;
    const s = new RecordShedder(0, () => 0n, {
      maxHeapMb: 100,
      heapUsed: () => used,
      collect: () => (used = live),
      nowMs: () => nowMs,
    });
    const onTime = mix(0);
    expect(s.filter(onTime)).toBe(onTime); // under the bound: nothing collected, nothing shed
    used = 150 * MB; // garbage: a collection frees it, nothing shed
    expect(s.filter(mix(0)).length).toBe(5);
    expect(s.stats.forcedCollections).toBe(1);
    used = 150 * MB; // within the second: the last collection's live size decides, no second collection
    expect(s.filter(mix(0)).length).toBe(5);
    expect(s.stats.forcedCollections).toBe(1);
    nowMs += 1_000;
    used = live = 110 * MB; // live over the bound: sampled records go
    expect(s.filter(mix(0)).map((r) => r.kept)).toEqual([3, 2, 1, 0]);
    nowMs += 1_000;
    used = live = 160 * MB; // 1.6x: capture and slow too
    expect(s.filter(mix(0)).map((r) => r.kept)).toEqual([1, 0]);
    nowMs += 1_000;
    used = live = 390 * MB; // 3.9x: errors and full-path records still kept (the only count of a full-path exchange)
    expect(s.filter(mix(0)).map((r) => r.kept)).toEqual([1, 0]);
    nowMs += 1_000;
    used = live = 410 * MB; // 4.1x: everything
    expect(s.filter(mix(0))).toEqual([]);
    expect(s.stats).toEqual({
      records: { sampled: 4, capture: 3, slow: 3, error: 1, full: 1 },
      lateBatches: 0,
      heapBatches: 4,
      forcedCollections: 5,
    });
  });

  it('collects garbage for real: over the bound, the default collection brings the heap in use down to what is live', () => {
    // ~300k objects made and dropped here: heap in use over the bound until something collects them
    const made = Array.from({ length: 300_000 }, (_, i) => ({ i, s: `record ${i}` })).length;
    const bound = Math.ceil(v8.getHeapStatistics().used_heap_size / 1_048_576) - 1;
    const s = new RecordShedder(0, () => 0n, { maxHeapMb: bound });
    expect(made).toBe(300_000);
    expect(s.filter(mix(0)).length).toBe(5); // nothing shed: the garbage was collected
    expect(s.stats.forcedCollections).toBe(1);
    expect(v8.getHeapStatistics().used_heap_size).toBeLessThan(bound * 1_048_576);
  });

  it('never sheds with a bound of 0, and passes empty batches', () => {
    const s = new RecordShedder(0, () => 1_000_000n * MS);
    const old = mix(1);
    expect(s.filter(old)).toBe(old);
    expect(new RecordShedder(1_000, () => 0n).filter([])).toEqual([]);
    expect(s.stats.records).toEqual({ sampled: 0, capture: 0, slow: 0, error: 0, full: 0 });
  });
});
