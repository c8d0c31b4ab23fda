/**
 * Per-endpoint golden signals of one service: what it answered in a window, by endpoint — method + path
 * template for HTTP, query type for DNS, topic + api key for Kafka — with rate, errors and p50/p95/p99. No
 * rollup keeps endpoints, so this reads the service's L7 exchanges of the window through the
 * (dst_service, time) index. Errors follow the shared status rules (the stored status class, `isErrorClass`).
 *
 * HTTP records may be a sample (docs/l7-line-rate.md): the kernel counts every exchange (edge rollups) and
 * keeps records of every error, slow exchange and capture, plus successes within a budget (sampling
 * 'sampled'). Each record is weighted, per status class of the service's HTTP exchanges: full-path, error,
 * slow and capture records count themselves (weight 1); a 'sampled' record stands for the exchanges of its
 * class the rollups count and no other record shows: (rollup count − weight-1 records) / sampled records, at
 * least 1, and 1 when the rollups have nothing for the class. Weights come from the rollups' bucket-aligned
 * window (the coverage query's bounds) and apply to the records of the window asked for. Requests are Σ
 * weights, errors Σ weights of error classes (every 5xx is kept: exact), and percentiles weighted: the
 * histogram bucket where the cumulative weight in latency order first reaches q·Σ weights — with every weight 1
 * the bucket of `percentile_disc`'s value (rank ceil(q·n)) — reported like every other percentile in Sextant:
 * the bucket's upper bound. DNS and Kafka are always on the full path: every weight 1.
 */
import { bucketReportValue } from '@sextant/shared';
import type pg from 'pg';
import { bucketIndexSql } from './bucket-sql';
import { ERROR_CLASSES } from './edge-kinds';
import { Params } from './filter-sql';
import { windowSource } from './window-source';

export interface EndpointsInput {
  since: number;
  until: number;
  service: string;
  namespace?: string;
  /** Most requested endpoints first; at most this many (default 50). */
  limit?: number;
}

export interface EndpointSignals {
  protocol: string;
  /** HTTP: method and path template (the path when no template was derived). */
  method: string | null;
  path: string | null;
  /** DNS: the first query type (A, AAAA, …). */
  qtype: string | null;
  /** Kafka: topic and api key. */
  topic: string | null;
  apiKey: string | null;
  /** Σ weights of its records: exact unless `estimated`. */
  requests: number;
  requestsPerSecond: number;
  errors: number;
  errorRatio: number;
  p50Ns: number | null;
  p95Ns: number | null;
  p99Ns: number | null;
  /** The service's HTTP records are a sample of its exchanges (the rollups count more): requests and percentiles are estimates. */
  estimated: boolean;
  /** Records behind this row, and their share of its requests (1: every exchange is a record). */
  records: number;
  recordShare: number;
}

/** The service's HTTP exchanges against its HTTP records over the rollups' bucket-aligned window. */
export interface EndpointsHttpCoverage {
  since: number;
  until: number;
  /** Every HTTP exchange the service answered (rollups). */
  exchanges: number;
  /** HTTP records stored for it. */
  records: number;
  estimated: boolean;
}

export interface ServiceEndpoints {
  endpoints: EndpointSignals[];
  http: EndpointsHttpCoverage;
}

/** A percentile's bucket (index) as every percentile is reported: the bucket's upper bound. */
const report = (b: unknown) => (b === null || b === undefined ? null : bucketReportValue(Number(b)));
const str = (v: unknown) => (v === null || v === undefined ? null : String(v));

