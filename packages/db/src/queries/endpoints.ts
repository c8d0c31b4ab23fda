/**
 * Per-endpoint golden signals of one service: what it answered in a window, by endpoint — method + path
 * template for HTTP, query type for DNS, topic + api key for Kafka — with rate, errors and p50/p95/p99. No
 * rollup keeps endpoints, so this reads the service's L7 exchanges of the window through the
 * (dst_service, time) index. Errors follow the shared status rules (the stored status class, `isErrorClass`).
 * Percentiles are reported like every other percentile in Sextant: the upper bound of the histogram bucket
 * holding the exact value of rank ceil(q·n) (`percentile_disc` picks that value).
 */
import { bucketIndex, bucketReportValue } from '@sextant/shared';
import type pg from 'pg';
import { ERROR_CLASSES } from './edge-kinds';
import { Params } from './filter-sql';

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
  requests: number;
  requestsPerSecond: number;
  errors: number;
  errorRatio: number;
  p50Ns: number | null;
  p95Ns: number | null;
  p99Ns: number | null;
}

const report = (v: unknown) => (v === null || v === undefined ? null : bucketReportValue(bucketIndex(Number(v))));

export async function serviceEndpoints(pool: pg.Pool, input: EndpointsInput): Promise<EndpointSignals[]> {
  const p = new Params();
  const sql = `
    SELECT protocol,
           CASE WHEN protocol = 'http' THEN http_method END AS method,
           CASE WHEN protocol = 'http' THEN coalesce(nullif(detail->>'pathTemplate', ''), http_path) END AS path,
           CASE WHEN protocol = 'dns' THEN detail->'qtypes'->>0 END AS qtype,
           CASE WHEN protocol = 'kafka' THEN kafka_topic END AS topic,
           CASE WHEN protocol = 'kafka' THEN kafka_api_key END AS api_key,
           count(*) AS requests,
           count(*) FILTER (WHERE status_class = ANY(${p.add(ERROR_CLASSES)}::text[])) AS errors,
           percentile_disc(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY latency_ns) AS pcts
      FROM l7_events
     WHERE dst_service = ${p.add(input.service)} AND coalesce(dst_namespace, '') = ${p.add(input.namespace ?? '')}
       AND time >= to_timestamp(${p.add(input.since / 1000)}) AND time < to_timestamp(${p.add(input.until / 1000)})
     GROUP BY 1, 2, 3, 4, 5, 6
     ORDER BY requests DESC, 1, 2, 3, 4, 5, 6
     LIMIT ${p.add(input.limit ?? 50)}`;
  const rows = (await pool.query(sql, p.values)).rows as Record<string, unknown>[];
  const seconds = Math.max(1, (input.until - input.since) / 1000);
  return rows.map((r) => {
    const requests = Number(r.requests);
    const errors = Number(r.errors);
    const pcts = (r.pcts as (string | number | null)[] | null) ?? [];
    const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
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
      p50Ns: report(pcts[0]),
      p95Ns: report(pcts[1]),
      p99Ns: report(pcts[2]),
    };
  });
}
