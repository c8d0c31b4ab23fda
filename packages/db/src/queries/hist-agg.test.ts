import { HIST_NUM_BUCKETS, mulberry32, quantile } from '@sextant/shared';
import { describe, expect, it } from 'vitest';
import { denseQuantiles, denseToHistogram, parseHistAgg, parseHistAggDense } from './hist-agg';

describe('histogram aggregate parsing', () => {
  it('sums counts per bucket across rows, the fast scanner agreeing with the plain parser', () => {
    const s = '1,5,200:3,1,7;5,200:2,10;335:4';
    expect(denseToHistogram(parseHistAggDense(s))).toEqual(parseHistAgg(s));
    expect(parseHistAgg(s)).toEqual(
      new Map([
        [1, 3],
        [5, 3],
        [200, 17],
        [335, 4],
      ]),
    );
    expect(parseHistAggDense(null).every((c) => c === 0)).toBe(true);
  });

  it('dense p50/p95/p99 are the bucket bounds shared quantile() reports, on random and edge-case histograms', () => {
    const rand = mulberry32(5);
    const cases: Float64Array[] = [new Float64Array(HIST_NUM_BUCKETS)];
    for (let k = 0; k < 500; k++) {
      const d = new Float64Array(HIST_NUM_BUCKETS);
      const n = 1 + Math.floor(rand() * (k % 3 === 0 ? 3 : 60));
      for (let j = 0; j < n; j++) {
        const i = Math.floor(rand() * HIST_NUM_BUCKETS);
        d[i] = (d[i] ?? 0) + 1 + Math.floor(rand() ** 4 * 1e6);
      }
      cases.push(d);
    }
    // One sample, one bucket with 100 (ranks exactly on 50/95/99), the open-ended last bucket.
    for (const [i, c] of [
      [7, 1],
      [120, 100],
      [HIST_NUM_BUCKETS - 1, 3],
    ] as const) {
      const d = new Float64Array(HIST_NUM_BUCKETS);
      d[i] = c;
      cases.push(d);
    }
    for (const d of cases) {
      const h = denseToHistogram(d);
      expect(denseQuantiles(d)).toEqual([quantile(h, 0.5), quantile(h, 0.95), quantile(h, 0.99)]);
    }
  });
});
