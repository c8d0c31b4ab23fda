/**
 * Dashboard time series from rollups: per step, requests and errors (and their rates), error ratio and
 * p50/p95/p99 from the histograms merged within the step — all from L7 rows only (http, dns, kafka
 * exchanges) — and, as their own signal, connections and failed connections (tcp/udp rows); bytes count a
 * pair's connection bytes where it has connections (they carry its L7 payloads), else its L7 bytes. Every step of the window is returned: one
 * with no rollup rows has null values (nothing observed — not 0 requests, 0 % errors, 0 ns), an error
 * ratio needs requests, and the step still in progress is marked partial with its rate over the part elapsed.
 */
import { quantile } from '@sextant/shared';
import type pg from 'pg';
import { Params } from './filter-sql';
import { timeBins } from './bins';
import { kindSql } from './edge-kinds';
import { histAggSqlWhere, parseHistAgg } from './hist-agg';
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
  /** L7 requests; null: no L7 rows in this step (no requests seen, or no collector reporting). */
  requests: number | null;
  errors: number | null;
  requestsPerSecond: number | null;
  /** null when the step has no requests: a ratio of nothing is not 0 %. */
  errorRatio: number | null;
  bytes: number | null;
  p50Ns: number | null;
  p95Ns: number | null;
  p99Ns: number | null;
  /** tcp/udp connections and the refused, reset or timed-out ones; null: no connection rows in this step. */
  connections: number | null;
  connectionErrors: number | null;
  connectionsPerSecond: number | null;
  /** The step reaches past now: its sums cover only part of it (drawn apart, not as a dip). */
  partial: boolean;
}

export async function timeSeries(
  pool: pg.Pool,
  input: TimeSeriesInput,
  now = Date.now(),
): Promise<{ stepSeconds: number; points: TimeSeriesPoint[] }> {
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
  const k = kindSql(p);
  // Per step and pair first, so a pair's bytes are counted once (its connections', else its L7 payloads').
  const sql = `
    WITH g AS (
      SELECT ${binned} AS t,
             sum(requests) FILTER (WHERE ${k.isL7}) AS requests,
             sum(requests) FILTER (WHERE ${k.isL7} AND ${k.isError}) AS errors,
             sum(requests) FILTER (WHERE ${k.isConnection}) AS connections,
             sum(requests) FILTER (WHERE ${k.isConnection} AND ${k.isError}) AS connection_errors,
             coalesce(sum(bytes_sent + bytes_received) FILTER (WHERE ${k.isConnection}),
                      sum(bytes_sent + bytes_received) FILTER (WHERE ${k.isL7})) AS bytes,
             ${histAggSqlWhere(k.isL7)} AS hist
        FROM ${src.sql} r WHERE ${where.join(' AND ')}
       GROUP BY 1, src_namespace, src_service, dst_namespace, dst_service)
    SELECT (extract(epoch FROM t) * 1000)::bigint AS time_ms, sum(requests) AS requests, sum(errors) AS errors,
           sum(connections) AS connections, sum(connection_errors) AS connection_errors, sum(bytes) AS bytes,
           string_agg(hist, ';') AS hist
      FROM g GROUP BY 1 ORDER BY 1`;
  const rows = (await pool.query(sql, p.values)).rows as Record<string, unknown>[];
  const byTime = new Map(rows.map((r) => [Number(r.time_ms), r]));
  const points = timeBins(src.since, src.until, step, src.since, Math.min(src.until, now)).map((b): TimeSeriesPoint => {
    const r = byTime.get(b.time);
    const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
    const requests = num(r?.requests);
    const connections = num(r?.connections);
    const h = parseHistAgg(r?.hist as string | null);
    const perSecond = (n: number | null) => (n !== null && b.seconds > 0 ? n / b.seconds : null);
    const errors = requests === null ? null : (num(r?.errors) ?? 0);
    return {
      time: b.time,
      requests,
      errors,
      requestsPerSecond: perSecond(requests),
      errorRatio: requests ? (errors ?? 0) / requests : null,
      bytes: num(r?.bytes),
      p50Ns: requests === null ? null : quantile(h, 0.5),
      p95Ns: requests === null ? null : quantile(h, 0.95),
      p99Ns: requests === null ? null : quantile(h, 0.99),
      connections,
      connectionErrors: connections === null ? null : (num(r?.connection_errors) ?? 0),
      connectionsPerSecond: perSecond(connections),
      partial: b.partial,
    };
  });
  return { stepSeconds: step, points };
}