export async function serviceEndpointSignals(pool: pg.Pool, input: EndpointsInput): Promise<ServiceEndpoints> {
  const p = new Params();
  const src = await windowSource(pool, input.since, input.until, p);
  const service = p.add(input.service);
  const namespace = p.add(input.namespace ?? '');
  const http = p.add('http');
  const [since, until] = [p.add(input.since / 1000), p.add(input.until / 1000)];
  const group = 'protocol, method, path, qtype, topic, api_key';
  // Records are first counted per endpoint, status class, kind of weight and latency bucket (one grouping pass
  // over the raw rows, as the unweighted query made); weights and cumulative sums then run over those few rows.
  const sql = `
    WITH rec AS (
      SELECT protocol COLLATE "C" AS protocol,
             CASE WHEN protocol = 'http' THEN http_method END COLLATE "C" AS method,
             CASE WHEN protocol = 'http' THEN coalesce(nullif(detail->>'pathTemplate', ''), http_path) END COLLATE "C" AS path,
             CASE WHEN protocol = 'dns' THEN detail->'qtypes'->>0 END COLLATE "C" AS qtype,
             CASE WHEN protocol = 'kafka' THEN kafka_topic END COLLATE "C" AS topic,
             CASE WHEN protocol = 'kafka' THEN kafka_api_key END COLLATE "C" AS api_key,
             status_class COLLATE "C" AS status_class,
             coalesce(protocol = ${http} AND sampling = 'sampled', FALSE) AS sampled,
             time >= to_timestamp(${since}) AND time < to_timestamp(${until}) AS shown,
             ${bucketIndexSql('latency_ns')} AS b,
             count(*) AS n
        FROM l7_events
       WHERE dst_service = ${service} AND (dst_namespace = ${namespace} OR (dst_namespace IS NULL AND ${namespace} = ''))
         AND time >= to_timestamp(${p.add(src.since / 1000)}) AND time < to_timestamp(${p.add(src.until / 1000)})
       GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
    ),
    roll AS (
      SELECT e.status_class, sum(e.requests)::float8 AS n FROM ${src.sql} e
       WHERE e.protocol = ${http} AND e.dst_service = ${service} AND e.dst_namespace = ${namespace}
       GROUP BY 1
    ),
    cls AS (
      SELECT status_class, coalesce(sum(n) FILTER (WHERE NOT sampled), 0) AS exact, coalesce(sum(n) FILTER (WHERE sampled), 0) AS sampled
        FROM rec WHERE protocol = ${http} GROUP BY 1
    ),
    w AS (
      SELECT c.status_class,
             CASE WHEN c.sampled > 0 AND r.n > 0 THEN greatest(1, (r.n - c.exact) / c.sampled) ELSE 1 END AS w
        FROM cls c LEFT JOIN roll r ON r.status_class = c.status_class
    ),
    tot AS (
      SELECT (SELECT coalesce(sum(n), 0) FROM roll) AS exchanges, (SELECT coalesce(sum(exact + sampled), 0) FROM cls) AS records
    ),
    bk AS (
      SELECT ${group}, rec.b,
             sum(rec.n * CASE WHEN rec.sampled THEN coalesce(w.w, 1) ELSE 1 END) AS wsum,
             sum(rec.n * CASE WHEN rec.sampled THEN coalesce(w.w, 1) ELSE 1 END)
               FILTER (WHERE rec.status_class = ANY(${p.add(ERROR_CLASSES)}::text[])) AS esum,
             sum(rec.n) AS records
        FROM rec LEFT JOIN w ON rec.sampled AND w.status_class = rec.status_class
       WHERE rec.shown
       GROUP BY ${group}, rec.b
    ),
    cum AS (
      SELECT bk.*,
             sum(wsum) OVER (PARTITION BY ${group} ORDER BY b ROWS UNBOUNDED PRECEDING) AS cw,
             sum(wsum) FILTER (WHERE b IS NOT NULL) OVER (PARTITION BY ${group}) AS lw
        FROM bk
    )
    SELECT ${group},
           sum(wsum)::float8 AS requests,
           coalesce(sum(esum), 0)::float8 AS errors,
           sum(records) AS records,
           min(b) FILTER (WHERE b IS NOT NULL AND cw >= 0.5::float8 * lw) AS p50,
           min(b) FILTER (WHERE b IS NOT NULL AND cw >= 0.95::float8 * lw) AS p95,
           min(b) FILTER (WHERE b IS NOT NULL AND cw >= 0.99::float8 * lw) AS p99,
           (SELECT exchanges FROM tot) AS http_exchanges, (SELECT records FROM tot) AS http_records
      FROM cum
     GROUP BY ${group}
     ORDER BY requests DESC, ${group}
     LIMIT ${p.add(input.limit ?? 50)}`;
  const rows = (await pool.query(sql, p.values)).rows as Record<string, unknown>[];
  const exchanges = Number(rows[0]?.http_exchanges ?? 0);
  const records = Number(rows[0]?.http_records ?? 0);
  const estimated = exchanges > records;
  const seconds = Math.max(1, (input.until - input.since) / 1000);
  const endpoints = rows.map((r) => {
    const requests = Number(r.requests);
    const errors = Number(r.errors);
    const n = Number(r.records);
    return {
      protocol: String(r.protocol),
      method: str(r.method),
      path: str(r.path),
      qtype: str(r.qtype),
      topic: str(r.topic),
      apiKey: str(r.api_key),
      requests,
      requestsPerSecond: requests / seconds,
      errors,
      errorRatio: requests ? errors / requests : 0,
      p50Ns: report(r.p50),
      p95Ns: report(r.p95),
      p99Ns: report(r.p99),
      estimated: estimated && r.protocol === 'http',
      records: n,
      recordShare: requests ? Math.min(1, n / requests) : 1,
    };
  });
  return { endpoints, http: { since: src.since, until: src.until, exchanges, records, estimated } };
}

/** The endpoint rows alone (see serviceEndpointSignals). */
export async function serviceEndpoints(pool: pg.Pool, input: EndpointsInput): Promise<EndpointSignals[]> {
  return (await serviceEndpointSignals(pool, input)).endpoints;
}
