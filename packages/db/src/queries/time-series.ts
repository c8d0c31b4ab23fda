/**
 * Dashboard time series from rollups: per step, requests and errors (and their rates), error ratio, bytes,
 * and p50/p95/p99 from the histograms merged within the step.
 */
import { quantile } from '@sextant/shared';
import type pg from 'pg';
import { Params } from './filter-sql';
import { HIST_AGG_SQL, parseHistAgg } from './hist-agg';
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
    SELECT (extract(epoch FROM ${binned}) * 1000)::bigint AS time_ms, sum(requests) AS requests, sum(errors) AS errors,
           sum(bytes_sent + bytes_received) AS bytes, ${HIST_AGG_SQL} AS hist
      FROM ${src.sql} r WHERE ${where.join(' AND ')}
     GROUP BY 1 ORDER BY 1`;
  const rows = (await pool.query(sql, p.values)).rows as Record<string, unknown>[];
  const points = rows.map((r) => {
    const h = parseHistAgg(r.hist as string | null);
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
