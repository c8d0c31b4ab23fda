/**
 * Latency histograms with one bucket scheme shared by the kernel (packages/bpf, `sextant_hist.h`) and the
 * server. Log-linear buckets over nanoseconds: values below 16 ns get exact buckets, above that every
 * power of two is split into 8 equal sub-buckets, so a bucket is at most 12.5 % wide and a percentile read
 * from its midpoint is within ~6.25 % of the exact value. Histograms are sparse (index → count), merge by
 * adding counts, and percentiles are computed from merged buckets, never averaged.
 */

/** log2 of the number of sub-buckets per power of two. */
export const HIST_SUB_BITS = 3;
export const HIST_SUB_BUCKETS = 1 << HIST_SUB_BITS; // 8
/** Values at or above 2^44 ns (~4.9 h) land in the last bucket. */
export const HIST_MAX_MSB = 43;
export const HIST_NUM_BUCKETS = (HIST_MAX_MSB - HIST_SUB_BITS + 2) * HIST_SUB_BUCKETS; // 336

/** Bucket index of a value in nanoseconds (the C twin is `sextant_hist_bucket`). */
export function bucketIndex(valueNs: number): number {
  if (!(valueNs > 0)) return 0;
  const v = Math.floor(valueNs);
  if (v < HIST_SUB_BUCKETS * 2) return v;
  const msb = Math.floor(Math.log2(v));
  // Math.log2 can round up just below a power of two; correct it against the integer.
  const m = 2 ** msb > v ? msb - 1 : msb;
  if (m > HIST_MAX_MSB) return HIST_NUM_BUCKETS - 1;
  const sub = Math.floor(v / 2 ** (m - HIST_SUB_BITS)) & (HIST_SUB_BUCKETS - 1);
  return (m - HIST_SUB_BITS + 1) * HIST_SUB_BUCKETS + sub;
}

/** Inclusive lower bound of a bucket in nanoseconds. */
export function bucketLowerBound(index: number): number {
  if (index < HIST_SUB_BUCKETS * 2) return index;
  const m = Math.floor(index / HIST_SUB_BUCKETS) + HIST_SUB_BITS - 1;
  const sub = index % HIST_SUB_BUCKETS;
  return (HIST_SUB_BUCKETS + sub) * 2 ** (m - HIST_SUB_BITS);
}

/** Exclusive upper bound of a bucket in nanoseconds. */
export function bucketUpperBound(index: number): number {
  if (index >= HIST_NUM_BUCKETS - 1) return Number.POSITIVE_INFINITY;
  return bucketLowerBound(index + 1);
}

/** Sparse histogram: bucket index → count. */
export type Histogram = Map<number, number>;

export function emptyHistogram(): Histogram {
  return new Map();
}

export function recordValue(h: Histogram, valueNs: number, count = 1): void {
  const i = bucketIndex(valueNs);
  h.set(i, (h.get(i) ?? 0) + count);
}

/** Adds `from` into `into` (histograms merge by adding counts per bucket). */
export function mergeInto(into: Histogram, from: Histogram | Iterable<[number, number]>): Histogram {
  for (const [i, c] of from) into.set(i, (into.get(i) ?? 0) + c);
  return into;
}

export function totalCount(h: Histogram): number {
  let n = 0;
  for (const c of h.values()) n += c;
  return n;
}

/**
 * The q-quantile (0 < q ≤ 1) in nanoseconds, interpolated linearly inside the bucket that holds the rank.
 * Returns null for an empty histogram.
 */
export function quantile(h: Histogram, q: number): number | null {
  const total = totalCount(h);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  const indexes = [...h.keys()].sort((a, b) => a - b);
  let seen = 0;
  for (const i of indexes) {
    const c = h.get(i) ?? 0;
    if (seen + c >= rank) {
      const lo = bucketLowerBound(i);
      if (i < HIST_SUB_BUCKETS * 2) return lo; // exact buckets
      const hi = Number.isFinite(bucketUpperBound(i)) ? bucketUpperBound(i) : lo * 2;
      // Spread the bucket's samples evenly across it and take the one at the rank.
      return lo + ((hi - lo) * (rank - seen - 0.5)) / c;
    }
    seen += c;
  }
  return bucketLowerBound(indexes[indexes.length - 1] ?? 0);
}

/** Wire/storage form: two parallel arrays sorted by bucket index. */
export interface SparseBuckets {
  idx: number[];
  cnt: number[];
}

export function toSparse(h: Histogram): SparseBuckets {
  const idx = [...h.keys()].sort((a, b) => a - b);
  return { idx, cnt: idx.map((i) => h.get(i) ?? 0) };
}

export function fromSparse(s: SparseBuckets): Histogram {
  const h: Histogram = new Map();
  s.idx.forEach((i, k) => {
    const c = s.cnt[k] ?? 0;
    if (c > 0) h.set(i, (h.get(i) ?? 0) + c);
  });
  return h;
}
