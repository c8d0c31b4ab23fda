/**
 * Histogram merging for rollup readers. Unnesting every bucket of every rollup row in SQL costs ~1 µs per
 * bucket; instead each group's rows are concatenated by PostgreSQL into one string ("idx,idx:cnt,cnt;…")
 * and summed here, which is several times faster for a 24 h service map.
 */
import type { Histogram } from '@sextant/shared';

/** SQL aggregate expression producing the string parsed by {@link parseHistAgg}. */
export const HIST_AGG_SQL = `string_agg(array_to_string(hist_idx, ',') || ':' || array_to_string(hist_cnt, ','), ';') FILTER (WHERE cardinality(hist_idx) > 0)`;

export function parseHistAgg(s: string | null | undefined): Histogram {
  const h: Histogram = new Map();
  if (!s) return h;
  for (const part of s.split(';')) {
    const colon = part.indexOf(':');
    const idx = part.slice(0, colon).split(',');
    const cnt = part.slice(colon + 1).split(',');
    for (let k = 0; k < idx.length; k++) {
      const i = Number(idx[k]);
      h.set(i, (h.get(i) ?? 0) + Number(cnt[k]));
    }
  }
  return h;
}
