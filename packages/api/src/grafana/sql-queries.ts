/**
 * SQL for the PostgreSQL flavour: queries over Sextant's minute rollups (edge_minute), raw flows (drops) and
 * collector_health, written with Grafana's SQL macros ($__timeFilter, $__timeGroupAlias, $__interval_ms) and
 * the dashboard variables $namespace, $service, $collector (multi-value, so always used with IN (…)).
 * Panels set a minimum interval of 1m, the rollup resolution, so a time group never splits a minute row.
 */
import { L7_PROTOCOLS } from '@sextant/shared';

export type Scope = 'overview' | 'service';

/** The L7 protocols as an SQL list (constants of the registry, never user input): request rows of a rollup. */
const L7_SQL_LIST = L7_PROTOCOLS.map((p) => `'${p}'`).join(', ');
/** Connection rows of a rollup (one count per tcp/udp connection). */
const CONNECTION_SQL_LIST = `'tcp', 'udp'`;

/** Which edges a panel looks at: everything reaching the selected namespaces, or the selected services' inbound. */
function inbound(scope: Scope): string {
  return scope === 'service' ? 'dst_service IN ($service) AND dst_namespace IN ($namespace)' : 'dst_namespace IN ($namespace)';
}

/** For the map: edges touching the selection on either side. */
function touching(scope: Scope): string {
  return scope === 'service'
    ? '(dst_service IN ($service) OR src_service IN ($service))'
    : '(dst_namespace IN ($namespace) OR src_namespace IN ($namespace))';
}

const PER_SECOND = '($__interval_ms / 1000.0)';

