/**
 * Dashboard time series from rollups: per step, requests and errors (and their rates), error ratio, bytes,
 * and p50/p95/p99 from the histograms merged within the step.
 */
import { fromSparse, quantile } from '@sextant/shared';
import type pg from 'pg';
import { Params } from './filter-sql';
import { rollupSource } from './rollup-source';

export interface TimeSeriesInput {
  since: number;
  until: number;
  /** Step in seconds; defaults to about 120 points over the window, at least the rollup resolution. */
  stepSeconds?: number;
  /** Restrict to edges touching this service (as source, destination or either). */
  service?: string;
  namespace?: string;
  direction?: 'inbound' | 'outbound' | 'either';
  protocols?: string[];
}

export interface TimeSeriesPoint {
  time: number;
  requests: number;
  errors: number;
  requestsPerSecond: number;
  errorRatio: number;
  bytes: number;
  p50Ns: number | null;
  p95Ns: number | null;
  p99Ns: number | null;
}

export async function timeSeries(pool: pg.Pool, input: TimeSeriesInput): Promise<{ stepSeconds: number; points: TimeSeriesPoint[] }> {
  const p = new Params();
  const src = rollupSource(input.since, input.until, p);
  const minStep = src.bucketMs / 1000;
  const wanted = input.stepSeconds ?? (input.until - input.since) / 1000 / 120;
  const step = Math.max(minStep, Math.ceil(wanted / minStep) * minStep);
  const where = ['TRUE'];
  if (input.service) {
    const svc = p.add(input.service);
    const ns = p.add(input.namespace ?? '');
    const inbound = `(dst_service = ${svc} AND dst_namespace = ${ns})`;
    const outbound = `(src_service = ${svc} AND src_namespace = ${ns})`;
    where.push(input.direction === 'inbound' ? inbound : input.direction === 'outbound' ? outbound : `(${inbound} OR ${outbound})`);
  }
  if (input.protocols?.length) where.push(`protocol = ANY(${p.add(input.protocols)}::text[])`);
  const stepParam = p.add(step);
  const originParam = p.add(src.since / 1000);
  const binned = `date_bin(make_interval(secs => ${stepParam}), bucket, to_timestamp(${originParam}))`;
  const sql = `
    WITH e AS (SELECT ${binned} AS step, * FROM ${src.sql} r WHERE ${where.join(' AND ')}),
    totals AS (SELECT step, sum(requests) AS requests, sum(errors) AS errors, sum(bytes_sent + bytes_received) AS bytes FROM e GROUP BY step),
    hist AS (
      SELECT step, array_agg(i ORDER BY i) AS idx, array_agg(c ORDER BY i) AS cnt
        FROM (SELECT step, u.i, sum(u.c) AS c FROM e, unnest(e.hist_idx, e.hist_cnt) AS u(i, c) GROUP BY step, u.i) b GROUP BY step)
    SELECT (extract(epoch FROM t.step) * 1000)::bigint AS time_ms, t.requests, t.errors, t.bytes, h.idx, h.cnt
      FROM totals t LEFT JOIN hist h USING (step) ORDER BY t.step`;
  const rows = (await pool.query(sql, p.values)).rows as Record<string, unknown>[];
  const points = rows.map((r) => {
    const h = r.idx ? fromSparse({ idx: r.idx as number[], cnt: (r.cnt as unknown[]).map(Number) }) : new Map<number, number>();
    const requests = Number(r.requests);
    const errors = Number(r.errors);
    return {
      time: Number(r.time_ms),
      requests,
      errors,
      requestsPerSecond: requests / step,
      errorRatio: requests ? errors / requests : 0,
      bytes: Number(r.bytes),
      p50Ns: quantile(h, 0.5),
      p95Ns: quantile(h, 0.95),
      p99Ns: quantile(h, 0.99),
    };
  });
  return { stepSeconds: step, points };
}
