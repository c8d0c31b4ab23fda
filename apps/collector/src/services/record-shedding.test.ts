/** RecordShedder: what a batch loses by how far behind it arrives, counted per reason; on time it passes whole. */
import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { RecordShedder } from './record-shedding';

const MS = 1_000_000n;
/** kept: 0 full path, 1 error, 2 slow, 3 capture, 4 sampled (sx_l7_header.kept). */
const rec = (tsMs: number, kept: number) => ({ tsNs: BigInt(tsMs) * MS, kept });
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

  it('judges a batch by its newest record: an old request stashed with a fresh response is not behind', () => {
    const s = new RecordShedder(1_000, () => 100_000n * MS);
    // a slow exchange: its request written 30 s before the response that completes it
    expect(s.filter([rec(70_000, 2), rec(99_900, 2)]).length).toBe(2);
    expect(s.stats.lateBatches).toBe(0);
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
