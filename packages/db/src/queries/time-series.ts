/**
 * Dashboard time series from rollups: per step, requests and errors (and their rates), error ratio, bytes,
 * and p50/p95/p99 from the histograms merged within the step. Every step of the window is returned: one
 * with no rollup rows has null values (nothing observed — not 0 requests, 0 % errors, 0 ns), an error
 * ratio needs requests, and the step still in progress is marked partial with its rate over the part elapsed.
 */
import { quantile } from '@sextant/shared';
import type pg from 'pg';
import { Params } from './filter-sql';
import { timeBins } from './bins';
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
  /** null: no rollup rows in this step (no traffic seen, or no collector reporting). */
  requests: number | null;
  errors: number | null;
  requestsPerSecond: number | null;
  /** null when the step has no requests: a ratio of nothing is not 0 %. */
  errorRatio: number | null;
  bytes: number | null;
  p50Ns: number | null;
  p95Ns: number | null;
  p99Ns: number | null;
  /** The step reaches past now: its sums cover only part of it (drawn apart, not as a dip). */
  partial: boolean;
}

export async function timeSeries(pool: pg.Pool, input: TimeSeriesInput, now = Date.now()): Promise<{ stepSeconds: number; points: TimeSeriesPoint[] }> {
  const p = new Params();
  const src = rollupSource(input.since, input.until, p, now);
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
  const byTime = new Map(rows.map((r) => [Number(r.time_ms), r]));
  const points = timeBins(src.since, src.until, step, src.since, Math.min(src.until, now)).map((b): TimeSeriesPoint => {
    const r = byTime.get(b.time);
    if (!r) return { time: b.time, requests: null, errors: null, requestsPerSecond: null, errorRatio: null, bytes: null, p50Ns: null, p95Ns: null, p99Ns: null, partial: b.partial };
    const h = parseHistAgg(r.hist as string | null);
    const requests = Number(r.requests);
    const errors = Number(r.errors);
    return {
      time: b.time,
      requests,
      errors,
      requestsPerSecond: b.seconds > 0 ? requests / b.seconds : null,
      errorRatio: requests ? errors / requests : null,
      bytes: Number(r.bytes),
      p50Ns: quantile(h, 0.5),
      p95Ns: quantile(h, 0.95),
      p99Ns: quantile(h, 0.99),
      partial: b.partial,
    };
  });
  return { stepSeconds: step, points };
}
