/**
 * The histogram bucket of a nanosecond value computed in SQL, equal to `bucketIndex` (shared/src/histogram.ts):
 * values below 16 ns their own bucket, then 8 sub-buckets per power of two, everything from 2^44 ns in the
 * last. Lets a query fold raw latencies into buckets before sorting (percentiles are reported per bucket).
 * `v` must be an SQL expression of type bigint (it is repeated, so pass a column, not a subquery).
 */
import { HIST_MAX_MSB, HIST_NUM_BUCKETS, HIST_SUB_BITS, HIST_SUB_BUCKETS } from '@sextant/shared';

export function bucketIndexSql(v: string): string {
  // log2 by floating point can be one off next to a power of two: corrected against the integer, as in TS.
  const f = `floor(ln(${v}::float8) / ln(2::float8))::int`;
  const msb = `(${f} - (CASE WHEN (1::bigint << ${f}) > ${v} THEN 1 ELSE 0 END) + (CASE WHEN (1::bigint << (${f} + 1)) <= ${v} THEN 1 ELSE 0 END))`;
  const lowest = HIST_SUB_BUCKETS * 2;
  return `(CASE WHEN ${v} IS NULL THEN NULL
    WHEN ${v} <= 0 THEN 0
    WHEN ${v} < ${lowest} THEN ${v}::int
    WHEN ${v} >= ${2 ** (HIST_MAX_MSB + 1)}::bigint THEN ${HIST_NUM_BUCKETS - 1}
    ELSE ((${msb} - ${HIST_SUB_BITS - 1}) * ${HIST_SUB_BUCKETS} + ((${v} >> (${msb} - ${HIST_SUB_BITS}))::int & ${HIST_SUB_BUCKETS - 1})) END)`;
}
