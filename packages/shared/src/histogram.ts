/**
 * Latency histograms with one bucket scheme shared by the kernel (packages/bpf, `sextant_hist.h`) and the
 * server. Log-linear buckets over nanoseconds: values below 16 ns get exact buckets, above that every
 * power of two is split into 8 equal sub-buckets, so a bucket is at most 12.5 % wide. A percentile is reported
 * as the upper bound of the bucket holding its rank: never below the true value (a route whose requests all
 * took ≥ 801 ms must not show p99 = 790 ms, which midpoint or linear interpolation did) and at most 12.5 %
 * above it. Histograms are sparse (index → count), merge by adding counts, and percentiles are computed from
 * merged buckets, never averaged.
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

/** Relative width of the widest bucket (above the exact ones): the precision the UI states for percentiles. */
export const HIST_PRECISION = 1 / HIST_SUB_BUCKETS; // 0.125

/** What a reader of p50/p95/p99 needs to know, shown as a tooltip wherever percentiles are. */
export const PERCENTILE_NOTE = `Percentiles come from latency histograms with buckets at most ${HIST_PRECISION * 100} % wide and show the upper bound of the bucket holding the percentile: never below the true value, at most ${HIST_PRECISION * 100} % above it.`;

/**
 * The value reported for a percentile whose rank falls in bucket `index`: the bucket's (exclusive) upper
 * bound, so the report is ≥ every sample in the bucket. Exact buckets (< 16 ns) hold one integer value each.
 * The last bucket is open-ended (≥ 2^44 ns): its lower bound is the best that can be said.
 */
export function bucketReportValue(index: number): number {
  if (index < HIST_SUB_BUCKETS * 2) return index;
  const hi = bucketUpperBound(index);
  return Number.isFinite(hi) ? hi : bucketLowerBound(index);
}

/**
 * The q-quantile (0 < q ≤ 1) in nanoseconds: the nearest-rank sample's bucket, reported by
 * {@link bucketReportValue} (an upper bound, within 12.5 % of the true value). Null for an empty histogram.
 */
export function quantile(h: Histogram, q: number): number | null {
  const total = totalCount(h);
  if (total === 0) return null;
  // The tolerance keeps float noise (0.07 × 100 = 7.000000000000001) from moving the rank up one sample.
  const rank = Math.max(1, Math.ceil(q * total - 1e-9));
  const indexes = [...h.keys()].sort((a, b) => a - b);
  let seen = 0;
  for (const i of indexes) {
    seen += h.get(i) ?? 0;
    if (seen >= rank) return bucketReportValue(i);
  }
  return bucketReportValue(indexes[indexes.length - 1] ?? 0);
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