export const SQL = {
  /** L7 requests (HTTP, DNS, Kafka exchanges) only: connections are their own panel, never added to requests. */
  requests: (s: Scope) => `SELECT $__timeGroupAlias(bucket, $__interval), protocol AS metric, sum(requests) / ${PER_SECOND} AS value
  FROM edge_minute
 WHERE $__timeFilter(bucket) AND protocol IN (${L7_SQL_LIST}) AND ${inbound(s)}
 GROUP BY 1, 2
 ORDER BY 1, 2`,

  /** Error responses over L7 requests (the errors column holds the shared status rules' errors). */
  errors: (s: Scope) => `SELECT $__timeGroupAlias(bucket, $__interval), sum(errors)::float8 / nullif(sum(requests), 0) AS "error ratio"
  FROM edge_minute
 WHERE $__timeFilter(bucket) AND protocol IN (${L7_SQL_LIST}) AND ${inbound(s)}
 GROUP BY 1
 ORDER BY 1`,

  /** tcp/udp connections per second and the failed ones (refused, reset by the server, timed out). */
  connections: (s: Scope) => `SELECT $__timeGroupAlias(bucket, $__interval), 'connections' AS metric, sum(requests) / ${PER_SECOND} AS value
  FROM edge_minute
 WHERE $__timeFilter(bucket) AND protocol IN (${CONNECTION_SQL_LIST}) AND ${inbound(s)}
 GROUP BY 1, 2
UNION ALL
SELECT $__timeGroupAlias(bucket, $__interval), 'failed connections' AS metric, sum(errors) / ${PER_SECOND} AS value
  FROM edge_minute
 WHERE $__timeFilter(bucket) AND protocol IN (${CONNECTION_SQL_LIST}) AND ${inbound(s)}
 GROUP BY 1, 2
 ORDER BY 1, 2`,

  /** Per pair: its connections' bytes (they carry its L7 payloads), else its L7 payload bytes; counted once. */
  bytes: (s: Scope) => `SELECT "time", sum(b) / ${PER_SECOND} AS "bytes/s" FROM (
  SELECT $__timeGroupAlias(bucket, $__interval),
         coalesce(sum(bytes_sent + bytes_received) FILTER (WHERE protocol IN (${CONNECTION_SQL_LIST})),
                  sum(bytes_sent + bytes_received) FILTER (WHERE protocol IN (${L7_SQL_LIST}))) AS b
    FROM edge_minute
   WHERE $__timeFilter(bucket) AND ${inbound(s)}
   GROUP BY 1, src_namespace, src_service, dst_namespace, dst_service
) pairs
 GROUP BY 1
 ORDER BY 1`,

  /**
   * p50/p95/p99 of L7 latency from the merged sparse histograms: per time group, the first bucket whose
   * running count reaches the rank; its upper bound, in seconds, as the UI reports it (packages/shared
   * histogram.ts `bucketReportValue`): never below the true percentile, at most 12.5 % above it.
   */
  latency: (s: Scope) => `WITH b AS (
  SELECT $__timeGroup(bucket, $__interval) AS t, h.i, sum(h.c) AS c
    FROM edge_minute, unnest(hist_idx, hist_cnt) AS h(i, c)
   WHERE $__timeFilter(bucket) AND protocol IN (${L7_SQL_LIST}) AND ${inbound(s)}
   GROUP BY 1, 2
), cum AS (
  SELECT t, i, sum(c) OVER (PARTITION BY t ORDER BY i) AS running, sum(c) OVER (PARTITION BY t) AS total,
         CASE WHEN i < 16 THEN i ELSE (8 + i % 8) * 2 ^ (i / 8 - 1) END AS lo,
         CASE WHEN i < 16 THEN 1 ELSE 2 ^ (i / 8 - 1) END AS width
    FROM b
)
SELECT to_timestamp(t) AS "time", 'p' || round(q * 100) AS metric, min(lo + width) / 1e9 AS seconds
  FROM cum CROSS JOIN (VALUES (0.5), (0.95), (0.99)) AS p(q)
 WHERE running >= ceil(q * total)
 GROUP BY 1, 2
 ORDER BY 1, 2`,

  drops: (
    s: Scope,
  ) => `SELECT $__timeGroupAlias(time, $__interval), coalesce(drop_reason, 'UNKNOWN') AS metric, sum(greatest(packets_sent, 1)) / ${PER_SECOND} AS value
  FROM flows
 WHERE $__timeFilter(time) AND verdict = 'DROPPED' AND ${inbound(s).replace(/dst_(service|namespace)/g, "coalesce(dst_$1, '')")}
 GROUP BY 1, 2
 ORDER BY 1, 2`,

  collectorEvents: () => `SELECT $__timeGroupAlias(h.time, $__interval), c.name AS metric, avg(h.events_per_second) AS value
  FROM collector_health h JOIN collectors c ON c.id = h.collector_id
 WHERE $__timeFilter(h.time) AND c.name IN ($collector)
 GROUP BY 1, 2
 ORDER BY 1, 2`,

  collectorLost: () => `SELECT $__timeGroupAlias(h.time, $__interval), c.name || ' lost' AS metric, max(h.lost_events) AS value
  FROM collector_health h JOIN collectors c ON c.id = h.collector_id
 WHERE $__timeFilter(h.time) AND c.name IN ($collector)
 GROUP BY 1, 2
 ORDER BY 1, 2`,

  /**
   * Node Graph nodes frame: id, title, subtitle, mainstat (inbound L7 requests), secondarystat (their error
   * ratio), detail__connections (inbound tcp/udp connections, apart from requests).
   */
  mapNodes: (s: Scope) => `SELECT id, min(title) AS title, min(subtitle) AS subtitle, sum(inbound) AS mainstat,
       sum(errs)::float8 / nullif(sum(inbound), 0) AS secondarystat, sum(conns) AS detail__connections
  FROM (
    SELECT dst_namespace || '/' || dst_service AS id, dst_service AS title, dst_namespace AS subtitle,
           CASE WHEN protocol IN (${L7_SQL_LIST}) THEN requests ELSE 0 END AS inbound,
           CASE WHEN protocol IN (${L7_SQL_LIST}) THEN errors ELSE 0 END AS errs,
           CASE WHEN protocol IN (${CONNECTION_SQL_LIST}) THEN requests ELSE 0 END AS conns
      FROM edge_minute WHERE $__timeFilter(bucket) AND ${touching(s)}
    UNION ALL
    SELECT src_namespace || '/' || src_service, src_service, src_namespace, 0, 0, 0
      FROM edge_minute WHERE $__timeFilter(bucket) AND ${touching(s)}
  ) n
 GROUP BY id
 ORDER BY id`,

  /** Node Graph edges frame, one per pair: mainstat (L7 requests), secondarystat (their error ratio), detail__connections. */
  mapEdges: (s: Scope) => `SELECT src_namespace || '/' || src_service || '->' || dst_namespace || '/' || dst_service AS id,
       src_namespace || '/' || src_service AS source, dst_namespace || '/' || dst_service AS target,
       coalesce(sum(requests) FILTER (WHERE protocol IN (${L7_SQL_LIST})), 0) AS mainstat,
       sum(errors) FILTER (WHERE protocol IN (${L7_SQL_LIST}))::float8 / nullif(sum(requests) FILTER (WHERE protocol IN (${L7_SQL_LIST})), 0) AS secondarystat,
       coalesce(sum(requests) FILTER (WHERE protocol IN (${CONNECTION_SQL_LIST})), 0) AS detail__connections
  FROM edge_minute
 WHERE $__timeFilter(bucket) AND ${touching(s)}
 GROUP BY 1, 2, 3
 ORDER BY 1`,
} as const;

/** Variable queries (values for the dashboard's drop-downs). */
export const SQL_VARIABLES = {
  namespace: `SELECT DISTINCT namespace FROM services ORDER BY 1`,
  service: `SELECT DISTINCT name FROM services WHERE namespace IN ($namespace) ORDER BY 1`,
  collector: `SELECT name FROM collectors WHERE revoked_at IS NULL ORDER BY 1`,
} as const;
