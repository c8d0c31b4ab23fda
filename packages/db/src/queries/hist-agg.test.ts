import { describe, expect, it } from 'vitest';
import { denseToHistogram, parseHistAgg, parseHistAggDense } from './hist-agg';

describe('histogram aggregate parsing', () => {
  it('sums counts per bucket across rows, the fast scanner agreeing with the plain parser', () => {
    const s = '1,5,200:3,1,7;5,200:2,10;335:4';
    expect(denseToHistogram(parseHistAggDense(s))).toEqual(parseHistAgg(s));
    expect(parseHistAgg(s)).toEqual(new Map([[1, 3], [5, 3], [200, 17], [335, 4]]));
    expect(parseHistAggDense(null).every((c) => c === 0)).toBe(true);
  });
});
